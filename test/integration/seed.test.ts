// The seed's story on ten real hosts: 8 replicas bound to a fixed host port, the port held by a
// process outside Docker on the 2 spare nodes. The release learns that from the failed starts and
// replaces the containers in place, keeping minAvailable serving, with no failed request.
import * as assert from "node:assert/strict";
import { ChildProcess } from "child_process";
import { LocalCluster } from "../../examples/quickstart/program";
import { serviceProvider } from "../../provider/engine/service";
import { slbBindingProvider } from "../../provider/engine/slbBinding";
import { ServiceArgs, ServiceState, SlbBindingState } from "../../provider/model";
import { holdHostPort } from "../support/faults";
import { Load, summarize } from "../support/load";
import { sideCluster } from "../support/world";

describe("seed 000: 8 replicas on 10 nodes, the port held outside Docker on the spare nodes (real hosts)", function () {
    this.timeout(600_000);
    let side: ReturnType<typeof sideCluster>;
    let world: LocalCluster;
    const holders: ChildProcess[] = [];

    before(() => {
        side = sideCluster(10);
        world = side.cluster;
    });
    after(() => {
        holders.forEach((h) => h.kill());
        side?.stop();
    });

    it("releases in place with zero failed requests, naming what holds the port", async () => {
        const slb = world.slbs[0];
        const binding: SlbBindingState = (
            await slbBindingProvider.create({
                name: "seed",
                driver: "haproxy",
                haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
                listen: { address: slb.address, port: 18111 },
                healthCheck: { httpPath: "/health", intervalMs: 300, rise: 2, fall: 2 },
            })
        ).outs;
        const args: ServiceArgs = {
            name: "seed",
            cluster: { name: "seed", nodes: world.hosts.map((h) => ({ name: h.name, docker: h.docker, address: h.address, zone: h.zone })) },
            image: world.images.v1,
            replicas: 8,
            ports: [{ containerPort: 80, hostPort: 28088 }],
            healthCheck: { httpPath: "/health", intervalSeconds: 0.5, timeoutSeconds: 3, retries: 2 },
            stopGracePeriodSeconds: 3,
            bindings: [{ slb: binding }],
            release: { healthyTimeoutSeconds: 60, lbHealthyTimeoutSeconds: 30, drainTimeoutSeconds: 15 },
        };
        let state: ServiceState = (await serviceProvider.create(args)).outs;
        const used = new Set(state.containers.map((c) => c.node));
        const spare = world.hosts.map((h, i) => ({ name: h.name, i })).filter((h) => !used.has(h.name));
        assert.equal(spare.length, 2);
        for (const h of spare) holders.push(await holdHostPort(h.i, 28088, world));

        const load = new Load({ url: binding.url, ratePerSecond: 60, slowShare: 0.1, maxSeconds: 300 }).start();
        const started = Date.now();
        state = (await serviceProvider.update!("seed/seed", state, { ...args, image: world.images.v2 })).outs;
        const seconds = (Date.now() - started) / 1000;
        const s = summarize(await load.stop());
        console.error(`    seed 8 on 10: ${s.total} requests, ${s.failed} failed, release ${seconds.toFixed(1)} s`);
        assert.equal(s.failed, 0, JSON.stringify(s));
        assert.ok(s.versions.v1 > 0 && s.versions.v2 > 0, JSON.stringify(s.versions));
        const learned = state.lastRelease.find((l) => l.startsWith("re-planning"));
        for (const h of spare)
            assert.match(
                learned ?? "",
                new RegExp(`node ${h.name}: host port 28088 is held by a process outside Docker`),
                state.lastRelease.join("\n"),
            );
        assert.equal(state.containers.length, 8);
        assert.ok(
            state.containers.every((c) => c.revision === state.revision && used.has(c.node)),
            JSON.stringify(state.containers.map((c) => c.node)),
        );
    });
});
