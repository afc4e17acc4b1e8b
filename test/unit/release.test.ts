// The release engine (reconcile, planner, executor) driven against an in-memory world: a failure at
// any call, a process killed between two calls, ports held outside Docker, a node that dies.
import * as assert from "node:assert/strict";
import { serviceProvider } from "../../provider/engine/service";
import { ServiceArgs, ServiceState } from "../../provider/model";
import { withProgressSink } from "../../provider/progress";
import { stepTimesIn } from "../../provider/stepTimes";
import { withDeadline } from "../../provider/wait";
import { FakeWorld } from "../support/fakeWorld";

const ID = "c/web";
const MUTATIONS = /\.(run|stop|remove|addBackends|setWeights|removeBackends)$/;

/** A progress line and the virtual time it was printed at. */
interface Line {
    at: number;
    text: string;
}

/**
 * A world of `nodes` hosts with the service at v1. `run` runs an operation in it, its progress lines
 * going to `lines`; `update` runs an update.
 */
async function deployed(nodes = 3, extra: Partial<ServiceArgs> = {}) {
    const w = new FakeWorld(nodes);
    const lines: Line[] = [];
    const run = <T>(fn: () => T) => w.run(() => withProgressSink((text) => void lines.push({ at: w.clock.now(), text }), fn));
    const args = w.serviceArgs(extra);
    const state: ServiceState = (await run(() => serviceProvider.create(args))).outs;
    lines.length = 0;
    const update = async (from: ServiceState, to: ServiceArgs): Promise<ServiceState> =>
        (await run(() => serviceProvider.update!(ID, from, to))).outs;
    return { w, args, state, lines, run, update, v2: { ...args, image: "reg/web:v2" } };
}

/** What serves: every weighted backend points at a container that serves, and at least `min` do. */
function assertServing(w: FakeWorld, min: number, revision?: string): void {
    const weighted = [...w.slb("pub").servers.values()].filter((s) => s.weight > 0);
    for (const s of weighted) assert.ok(w.serves(s.address, s.port), `backend ${s.name} carries traffic but nothing serves there`);
    assert.ok(weighted.length >= min, `${weighted.length} backend(s) serve, fewer than ${min}`);
    if (revision) {
        const byName = new Map(w.containers().map((c: any) => [c.name, c]));
        assert.ok(
            weighted.every((s) => byName.get(s.name)?.revision === revision),
            "a backend of another revision carries traffic",
        );
    }
}

/** Converged: exactly the wanted containers run, each in the load balancer at full weight, nothing else there. */
function assertConverged(w: FakeWorld, state: ServiceState, replicas: number): void {
    // Every container, whatever its state: a stopped leftover is not converged either.
    const all = w.containers();
    assert.deepEqual(
        all.filter((c: any) => c.state !== "running").map((c: any) => `${c.name} on ${c.node} (${c.state})`),
        [],
        "no container left stopped",
    );
    assert.equal(all.length, replicas, all.map((c: any) => `${c.name} on ${c.node}`).join(", "));
    assert.ok(all.every((c: any) => c.revision === state.revision));
    assert.deepEqual([...w.slb("pub").servers.values()].map((s) => `${s.name} ${s.weight}`).sort(), all.map((c: any) => `${c.name} 100`).sort());
}

