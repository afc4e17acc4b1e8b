// The dynamic providers' engines driven directly (no CLI) against the real hosts and HAProxy,
// with faults injected at the Docker host seam where a real fault cannot be staged.
import * as assert from "node:assert/strict";
import * as sinon from "sinon";
import { DockerHost } from "../../provider/docker/host";
import { clusterProvider } from "../../provider/engine/cluster";
import { serviceProvider } from "../../provider/engine/service";
import { slbBindingProvider } from "../../provider/engine/slbBinding";
import { ServiceArgs, ServiceState, SlbBindingState } from "../../provider/model";
import { backendsIn, cleanSlate, containersOf, listenerUrl, local, nodeSpecs, slbAddress, waitForBody } from "../support/world";
import { story } from "../support/story";

describe("engines against the real hosts", function () {
    this.timeout(300_000);
    const step = story({ afterEachStep: () => sinon.restore() });
    const slb = local.slbs[1];
    let binding: SlbBindingState;
    let args: ServiceArgs;
    let state: ServiceState;
    const id = "it/api";
    const URL = listenerUrl(18095);

    before(async () => {
        cleanSlate();
        const created = await slbBindingProvider.create({
            name: "it-api",
            driver: "haproxy",
            haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
            listen: { address: slbAddress, port: 18095 },
            healthCheck: { httpPath: "/health", intervalMs: 300, rise: 1, fall: 2 },
        });
        binding = created.outs;
        args = {
            name: "api",
            cluster: { name: "it", nodes: nodeSpecs() },
            image: local.images.v1,
            replicas: 2,
            ports: [{ containerPort: 80 }],
            healthCheck: { httpPath: "/health", intervalSeconds: 0.5, timeoutSeconds: 3, retries: 2 },
            stopGracePeriodSeconds: 2,
            bindings: [{ slb: binding }],
            release: { healthyTimeoutSeconds: 8, lbHealthyTimeoutSeconds: 10, drainTimeoutSeconds: 10 },
        };
    });
    after(() => cleanSlate());

    it("cluster reports each node's inventory", async () => {
        const { outs } = await clusterProvider.create({ name: "it", nodes: nodeSpecs() });
        assert.equal(outs.inventory.length, 3);
        for (const n of outs.inventory) {
            assert.ok(n.reachable && n.cpus > 0 && n.memoryBytes > 0 && /^\d+\.\d+/.test(n.engineVersion), JSON.stringify(n));
        }
    });

    step("creates a service pinned to the image digest", async () => {
        state = (await serviceProvider.create(args)).outs;
        assert.match(state.imageDigest, /@sha256:[0-9a-f]{64}$/);
        assert.equal(state.containers.length, 2);
        assert.equal(state.backends["it-api"].length, 2);
        await waitForBody(URL, /berth-demo v1/);
    });

    step("rolls back a release whose containers never get healthy, naming the container and its last check", async () => {
        const before = await containersOf("api");
        await assert.rejects(serviceProvider.update!(id, state, { ...args, image: local.images.unhealthy }), (e: any) => {
            assert.match(e.message, /service api: release of api failed in batch 1\/1/);
            assert.match(e.message, /container api-o[0-9a-f]{7}-\d-[0-9a-f]{10}-[0-9a-f]{4} on h\d is unhealthy/);
            assert.match(e.message, /last check: .*404/);
            assert.match(e.message, /previous revision keeps serving/);
            // Rolled back whole: the last state is still true, so no partial state (which would make every later preview an update).
            assert.equal(e.properties, undefined);
            return true;
        });
        const after = await containersOf("api");
        assert.deepEqual(after.map((c) => c.id).sort(), before.map((c) => c.id).sort(), "only the old containers remain");
        assert.deepEqual((await backendsIn("it-api", 1)).map((b) => [b.name, b.weight]).sort(), before.map((c) => [c.name, 100]).sort());
        await waitForBody(URL, /berth-demo v1/);
    });

    step("starts a container on another node when its node refuses it, and says why", async () => {
        const lines: string[] = [];
        sinon.stub(console, "log").callsFake((l: string) => lines.push(l));
        const run = sinon.stub(DockerHost.prototype, "run").callThrough();
        run.withArgs(sinon.match.any).callsFake(async function (this: DockerHost, spec) {
            if (this.node === "h3") throw new Error("driver failed programming external connectivity: address already in use");
            return run.wrappedMethod.call(this, spec);
        });
        state = (await serviceProvider.update!(id, state, { ...args, replicas: 3 })).outs;
        sinon.restore();
        assert.equal(state.containers.length, 3);
        assert.ok(state.containers.every((c) => c.node !== "h3"));
        assert.ok(
            lines.some((l) => /could not start slot 2 on h3: .*address already in use; trying another node/.test(l)),
            lines.join("\n"),
        );
        assert.ok(
            state.lastRelease.some((l) => /slot 2 started on h\d instead of h3: h3: .*address already in use/.test(l)),
            "the output names the node and the reason",
        );
    });

    step("adds a binding to a running service without a redeploy, and leaves it again", async () => {
        const second = (
            await slbBindingProvider.create({
                name: "it-api-private",
                driver: "haproxy",
                haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
                listen: { address: slbAddress, port: 18096 },
                healthCheck: { httpPath: "/health", intervalMs: 300, rise: 1, fall: 2 },
            })
        ).outs;
        const ids = state.containers.map((c) => c.id).sort();
        const withTwo = { ...args, replicas: 3, bindings: [{ slb: binding }, { slb: second, weight: 50 }] };
        state = (await serviceProvider.update!(id, state, withTwo)).outs;
        assert.deepEqual(state.containers.map((c) => c.id).sort(), ids, "same containers");
        assert.deepEqual(
            (await backendsIn("it-api-private", 1)).map((b) => b.weight),
            [50, 50, 50],
        );
        await waitForBody(listenerUrl(18096), /berth-demo v1/);
        state = (await serviceProvider.update!(id, state, { ...args, replicas: 3 })).outs;
        assert.deepEqual(await backendsIn("it-api-private", 1), []);
        assert.equal((await backendsIn("it-api", 1)).length, 3);
        await slbBindingProvider.delete!("x", second);
    });

    step("deletes: drains, deregisters and removes everything", async () => {
        await serviceProvider.delete!(id, state);
        assert.deepEqual(await containersOf("api"), []);
        assert.deepEqual(await backendsIn("it-api", 1), []);
        await slbBindingProvider.delete!("x", binding);
    });
});
