// The release engine under load and under real faults, against the real hosts and HAProxy.
import * as assert from "node:assert/strict";
import * as sinon from "sinon";
import { serviceProvider } from "../../provider/engine/service";
import { slbBindingProvider } from "../../provider/engine/slbBinding";
import { ServiceArgs, ServiceState, SlbBindingState } from "../../provider/model";
import { isServing } from "../../provider/rollout/plan";
import { HaproxyDriver } from "../../provider/slb/haproxy";
import { waitUntil } from "../../provider/wait";
import { breakHealth, freezeDocker, hideSocket, holdHostPort, killDocker, restartDocker } from "../support/faults";
import { Load, summarize } from "../support/load";
import { backendsIn, cleanSlate, containersOf, fewestDuring, local, nodeSpecs, slbAddress, waitForBody } from "../support/world";

const ID = "it/rel";

async function binding(name: string, slbIndex: number, port: number): Promise<SlbBindingState> {
    const slb = local.slbs[slbIndex];
    return (
        await slbBindingProvider.create({
            name,
            driver: "haproxy",
            haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
            listen: { address: slbAddress, port },
            healthCheck: { httpPath: "/health", intervalMs: 300, rise: 2, fall: 2 },
        })
    ).outs;
}

function serviceArgs(bindings: SlbBindingState[], extra: Partial<ServiceArgs> = {}): ServiceArgs {
    return {
        name: "rel",
        cluster: { name: "it", nodes: nodeSpecs() },
        image: local.images.v1,
        replicas: 3,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: 0.5, timeoutSeconds: 3, retries: 2 },
        stopGracePeriodSeconds: 3,
        bindings: bindings.map((slb) => ({ slb })),
        release: { healthyTimeoutSeconds: 20, lbHealthyTimeoutSeconds: 20, drainTimeoutSeconds: 15 },
        ...extra,
    };
}

/** Captures the engine's progress lines and runs `onLine` for each. */
function watchProgress(onLine: (line: string) => void = () => undefined): string[] {
    const lines: string[] = [];
    sinon.stub(console, "log").callsFake((l: string) => {
        lines.push(l);
        onLine(l);
    });
    return lines;
}