describe("release engine against a fake world", function () {
    this.timeout(60_000);

    it("releases blue-green: all new serve before the old go", async () => {
        const { w, state, v2, update } = await deployed();
        // Before every call of the release: three weighted backends, each pointing at a container that serves.
        const short: string[] = [];
        w.onCall = (name) => {
            try {
                assertServing(w, 3);
            } catch (e: any) {
                short.push(`before ${name}: ${e.message}`);
            }
        };
        const after = await update(state, v2);
        w.onCall = () => undefined;
        assert.deepEqual(short, []);
        assert.ok(w.calls.includes("pub.setWeights") && w.calls.includes("pub.removeBackends"), "the release shifted and removed backends");
        assertConverged(w, after, 3);
    });

    it("rolls back after a failure at each step that changes the world, and the next up converges", async () => {
        const probe = await deployed();
        const before = probe.w.calls.length;
        await probe.update(probe.state, probe.v2);
        const steps = probe.w.calls.slice(before).filter((c: any) => MUTATIONS.test(c)).length;
        assert.ok(steps >= 9, `only ${steps} steps`);
        for (let k = 1; k <= steps; k++) {
            const { w, state, v2, update } = await deployed();
            let seen = 0;
            w.onCall = (name) => {
                if (MUTATIONS.test(name) && ++seen === k) w.inject({ call: name, error: `injected failure at step ${k} (${name})` });
            };
            const outcome = await update(state, v2).then(
                () => "done",
                (e: Error) => e.message,
            );
            w.onCall = () => undefined;
            if (outcome !== "done") {
                assert.match(outcome, new RegExp(`injected failure at step ${k}`));
                assertServing(w, 2);
            }
            const after = await update(state, v2);
            assertConverged(w, after, 3);
        }
    });

    it("a process killed between any two calls: the next up converges with no orphan", async () => {
        const probe = await deployed();
        const before = probe.w.calls.length;
        await probe.update(probe.state, probe.v2);
        const total = probe.w.calls.length - before;
        for (let n = 1; n <= total; n++) {
            const { w, state, v2, update } = await deployed();
            w.killAt(w.calls.length + n);
            await update(state, v2).then(
                () => undefined,
                () => undefined,
            );
            w.revive();
            assertServing(w, 1);
            const after = await update(state, v2);
            assertConverged(w, after, 3);
        }
    });

    it("capacity guard: stops before removing old backends when the load balancer sees the new ones fail", async () => {
        const { w, state, v2, update } = await deployed();
        const old = new Set(state.containers.map((c: any) => c.name));
        let shifted = false;
        w.onCall = (name) => {
            if (name === "pub.setWeights") shifted = true;
        };
        w.slb("pub").override = (b) => (shifted && !old.has(b.name) ? { ...b, status: "DOWN", checkStatus: "L7STS" } : b);
        await assert.rejects(update(state, v2), /circuit breaker: pub would keep 0 healthy backend\(s\), fewer than minAvailable=2/);
        for (const name of old) assert.equal(w.slb("pub").servers.get(name)?.weight, 100, `${name} was removed or drained`);
    });

    it("starts a container on another node when its node refuses it", async () => {
        const { w, state, v2, update } = await deployed(4);
        w.inject({ call: "h4.run", error: "no space left on device" });
        const after = await update(state, v2);
        assert.ok(
            after.lastRelease.some((l: string) => /slot \d started on h\d instead of h4: h4: no space left on device/.test(l)),
            after.lastRelease.join("\n"),
        );
        assertConverged(w, after, 3);
    });

    it("re-plans within the same up when the spare nodes hold the port outside Docker (the seed's 8 on 10)", async () => {
        const { w, state, v2, update } = await deployed(10, { replicas: 8, ports: [{ containerPort: 80, hostPort: 28088 }] });
        const used = new Set(state.containers.map((c: any) => c.node));
        const spare = [...w.hosts.values()].filter((h) => !used.has(h.node));
        spare.forEach((h) => h.heldOutside.add(28088));
        const after = await update(state, v2);
        for (const h of spare)
            assert.ok(
                after.lastRelease.some(
                    (l: string) => l.startsWith("re-planning") && l.includes(`node ${h.node}: host port 28088 is held by a process outside Docker`),
                ),
                after.lastRelease.join("\n"),
            );
        assert.equal(after.lastRelease.filter((l: string) => /^batch \d\/8: retire first/.test(l)).length, 8);
        assertConverged(w, after, 8);
        assert.ok(after.containers.every((c: any) => used.has(c.node)));
    });

    it("fails when no plan keeps minAvailable, naming node, port and holder", async () => {
        const { w, state, update } = await deployed(3, { replicas: 2, ports: [{ containerPort: 80, hostPort: 8081 }] });
        const free = [...w.hosts.values()].find((h) => !state.containers.some((c: any) => c.node === h.node))!;
        free.heldOutside.add(8081);
        await assert.rejects(
            update(state, { ...state, replicas: 3 }),
            new RegExp(`node ${free.node}: host port 8081 is already held there \\(8081 by a process outside Docker\\)`),
        );
        assertServing(w, 2);
    });

    it("a node lost mid-release is noticed at once: its slots go elsewhere and the release goes on", async () => {
        const { w, state, v2, update } = await deployed();
        let started = false;
        let lostAt = -1;
        w.onCall = (name) => {
            if (name === "h2.run") started = true;
            else if (started && name.startsWith("h2.") && lostAt < 0) {
                w.hosts.get("h2")!.down = true;
                lostAt = w.calls.length - 1;
            }
        };
        const after = await update(state, v2);
        const askedAfterLoss = w.calls.slice(lostAt).filter((c) => c.startsWith("h2."));
        assert.equal(askedAfterLoss[1], "h2.ping", "the first failed call is followed by a ping, which tells a lost node from a failed request");
        assert.equal(
            askedAfterLoss.filter((c) => c === askedAfterLoss[0]).length,
            1,
            `the call that found h2 lost is not repeated (no waiting on the lost node): ${askedAfterLoss.join(" ")}`,
        );
        assert.ok(
            after.lastRelease.some((l: string) => /re-planning .*node h2: its Docker stopped answering/.test(l)),
            after.lastRelease.join("\n"),
        );
        const onLive = after.containers.filter((c: any) => c.revision === after.revision);
        assert.equal(onLive.length, 3);
        assert.ok(onLive.every((c: any) => c.node !== "h2"));
        assertServing(w, 3, after.revision);
    });

    it("an SLB refusing a command fails the release, the old revision keeps serving", async () => {
        const { w, state, v2, update } = await deployed();
        w.inject({ call: "pub.setWeights", error: "HAProxy refused 'set weight pub/x 100': Backend is using a static LB algorithm" });
        await assert.rejects(update(state, v2), /HAProxy refused 'set weight .*previous revision keeps serving/s);
        assertServing(w, 3, state.revision);
        assert.equal(w.containers().length, 3, "the new containers were removed");
    });

    it("a container Docker refuses to resize in place is replaced: the release re-plans with what it learned", async () => {
        const { w, state, args, update } = await deployed();
        const refused = state.containers.find((c) => c.node === "h1")!;
        w.inject({ call: "h1.resize", error: "Cannot update container: Minimum memory limit can not be less than memory swap limit" });
        const after = await update(state, { ...args, memoryMb: 64 });
        assert.ok(
            after.lastRelease.some((l) =>
                l.startsWith(`re-planning with what the release learned: ${refused.name} on h1: Docker refused to resize it`),
            ),
            after.lastRelease.join("\n"),
        );
        const ids = new Set(after.containers.map((c) => c.id));
        assert.ok(!ids.has(refused.id), "the refused container still runs");
        assert.equal(state.containers.filter((c) => ids.has(c.id)).length, 2, "the two resized containers were kept");
        assert.ok(w.containers().every((c) => c.limits.memoryBytes === 64 * 1024 * 1024));
        assertConverged(w, after, 3);
    });

    it("an update after a failed create runs the image's digest: the failed state records none", async () => {
        const w = new FakeWorld(3);
        const args = w.serviceArgs();
        w.inject({ call: "pub.setWeights", error: "HAProxy refused 'set weight pub/x 100'" });
        const failed = await w
            .run(() => serviceProvider.create(args))
            .then(
                () => assert.fail("the create succeeded"),
                (e: any) => e.properties as ServiceState,
            );
        assert.equal(failed.imageDigest, "");
        // As the plugin's hook and a deferred plan call it: no digest from check.
        const after: ServiceState = (await w.run(() => serviceProvider.update!(ID, failed, args))).outs;
        assert.match(after.imageDigest, /^reg\/web@sha256:[0-9a-f]{64}$/);
        assert.deepEqual([...new Set(w.containers().map((c) => c.image))], [after.imageDigest]);
        assertConverged(w, after, 3);
    });

    it("keeps the backends of an unreachable node that left the cluster while its containers may serve", async () => {
        const { w, state, args, update } = await deployed();
        const h3 = state.containers.find((c: any) => c.node === "h3")!;
        w.hosts.get("h3")!.down = true;
        const after = await update(state, { ...args, cluster: { name: "c", nodes: args.cluster.nodes.filter((n) => n.name !== "h3") } });
        assert.ok(w.slb("pub").servers.has(h3.name), "the backend of h3's container was removed");
        assert.equal(after.containers.filter((c: any) => c.node !== "h3").length, 3);
    });

    describe("on virtual time", () => {
        const release = { healthyTimeoutSeconds: 120, lbHealthyTimeoutSeconds: 60, drainTimeoutSeconds: 30 };

        /** Each of `names`: the virtual time its backend went to weight 0 in pub, when it left pub, and its weight then. */
        function watchDrains(w: FakeWorld, names: Set<string>) {
            const drains = new Map<string, { drainedAt?: number; removedAt?: number; weightAtRemoval?: number }>();
            const of = (name: string) => drains.get(name) ?? drains.set(name, {}).get(name)!;
            w.onCall = (call, [arg]) => {
                if (call === "pub.setWeights")
                    for (const { name, weight } of arg as Array<{ name: string; weight: number }>)
                        if (names.has(name) && weight === 0) of(name).drainedAt = w.clock.now();
                if (call === "pub.removeBackends")
                    for (const name of (arg as string[]).filter((n) => names.has(n)))
                        Object.assign(of(name), { removedAt: w.clock.now(), weightAtRemoval: w.slb("pub").servers.get(name)?.weight });
            };
            return drains;
        }

        /** The virtual milliseconds each drained backend of `drains` spent at weight 0 before it left. */
        const drainTimes = (drains: ReturnType<typeof watchDrains>) =>
            [...drains.values()].map((d) => {
                assert.equal(d.weightAtRemoval, 0, "a backend left the load balancer while it still had weight");
                return d.removedAt! - d.drainedAt!;
            });

        it("drain timeout: old backends whose sessions never end are removed after release.drainTimeoutSeconds, saying so", async () => {
            const { w, state, v2, lines, update } = await deployed(3, { release });
            const old = new Set(state.containers.map((c) => c.name));
            w.sessions = (name) => (old.has(name) ? 1 : 0);
            const drains = watchDrains(w, old);
            const after = await update(state, v2);
            assert.equal(drains.size, 3);
            for (const ms of drainTimes(drains)) assert.ok(ms >= 30_000 && ms < 31_000, `drained ${ms} ms, not the 30 s timeout`);
            const said = lines.filter((l) =>
                /drain timeout \(release.drainTimeoutSeconds=30s\) reached .*removing them with requests still in flight/.test(l.text),
            );
            assert.ok(said.length > 0, lines.map((l) => l.text).join("\n"));
            const firstRemoval = Math.min(...[...drains.values()].map((d) => d.removedAt!));
            assert.ok(said[0].at <= firstRemoval, "the timeout is declared before the busy backends go");
            assertConverged(w, after, 3);
        });

        it("drains by time on a load balancer that does not count requests in flight: weight 0 for the whole budget, then removal", async () => {
            const { w, state, v2, lines, update } = await deployed(3, { release: { ...release, drainTimeoutSeconds: 20 } });
            w.slb("pub").countsInFlight = false;
            const drains = watchDrains(w, new Set(state.containers.map((c) => c.name)));
            const after = await update(state, v2);
            assert.equal(drains.size, 3);
            for (const ms of drainTimes(drains)) assert.ok(ms >= 20_000 && ms < 21_000, `at weight 0 for ${ms} ms, not the 20 s budget`);
            assert.ok(
                lines.some((l) => /draining .* by time in pub: 20s/.test(l.text)),
                lines.map((l) => l.text).join("\n"),
            );
            assert.ok(!lines.some((l) => /drain timeout/.test(l.text)), "nothing was in flight once the budget passed");
            assertConverged(w, after, 3);
            // The report's step times say where the time went: the drain took the budget, the rest took no virtual time.
            const steps = stepTimesIn(after.lastRelease);
            assert.equal(
                after.lastRelease.at(-1),
                after.lastRelease.find((l) => l.startsWith("step times: ")),
            );
            assert.ok(steps.drain >= 20 && steps.drain < 21, JSON.stringify(steps));
            for (const step of ["observe", "plan", "pull", "start", "docker health", "load balancer health and weight", "stop", "record"])
                assert.ok(step in steps, `no ${step} in ${JSON.stringify(steps)}`);
        });

        it("pauses release.pauseSeconds between batches, which run in order", async () => {
            const { w, state, lines, update, v2 } = await deployed(3, { release: { ...release, batchSize: 1, pauseSeconds: 60 } });
            const after = await update(state, v2);
            const batches = lines.filter((l) => /^\[berth\] web: batch \d\/3/.test(l.text));
            assert.deepEqual(
                batches.map((l) => /batch (\d)\/3/.exec(l.text)![1]),
                ["1", "2", "3"],
            );
            for (const k of [2, 3]) {
                const paused = lines.find((l) => l.text.includes(`pausing 60s before batch ${k}/3 (release.pauseSeconds)`));
                assert.ok(paused, lines.map((l) => l.text).join("\n"));
                assert.equal(batches[k - 1].at - paused.at, 60_000, `batch ${k} began 60 s of virtual time after its pause began`);
            }
            assertConverged(w, after, 3);
        });

        it("fails after release.healthyTimeoutSeconds when a new container never gets healthy: the old serve, the new are removed", async () => {
            const { w, state, v2, update } = await deployed(3, { release });
            const started = new Map<string, number>();
            const removed = new Map<string, number>();
            w.onCall = (call, [arg]) => {
                if (call.endsWith(".run")) started.set((arg as { name: string }).name, w.clock.now());
                if (call.endsWith(".remove")) removed.set(w.containers().find((c) => c.id === arg)!.name, w.clock.now());
            };
            await assert.rejects(
                update(state, { ...v2, image: "reg/starting:v2" }),
                /not healthy within release.healthyTimeoutSeconds=120s: .* is starting.*The previous revision keeps serving; the new containers were removed/s,
            );
            assert.ok(started.size > 0);
            for (const [name, at] of started) {
                const waited = removed.get(name)! - at;
                assert.ok(waited >= 120_000 && waited < 121_000, `${name} was removed after ${waited} ms, not after the 120 s timeout`);
            }
            assertServing(w, 3, state.revision);
            assert.deepEqual(
                w.containers().map((c) => c.revision),
                [state.revision, state.revision, state.revision],
            );
        });

        it("a cancel during batch 2 of 3 stops the release before batch 3, both revisions serving; the next up finishes it", async () => {
            const { w, state, v2, update } = await deployed(3, { release: { ...release, batchSize: 1 } });
            const old = new Set(state.containers.map((c) => c.name));
            let retired = 0;
            // Batch 2 retires its old container (a drain and removal, which no cancel cuts short) and then meets Ctrl-C.
            w.onCall = (call, [arg]) => {
                if (call === "pub.removeBackends" && (arg as string[]).some((n) => old.has(n)) && ++retired === 2) w.cancel();
            };
            await assert.rejects(
                update(state, v2),
                /release of web cancelled before batch 3\/3: 2 of 3 batch\(es\) done, the previous and the new revision both serve/,
            );
            assertServing(w, 3);
            const revisions = w.containers().map((c) => c.revision);
            assert.equal(revisions.filter((r) => r === state.revision).length, 1, "batch 3's old container still serves");
            assert.equal(revisions.length, 3);
            w.onCall = () => undefined;
            w.revive();
            assertConverged(w, await update(state, v2), 3);
        });

        it("a customTimeouts deadline ends a wait before its own timeout, the old revision serving", async () => {
            const { w, state, v2, run } = await deployed(3, { release });
            const begun = w.clock.now();
            let removedAt: number | undefined;
            w.onCall = (call) => {
                if (call.endsWith(".remove")) removedAt ??= w.clock.now();
            };
            const longWait = { ...v2, image: "reg/starting:v2", release: { ...release, healthyTimeoutSeconds: 600 } };
            await assert.rejects(
                run(() => withDeadline(90, "the update timeout of 90s (customTimeouts)", () => serviceProvider.update!(ID, state, longWait))),
                /the update timeout of 90s \(customTimeouts\) passed while waiting for containers to be healthy in Docker/,
            );
            const ended = removedAt! - begun;
            assert.ok(ended >= 90_000 && ended < 91_000, `the wait ended ${ended} ms in, not at the 90 s deadline`);
            assertServing(w, 3, state.revision);
        });
    });
});
