// The suite's clean slate removes only what berth manages: a container and an HAProxy section
// that someone else put on the same hosts and load balancer survive it (npm test must leave a
// user's work alone).
import * as assert from "node:assert/strict";
import { appendFileSync, readFileSync, writeFileSync } from "fs";
import { ContainerSpec } from "../../provider/docker/host";
import { cleanSlate, hosts, httpGet, listenerUrl, local, slbAddress, slbDriver, waitForBody } from "../support/world";

describe("clean slate (scripts/cluster.sh clean)", function () {
    this.timeout(120_000);
    const slb = local.slbs[0];
    const host = hosts()[0];
    const foreignSection = `\nlisten foreign-it\n    bind ${slbAddress}:18097\n    http-request return status 200 content-type text/plain string foreign\n`;
    const container = (name: string, labels: Record<string, string>): ContainerSpec => ({
        name,
        image: local.images.v1,
        env: {},
        labels,
        ports: [],
        stopGracePeriodSeconds: 1,
        limits: { restartPolicy: { Name: "no" } },
    });
    let baseConfig: string;
    let foreignId: string | undefined;

    before(async () => {
        cleanSlate();
        baseConfig = readFileSync(slb.configPath, "utf8");
        await host.ensureImage(local.images.v1);
    });
    after(async () => {
        if (foreignId) await host.remove(foreignId);
        writeFileSync(slb.configPath, baseConfig);
        await slbDriver().reload();
    });

    it("removes berth's containers and listeners, keeps a foreign container and a foreign HAProxy section serving", async () => {
        foreignId = (await host.run(container("foreign-it", { owner: "someone-else" }))).id;
        await host.run(container("it-clean-0", { "berth.managed": "true", "berth.service": "it-clean" }));
        appendFileSync(slb.configPath, foreignSection);
        // berth's listener: its reload also loads the foreign section.
        await slbDriver().ensureListener({
            name: "it-clean",
            driver: "haproxy",
            haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
            listen: { address: slbAddress, port: 18096 },
        });
        await waitForBody(listenerUrl(18097), /^foreign$/);
        assert.match(readFileSync(slb.configPath, "utf8"), /# berth:begin it-clean/);

        cleanSlate();

        const [foreign] = await host.list({ owner: "someone-else" });
        assert.equal(foreign?.id, foreignId, "the foreign container is still there");
        assert.equal(foreign.state, "running");
        assert.deepEqual(await host.list({ "berth.service": "it-clean" }), [], "berth's container is removed");
        const config = readFileSync(slb.configPath, "utf8");
        assert.ok(config.includes(foreignSection), "the foreign section is kept as it was");
        assert.doesNotMatch(config, /# berth:/, "berth's sections are removed");
        assert.equal((await httpGet(listenerUrl(18097))).body, "foreign", "the foreign listener still serves after the reload");
        await assert.rejects(httpGet(listenerUrl(18096)), "berth's listener is gone");
    });
});