describe("release engine (real hosts, real HAProxy)", function () {
    this.timeout(300_000);
    let pub: SlbBindingState;
    let priv: SlbBindingState;
    let state: ServiceState;

    beforeEach(async () => {
        cleanSlate();
        pub = await binding("rel-public", 0, 18101);
        priv = await binding("rel-private", 1, 18102);
    });
    afterEach(async () => {
        sinon.restore();
        cleanSlate();
    });

    it("releases through a public and a private HAProxy at once with zero failed requests on either", async () => {
        const args = serviceArgs([pub, priv]);
        state = (await serviceProvider.create(args)).outs;
        const loads = [
            new Load({ url: pub.url, ratePerSecond: 60, slowShare: 0.1, maxSeconds: 120 }).start(),
            new Load({ url: priv.url, ratePerSecond: 60, slowShare: 0.1, maxSeconds: 120 }).start(),
        ];
        state = (await serviceProvider.update!(ID, state, { ...args, image: local.images.v2 })).outs;
        await waitForBody(pub.url, /v2/);
        for (const load of loads) {
            const s = summarize(await load.stop());
            assert.equal(s.failed, 0, JSON.stringify(s));
            assert.ok(s.versions.v1 > 0 && s.versions.v2 > 0, JSON.stringify(s.versions));
        }
        for (const [pool, slb] of [
            ["rel-public", 0],
            ["rel-private", 1],
        ] as const) {
            assert.deepEqual((await backendsIn(pool, slb)).map((b) => b.name).sort(), state.containers.map((c) => c.name).sort());
        }
    });

    it("releases a service bound to a fixed host port on every node in batches, never below minAvailable, with zero failed requests", async () => {
        const args = serviceArgs([pub], { ports: [{ containerPort: 80, hostPort: 8080 }] });
        state = (await serviceProvider.create(args)).outs;
        const load = new Load({ url: pub.url, ratePerSecond: 60, slowShare: 0.1, maxSeconds: 120 }).start();
        const serving = async () => (await backendsIn("rel-public")).filter((b) => b.weight > 0 && b.status === "UP").length;
        const { result, fewest, reads, failedReads } = await fewestDuring(serving, () =>
            serviceProvider.update!(ID, state, { ...args, image: local.images.v2 }),
        );
        state = result.outs;
        const s = summarize(await load.stop());
        assert.deepEqual(failedReads, [], "every read of the load balancer during the release answered");
        assert.ok(reads > 0);
        assert.equal(s.failed, 0, JSON.stringify(s));
        const batches = state.lastRelease.filter((l) => l.startsWith("batch "));
        assert.equal(batches.length, 3, state.lastRelease.join("\n"));
        for (const line of batches) assert.match(line, /retire first rel-o[0-9a-f]{7}-\d-[\w-]+ on (h\d); start slot \d on \1/);
        assert.ok(fewest >= 2, `serving backends fell to ${fewest}`);
        assert.equal((await containersOf("rel")).filter((c) => c.revision === state.revision).length, 3);
    });

    it("starts a container on another node when a process holds its host port; a release then replaces in place, with zero failed requests", async () => {
        const holder = await holdHostPort(0, 8081);
        try {
            const lines = watchProgress();
            const args = serviceArgs([pub], { replicas: 2, ports: [{ containerPort: 80, hostPort: 8081 }] });
            state = (await serviceProvider.create(args)).outs;
            assert.deepEqual(state.containers.map((c) => c.node).sort(), ["h2", "h3"]);
            assert.ok(
                lines.some((l) =>
                    /could not start slot 0 on h1: host port 8081 is held by a process outside Docker \(.*address already in use.*\); trying another node/.test(
                        l,
                    ),
                ),
                lines.join("\n"),
            );

            // The only node without a container of the service holds the port: each new container replaces an old one in place.
            const load = new Load({ url: pub.url, ratePerSecond: 60, slowShare: 0.1, maxSeconds: 120 }).start();
            const started = Date.now();
            state = (await serviceProvider.update!(ID, state, { ...args, image: local.images.v2 })).outs;
            const seconds = (Date.now() - started) / 1000;
            const s = summarize(await load.stop());
            console.error(`    in place beside a held port: ${s.total} requests, ${s.failed} failed, release ${seconds.toFixed(1)} s`);
            assert.equal(s.failed, 0, JSON.stringify(s));
            assert.ok(
                state.lastRelease.some((l) =>
                    /re-planning with what the release learned: node h1: host port 8081 is held by a process outside Docker/.test(l),
                ),
                state.lastRelease.join("\n"),
            );
            const batches = state.lastRelease.filter((l) => /^batch \d\/2: retire first/.test(l));
            assert.equal(batches.length, 2, state.lastRelease.join("\n"));
            for (const line of batches) assert.match(line, /retire first rel-o[0-9a-f]{7}-\d-[\w-]+ on (h\d); start slot \d on \1/);
            assert.deepEqual(state.containers.map((c) => c.node).sort(), ["h2", "h3"]);
            assert.ok(state.containers.every((c) => c.revision === state.revision));

            // No plan fits a third replica: the error names the node, the port and its holder.
            await assert.rejects(serviceProvider.update!(ID, state, { ...state, replicas: 3 }), (e: Error) => {
                assert.match(e.message, /cannot plan the release: cannot place 1 more container\(s\)/);
                assert.match(e.message, /node h1: host port 8081 is already held there \(8081 by a process outside Docker\)/);
                return true;
            });
            assert.equal((await containersOf("rel")).length, 2);
        } finally {
            holder.kill();
        }
    });

    it("changes the image and raises replicas in one up, with a fixed host port, never below what served, with zero failed requests", async () => {
        const args = serviceArgs([pub], { replicas: 2, ports: [{ containerPort: 80, hostPort: 8082 }] });
        state = (await serviceProvider.create(args)).outs;
        const load = new Load({ url: pub.url, ratePerSecond: 60, slowShare: 0.1, maxSeconds: 120 }).start();
        const started = Date.now();
        state = (await serviceProvider.update!(ID, state, { ...args, replicas: 3, image: local.images.v2 })).outs;
        const seconds = (Date.now() - started) / 1000;
        const s = summarize(await load.stop());
        console.error(`    image and replicas in one up: ${s.total} requests, ${s.failed} failed, release ${seconds.toFixed(1)} s`);
        assert.equal(s.failed, 0, JSON.stringify(s));
        assert.equal(state.containers.length, 3);
        assert.ok(state.containers.every((c) => c.revision === state.revision));
    });

    it("a node's dockerd killed mid-release: noticed at once, its slots placed elsewhere, zero failed requests", async () => {
        const args = serviceArgs([pub]);
        state = (await serviceProvider.create(args)).outs;
        let killed = false;
        watchProgress((l) => {
            if (!killed && /started rel-o[0-9a-f]{7}-\d-\S+ on h2/.test(l)) {
                killed = true;
                killDocker(1);
            }
        });
        const load = new Load({ url: pub.url, ratePerSecond: 60, slowShare: 0.1, maxSeconds: 120 }).start();
        const started = Date.now();
        state = (await serviceProvider.update!(ID, state, { ...args, image: local.images.v2 })).outs;
        const seconds = (Date.now() - started) / 1000;
        const s = summarize(await load.stop());
        sinon.restore();
        console.error(`    dockerd killed mid-release: ${s.total} requests, ${s.failed} failed, release ${seconds.toFixed(1)} s`);
        assert.ok(killed);
        assert.equal(s.failed, 0, JSON.stringify(s));
        assert.ok(seconds < 20, `took ${seconds} s: the lost node was not noticed at once`);
        assert.ok(
            state.lastRelease.some((l) => /re-planning .*node h2: its Docker stopped answering/.test(l)),
            state.lastRelease.join("\n"),
        );
        assert.equal(state.containers.length, 3);
        assert.ok(state.containers.every((c) => c.revision === state.revision && c.node !== "h2"));
    });

    it("a node's dockerd that hangs (SIGSTOP) mid-release: the release goes on without it, zero failed requests", async () => {
        const args = serviceArgs([pub]);
        state = (await serviceProvider.create(args)).outs;
        let thaw: (() => void) | undefined;
        watchProgress((l) => {
            if (!thaw && /started rel-o[0-9a-f]{7}-\d-\S+ on h2/.test(l)) thaw = freezeDocker(1);
        });
        const load = new Load({ url: pub.url, ratePerSecond: 60, slowShare: 0.1, maxSeconds: 300 }).start();
        const started = Date.now();
        try {
            state = (await serviceProvider.update!(ID, state, { ...args, image: local.images.v2 })).outs;
        } finally {
            thaw?.();
        }
        const seconds = (Date.now() - started) / 1000;
        const s = summarize(await load.stop());
        sinon.restore();
        console.error(`    dockerd hung mid-release: ${s.total} requests, ${s.failed} failed, release ${seconds.toFixed(1)} s`);
        assert.ok(thaw, "h2's Docker was frozen");
        assert.equal(s.failed, 0, JSON.stringify(s));
        assert.ok(
            state.lastRelease.some((l) => /re-planning .*node h2/.test(l)),
            state.lastRelease.join("\n"),
        );
        assert.equal(state.containers.filter((c) => c.revision === state.revision && c.node !== "h2").length, 3, JSON.stringify(state.containers));
    });

    it("a node's Docker restarted outside a release costs no request; the next up registers the new host ports", async () => {
        const args = serviceArgs([pub]);
        state = (await serviceProvider.create(args)).outs;
        const load = new Load({ url: pub.url, ratePerSecond: 100, slowShare: 0, maxSeconds: 180 }).start();
        await restartDocker(1);
        await waitUntil(async () => ((await containersOf("rel")).filter((c) => isServing(c)).length === 3 ? true : undefined), {
            timeoutSeconds: 60,
            what: "h2's container to run again (restart policy)",
        });
        state = (await serviceProvider.update!(ID, state, args)).outs;
        const s = summarize(await load.stop());
        console.error(`    Docker restarted outside a release: ${s.total} requests, ${s.failed} failed`);
        assert.equal(s.failed, 0, JSON.stringify(s));
        const up = (await backendsIn("rel-public")).filter((b) => b.status === "UP" && b.weight > 0);
        assert.deepEqual(up.map((b) => `${b.name} ${b.port}`).sort(), state.containers.map((c) => `${c.name} ${c.hostPorts["80"]}`).sort());
    });

    it("leaves out a node whose Docker stops answering, and places its share elsewhere", async () => {
        const restore = freezeDocker(1);
        try {
            const lines = watchProgress();
            state = (await serviceProvider.create(serviceArgs([pub]))).outs;
            assert.ok(
                state.containers.every((c) => c.node !== "h2"),
                lines.join("\n"),
            );
            assert.equal(state.containers.length, 3);
            assert.ok(lines.some((l) => /node h2 does not answer, leaving it out/.test(l)));
        } finally {
            restore();
        }
    });

    it("stops when the load balancer stops answering mid-release: the old revision keeps serving, the error says why", async () => {
        const args = serviceArgs([pub]);
        state = (await serviceProvider.create(args)).outs;
        const before = state.containers.map((c) => c.id).sort();
        let restore: (() => void) | undefined;
        watchProgress((l) => {
            if (!restore && /waiting for load balancer health/.test(l)) restore = hideSocket(local.slbs[0].adminSocket);
        });
        try {
            await assert.rejects(serviceProvider.update!(ID, state, { ...args, image: local.images.v2 }), (e: Error) =>
                e.message.includes(`HAProxy socket ${local.slbs[0].adminSocket} does not answer`),
            );
        } finally {
            restore?.();
        }
        sinon.restore();
        await waitForBody(pub.url, /berth-demo v1/);
        const names = (await backendsIn("rel-public")).filter((b) => b.weight > 0).map((b) => b.name);
        assert.deepEqual(names.sort(), state.containers.map((c) => c.name).sort(), "only the old backends carry traffic");
        assert.ok(before.every((id) => state.containers.some((c) => c.id === id)));
        // The next run finishes the release from what Docker and HAProxy really hold.
        state = (await serviceProvider.update!(ID, state, { ...args, image: local.images.v2 })).outs;
        await waitForBody(pub.url, /berth-demo v2/);
        const all = await containersOf("rel");
        assert.equal(all.length, 3);
        assert.ok(all.every((c) => c.revision === state.revision));
        assert.deepEqual((await backendsIn("rel-public")).map((b) => b.name).sort(), all.map((c) => c.name).sort());
    });

    it("circuit breaker: does not replace containers when most fail their health checks at once", async () => {
        const args = serviceArgs([pub]);
        state = (await serviceProvider.create(args)).outs;
        const [a, b] = state.containers;
        breakHealth(a.node, a.name);
        breakHealth(b.node, b.name);
        await waitUntil(async () => ((await containersOf("rel")).filter((c) => c.health === "unhealthy").length === 2 ? true : undefined), {
            timeoutSeconds: 20,
            what: "two containers unhealthy in Docker",
        });
        const ids = (await containersOf("rel")).map((c) => c.id).sort();
        await assert.rejects(serviceProvider.update!(ID, state, args), /circuit breaker: 2 of 3 running containers fail their health checks at once/);
        assert.deepEqual((await containersOf("rel")).map((c) => c.id).sort(), ids, "nothing was replaced");
    });

    it("circuit breaker: stops before removing old backends when the load balancer sees most new ones fail", async () => {
        const args = serviceArgs([pub]);
        state = (await serviceProvider.create(args)).outs;
        const oldNames = state.containers.map((c) => c.name);
        const real = HaproxyDriver.prototype.backends;
        let shifted = false;
        watchProgress((l) => {
            if (/traffic on/.test(l)) shifted = true;
        });
        // After the shift, the load balancer reports every backend but one down (an injected mass failure).
        sinon.stub(HaproxyDriver.prototype, "backends").callsFake(async function (this: HaproxyDriver, pool: string) {
            const list = await real.call(this, pool);
            return shifted ? list.map((b, i) => (i === 0 ? b : { ...b, status: "DOWN", checkStatus: "L7STS" })) : list;
        });
        await assert.rejects(
            serviceProvider.update!(ID, state, { ...args, image: local.images.v2 }),
            /circuit breaker: rel-public would keep [01] healthy backend\(s\), fewer than minAvailable=2/,
        );
        sinon.restore();
        const names = (await backendsIn("rel-public")).map((b) => b.name);
        assert.ok(
            oldNames.every((n) => names.includes(n)),
            "no old backend was removed",
        );
    });

    it("stopFirst never runs two containers of a singleton; restartTrigger rolls without an image change", async () => {
        const args = serviceArgs([pub], {
            replicas: 1,
            release: { strategy: "stopFirst", healthyTimeoutSeconds: 20, lbHealthyTimeoutSeconds: 20, drainTimeoutSeconds: 15 },
        });
        state = (await serviceProvider.create(args)).outs;
        const first = state.containers[0].id;
        let most = 0;
        const sampler = setInterval(async () => {
            most = Math.max(most, (await containersOf("rel")).filter((c) => c.state === "running").length);
        }, 50);
        state = (await serviceProvider.update!(ID, state, { ...args, restartTrigger: "2026-11-22T01:00" })).outs;
        clearInterval(sampler);
        assert.equal(most, 1, "two containers ran at once");
        assert.equal(state.containers.length, 1);
        assert.notEqual(state.containers[0].id, first, "the container was replaced");
        assert.equal(state.imageDigest, (await serviceProvider.read!(ID, state)).props.imageDigest);
    });
});
