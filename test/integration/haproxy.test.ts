// The HAProxy driver against the real local HAProxy and a real container on a namespace host.
import * as assert from "node:assert/strict";
import { readFileSync } from "fs";
import { DockerHost } from "../../provider/docker/host";
import { SlbBindingArgs } from "../../provider/model";
import { isLbHealthy } from "../../provider/slb/driver";
import { readSection } from "../../provider/slb/haproxyConfig";
import { waitUntil } from "../../provider/wait";
import { cleanSlate, hosts, listenerUrl, local, slbAddress, slbDriver, waitForBody } from "../support/world";
import { story } from "../support/story";

describe("HAProxy driver (real HAProxy)", function () {
    this.timeout(120_000);
    const step = story();
    const slb = local.slbs[0];
    const binding: SlbBindingArgs = {
        name: "it-haproxy",
        driver: "haproxy",
        haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
        listen: { address: slbAddress, port: 18090 },
        healthCheck: { httpPath: "/health", intervalMs: 300, rise: 1, fall: 2 },
    };
    let host: DockerHost;
    let port: number;

    before(async () => {
        cleanSlate();
        host = hosts()[0];
        await host.ensureImage(local.images.v1);
        const c = await host.run({
            name: "it-haproxy-0",
            image: local.images.v1,
            env: {},
            labels: { "berth.managed": "true" },
            ports: [{ containerPort: 80, hostPort: 0 }],
            stopGracePeriodSeconds: 1,
            limits: { restartPolicy: { Name: "no" } },
        });
        port = c.hostPorts["80"];
    });
    after(() => cleanSlate());

    step("adds a listener with a reload, then a backend at weight 0 that takes traffic only once raised", async () => {
        const driver = slbDriver();
        await driver.ensureListener(binding);
        await driver.addBackends("it-haproxy", [{ name: "s1", address: local.hosts[0].address, port }]);
        const [added] = await driver.backends("it-haproxy");
        assert.equal(added.weight, 0);
        const healthy = await waitUntil(
            async () => {
                const [b] = await driver.backends("it-haproxy");
                return isLbHealthy(b) ? b : undefined;
            },
            { timeoutSeconds: 20, what: "backend healthy" },
        );
        assert.match(healthy.checkStatus, /L7OK/);
        await driver.setWeights("it-haproxy", [{ name: "s1", weight: 100 }]);
        await waitForBody(listenerUrl(18090), /berth-demo v1/);
    });

    step("persists every runtime change, so a reload keeps the backend and its weight", async () => {
        const persisted = readSection(readFileSync(slb.configPath, "utf8"), "it-haproxy");
        assert.deepEqual(persisted?.servers, [{ name: "s1", address: local.hosts[0].address, port, weight: 100 }]);
        await slbDriver().reload();
        await waitUntil(
            async () => {
                const [b] = await slbDriver().backends("it-haproxy");
                return b?.weight === 100 ? b : undefined;
            },
            { timeoutSeconds: 20, what: "backend after reload" },
        );
        await waitForBody(listenerUrl(18090), /berth-demo v1/);
    });

    step("removes a backend from the runtime and the file, and then the listener", async () => {
        const driver = slbDriver();
        await driver.setWeights("it-haproxy", [{ name: "s1", weight: 0 }]);
        await driver.removeBackends("it-haproxy", ["s1"]);
        assert.deepEqual(await driver.backends("it-haproxy"), []);
        assert.deepEqual(readSection(readFileSync(slb.configPath, "utf8"), "it-haproxy")?.servers, []);
        await driver.removeListener("it-haproxy");
        assert.equal(readSection(readFileSync(slb.configPath, "utf8"), "it-haproxy"), undefined);
    });

    it("says clearly when HAProxy does not answer", async () => {
        const dead = new (slbDriver().constructor as any)({ adminSocket: "/run/berth/none.sock", configPath: slb.configPath });
        await assert.rejects(dead.ping(), /HAProxy socket \/run\/berth\/none\.sock does not answer/);
    });
});
