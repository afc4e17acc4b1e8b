// Each named step of a release (engine/release/*, rollout/execute.ts) run on its own against the fake
// world on virtual time: what it asks, what it changes, what it reports, and how long it waits.
import * as assert from "node:assert/strict";
import { ContainerSpec } from "../../provider/docker/host";
import { LABEL } from "../../provider/docker/labels";
import { serviceProvider } from "../../provider/engine/service";
import { observe } from "../../provider/engine/release/observe";
import { ownerOfState } from "../../provider/engine/release/owner";
import { Knowledge, planFor } from "../../provider/engine/release/plan";
import { keptDigest, limitsOf, revisionFor, revisionWith } from "../../provider/engine/release/revision";
import { bindingsLeft } from "../../provider/engine/release/bindings";
import { drainStranded, leaveBindings, releaseBase, removeOrphans, resizeInPlace } from "../../provider/engine/release/steps";
import { ServiceArgs, ServiceState } from "../../provider/model";
import {
    guardCapacity,
    registerAndShift,
    ReleaseError,
    ReleaseTarget,
    retire,
    runBatches,
    startContainers,
    waitDockerHealthy,
} from "../../provider/rollout/execute";
import { withProgressSink } from "../../provider/progress";
import { StepTimes } from "../../provider/stepTimes";
import { FakeWorld } from "../support/fakeWorld";

const MUTATIONS = /\.(run|stop|remove|resize|addBackends|setWeights|removeBackends)$/;
const release = { healthyTimeoutSeconds: 120, lbHealthyTimeoutSeconds: 60, drainTimeoutSeconds: 30 };

/** The service at v1 on `nodes` hosts; `next` plans a change to other inputs with the steps' own pieces, as one reconcile pass does. */
async function deployed(extra: Partial<ServiceArgs> = {}, nodes = 3) {
    const w = new FakeWorld(nodes);
    const args = w.serviceArgs({ release, ...extra });
    const state: ServiceState = (
        await w.run(() =>
            withProgressSink(
                () => undefined,
                () => serviceProvider.create(args),
            ),
        )
    ).outs;
    const lines: string[] = [];
    const progress = (l: string) => void lines.push(l);
    const owner = ownerOfState(state);
    const hosts = w.hostsFor(args.cluster.nodes);
    const look = (to: ServiceArgs = args) => w.run(() => observe(to, owner, to.cluster.nodes, hosts, new Map(), progress));
    async function next(to: ServiceArgs, previous = state, known: Knowledge = { held: new Map(), replace: new Set() }) {
        w.calls.length = 0;
        const seen = await look(to);
        const rev = revisionWith(to, to.image === args.image ? state.imageDigest : `${to.image}@sha256:${"2".repeat(64)}`);
        const base = w.run(() => releaseBase(to, owner, rev, seen.nodes, progress, new StepTimes()));
        const left = w.run(() => bindingsLeft(to, previous));
        const planned = await w.run(() => planFor(to, rev, seen, base.bindings, left, known));
        const target: ReleaseTarget = {
            ...base,
            nodes: seen.nodes.views,
            rules: planned.input.rules,
            minAvailable: planned.plan.release.minAvailable,
        };
        const planCalls = w.calls.splice(0);
        lines.length = 0;
        return { seen, rev, left, target, planCalls, ...planned };
    }
    w.calls.length = 0;
    return { w, args, state, lines, progress, hosts, look, next, v2: { ...args, image: "reg/web:v2" } };
}

/** Virtual milliseconds `fn` takes in `w`. */
async function timed<T>(w: FakeWorld, fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
    const from = w.clock.now();
    const result = await w.run(fn);
    return { ms: w.clock.now() - from, result };
}

const weights = (w: FakeWorld, pool = "pub") => [...w.slb(pool).servers.values()].map((s) => `${s.name} ${s.weight}`).sort();

describe("release steps, each against the fake world on virtual time", function () {
    this.timeout(20_000);

    it("observe: the service's containers, host ports other services hold, the services beside it, and nodes that do not answer", async () => {
        const { w, state, lines, look } = await deployed();
        const spec = {
            name: "db",
            image: "postgres",
            env: {},
            ports: [{ containerPort: 5432, hostPort: 5432 }],
            limits: limitsOf({} as ServiceArgs),
        };
        await w.hosts
            .get("h1")!
            .run({ ...spec, labels: { [LABEL.service]: "db", [LABEL.cluster]: "c" }, stopGracePeriodSeconds: 1 } as ContainerSpec);
        w.hosts.get("h3")!.down = true;
        w.calls.length = 0;
        const seen = await look();
        assert.deepEqual([...seen.nodes.reachable].sort(), ["h1", "h2"]);
        assert.ok(
            lines.some((l) => /^node h3 does not answer, leaving it out/.test(l)),
            lines.join("\n"),
        );
        assert.deepEqual(
            seen.containers.map((c) => c.id).sort(),
            state.containers
                .filter((c) => c.node !== "h3")
                .map((c) => c.id)
                .sort(),
        );
        assert.ok(seen.foreignHostPorts.get("h1")!.has(5432));
        assert.ok(seen.servicesOnNode.get("h1")!.has("db"));
        assert.deepEqual(
            w.calls.filter((c) => MUTATIONS.test(c)),
            [],
            "observing changes nothing",
        );
    });

    it("pin the revision: a new tag is resolved by the registry; the last digest is kept while the image is unchanged", async () => {
        const { w, args, state, v2, progress, look } = await deployed();
        const seen = await look();
        const rev = await w.run(() => revisionFor(v2, state, seen.nodes, progress));
        assert.match(rev.imageDigest, /^reg\/web@sha256:[0-9a-f]{64}$/);
        assert.notEqual(rev.revision, state.revision);
        assert.ok(
            w.calls.some((c) => c.endsWith(".manifest")),
            w.calls.join(" "),
        );
        w.calls.length = 0;
        assert.equal(keptDigest(state, args), state.imageDigest);
        const same = await w.run(() => revisionFor(args, state, seen.nodes, progress));
        assert.equal(same.revision, state.revision);
        assert.deepEqual(w.calls, [], "an unchanged image asks no registry");
    });

    it("plan: an image change starts one new container per node and retires the old after them; planning changes nothing", async () => {
        const { state, v2, next } = await deployed();
        const { plan, planCalls } = await next(v2);
        const starts = plan.release.batches.flatMap((b) => b.start.map((p) => p.node));
        assert.deepEqual(starts.sort(), ["h1", "h2", "h3"]);
        assert.ok(
            plan.release.batches.every((b) => b.retireBefore.length === 0),
            "blue-green: nothing goes before the new serve",
        );
        assert.deepEqual(plan.release.batches.flatMap((b) => b.retireAfter.map((c) => c.id)).sort(), state.containers.map((c) => c.id).sort());
        assert.deepEqual(
            planCalls.filter((c) => MUTATIONS.test(c)),
            [],
        );
        assert.ok(planCalls.length > 0);
    });

    it("plan: a scale-in inspects the limits of the containers it keeps only", async () => {
        const { args, next } = await deployed();
        const { plan, planCalls } = await next({ ...args, replicas: 1 });
        assert.equal(plan.release.keep.length, 1);
        assert.deepEqual(
            planCalls.filter((c) => c.endsWith(".inspect")),
            [`${plan.release.keep[0].node}.inspect`],
        );
    });

    it("resize in place: kept containers get the new limits without a restart; one Docker refuses is a re-plan naming it", async () => {
        const { w, args, state, lines, progress, hosts, next } = await deployed();
        const to = { ...args, memoryMb: 64 };
        const { plan, limits } = await next(to);
        assert.equal(plan.resize.length, 3);
        w.inject({ call: "h2.resize", error: "Cannot update container: Minimum memory limit can not be less than memory swap limit" });
        const replan = await w.run(() => resizeInPlace(hosts, plan, limitsOf(to), limits, progress));
        const onH2 = state.containers.find((c) => c.node === "h2")!;
        assert.ok(replan, "a refused resize asks for a re-plan");
        assert.deepEqual(
            replan.learned.refusedResizes.map((r) => r.container.id),
            [onH2.id],
        );
        assert.match(replan.why, /Docker refused to resize web-.* in place/);
        const resized = w.containers().filter((c) => c.limits.memoryBytes === 64 * 1024 * 1024);
        assert.deepEqual(resized.map((c) => c.node).sort(), ["h1", "h3"]);
        assert.ok(w.containers().every((c) => c.state === "running"));
        assert.equal(lines.filter((l) => /^resized .* in place \(no restart\): .* -> .*memory 64 MiB/.test(l)).length, 2, lines.join("\n"));
    });

    it("remove orphans: backends whose containers are gone leave the binding at once; the others stay", async () => {
        const { w, args, state, progress, next } = await deployed();
        const before = weights(w);
        // A container removed by hand: its backend is left behind.
        const gone = state.containers[0].name.replace(/-\d+-([0-9a-f]{10})-[0-9a-f]{4}$/, "-9-$1-dead");
        await w.slb("pub").addBackends("pub", [{ name: gone, address: "10.0.0.1", port: 39999 }]);
        const { plan, target, left } = await next(args);
        assert.deepEqual(plan.bindings[0].orphans, [gone]);
        await w.run(() => removeOrphans([...plan.bindings, ...plan.leaving], [...target.bindings, ...left], progress));
        assert.deepEqual(weights(w), before);
        assert.deepEqual(w.calls, ["pub.removeBackends"]);
    });

    it("leave bindings: a binding the service leaves drains its backends until no request is in flight, then deregisters them; containers stay", async () => {
        const { w, args, state, progress, next } = await deployed();
        const both = { ...args, bindings: [...args.bindings!, { slb: w.binding("old") }] };
        const twice: ServiceState = (
            await w.run(() =>
                withProgressSink(
                    () => undefined,
                    () => serviceProvider.update!("c/web", state, both),
                ),
            )
        ).outs;
        assert.equal(w.slb("old").servers.size, 3);
        const { plan, target, left } = await next(args, twice);
        assert.deepEqual(
            plan.leaving.map((b) => [b.pool, b.drain.length]),
            [["old", 3]],
        );
        const inFlightUntil = w.clock.now() + 5_000;
        w.sessions = () => (w.clock.now() < inFlightUntil ? 1 : 0);
        const removedAt: number[] = [];
        w.onCall = (call) => void (call === "old.removeBackends" && removedAt.push(w.clock.now()));
        await w.run(() => leaveBindings(target, plan, left, progress));
        assert.equal(w.slb("old").servers.size, 0);
        assert.ok(removedAt[0] >= inFlightUntil, "deregistered only once no request was in flight");
        assert.equal(w.slb("pub").servers.size, 3, "the bindings kept are untouched");
        assert.equal(w.containers().filter((c) => c.state === "running").length, 3);
    });

    it("drain stranded: once the new revision serves, backends of the old one on a node that does not answer leave the binding; the container stays", async () => {
        const { w, v2, progress, next } = await deployed();
        w.hosts.get("h3")!.down = true;
        const onH3 = w.containers().find((c) => c.node === "h3")!;
        const { plan, target } = await next(v2);
        assert.deepEqual(plan.bindings[0].stranded, [onH3.name]);
        await w.run(() => drainStranded(target, plan, progress));
        assert.ok(!w.slb("pub").servers.has(onH3.name));
        assert.equal(w.slb("pub").servers.size, 2, "the answering nodes' backends stay");
        assert.equal(w.containers().find((c) => c.id === onH3.id)?.state, "running", "nothing stops a container on a node that does not answer");
    });

    it("start: a slot whose node holds its fixed host port outside Docker starts on another node, saying why", async () => {
        const { w, args, lines, next } = await deployed({ ports: [{ containerPort: 80, hostPort: 8080 }], replicas: 2 }, 4);
        const { target, plan } = await next({ ...args, replicas: 3 });
        const placement = plan.release.batches[0].start[0];
        w.hosts.get(placement.node)!.heldOutside.add(8080);
        const moves: string[] = [];
        const [started] = await w.run(() => startContainers(target, [placement], plan.release.loads, moves));
        assert.notEqual(started.node, placement.node);
        assert.equal(w.hosts.get(started.node)!.containers.size, 1, "moved to the node that was free too");
        assert.match(moves[0], new RegExp(`^slot ${placement.slot} started on ${started.node} instead of ${placement.node}: .*8080`));
        assert.ok(
            lines.some((l) => l.startsWith(`could not start slot ${placement.slot} on ${placement.node}: host port 8080 is held`)),
            lines.join("\n"),
        );
    });

    it("await Docker: a container still starting fails the step after exactly release.healthyTimeoutSeconds, naming its health", async () => {
        const { w, args, next } = await deployed();
        const { target, plan } = await next({ ...args, image: "reg/web:starting" });
        const started = await w.run(() => startContainers(target, plan.release.batches[0].start, plan.release.loads));
        const { ms, result } = await timed(w, () =>
            waitDockerHealthy(target, started).then(
                () => undefined,
                (e: Error) => e,
            ),
        );
        assert.ok(result instanceof ReleaseError);
        assert.match(result.message, /not healthy within release.healthyTimeoutSeconds=120s: web-.* is starting/);
        assert.ok(ms >= 120_000 && ms < 121_000, `waited ${ms} ms`);
    });

    it("register, await the load balancer, shift: new backends join at weight 0 and get weight only once the load balancer calls them up", async () => {
        const { w, v2, next } = await deployed();
        const { target, plan } = await next(v2);
        const started = await w.run(() => startContainers(target, plan.release.batches[0].start, plan.release.loads));
        const name = started[0].name;
        const upFrom = w.clock.now() + 3_000;
        w.slb("pub").override = (b) => (b.name === name && w.clock.now() < upFrom ? { ...b, status: "DOWN", checkStatus: "L4CON" } : b);
        const at: Record<string, number> = {};
        w.onCall = (call, [arg]) => {
            if (call === "pub.addBackends" && (arg as Array<{ name: string }>).some((b) => b.name === name)) at.added ??= w.clock.now();
            if (call === "pub.setWeights" && (arg as Array<{ name: string; weight: number }>).some((b) => b.name === name && b.weight > 0))
                at.weighted ??= w.clock.now();
        };
        await w.run(() => registerAndShift(target, started));
        assert.equal(w.slb("pub").servers.get(name)?.weight, 100);
        assert.ok(at.added < upFrom, "registered at once");
        assert.ok(at.weighted >= upFrom && at.weighted < upFrom + 1_500, `weight raised at +${at.weighted - upFrom} ms from the backend's first up`);
    });

    it("register: a backend the load balancer never calls up fails after exactly release.lbHealthyTimeoutSeconds", async () => {
        const { w, v2, next } = await deployed();
        const { target, plan } = await next(v2);
        const started = await w.run(() => startContainers(target, plan.release.batches[0].start, plan.release.loads));
        w.slb("pub").override = (b) => (b.name === started[0].name ? { ...b, status: "DOWN", checkStatus: "L7STS" } : b);
        const { ms, result } = await timed(w, () =>
            registerAndShift(target, started).then(
                () => undefined,
                (e: Error) => e,
            ),
        );
        assert.match(String(result), /release\.lbHealthyTimeoutSeconds/);
        assert.ok(ms >= 60_000 && ms < 61_000, `waited ${ms} ms`);
        assert.equal(w.slb("pub").servers.get(started[0].name)?.weight, 0, "it never got weight");
    });

    it("guard capacity: removing serving backends that would leave fewer than minAvailable healthy stops the release; nothing is removed", async () => {
        const { w, v2, next, state } = await deployed();
        const { target } = await next(v2);
        w.slb("pub").override = (b) => (b.name === state.containers[0].name ? b : { ...b, status: "DOWN", checkStatus: "L4CON" });
        await assert.rejects(
            w.run(() => guardCapacity({ ...target, minAvailable: 2 }, [state.containers[0]])),
            /circuit breaker: pub would keep 0 healthy backend\(s\), fewer than minAvailable=2/,
        );
        assert.deepEqual(
            w.calls.filter((c) => MUTATIONS.test(c)),
            [],
        );
    });

    it("drain, deregister, stop: weight 0 until no request is in flight, then out of the binding, then stopped and removed", async () => {
        const { w, v2, state, next } = await deployed();
        const { target } = await next(v2);
        const going = state.containers.slice(0, 2);
        const until = w.clock.now() + 7_000;
        w.sessions = (name) => (going.some((c) => c.name === name) && w.clock.now() < until ? 2 : 0);
        const order: string[] = [];
        w.onCall = (call) => void (MUTATIONS.test(call) && order.push(call.replace(/^h\d/, "host")));
        const { ms } = await timed(w, () => retire(target, going));
        assert.ok(ms >= 7_000 && ms < 8_000, `drained ${ms} ms`);
        assert.deepEqual([...new Set(order)], ["pub.setWeights", "pub.removeBackends", "host.stop", "host.remove"]);
        assert.deepEqual(
            w.containers().map((c) => c.id),
            [state.containers[2].id],
        );
        assert.deepEqual(weights(w), [`${state.containers[2].name} 100`]);
    });

    it("batches: with a fixed host port each batch makes room on its node before it starts there, and the old never serve beside nothing", async () => {
        const { w, v2, next } = await deployed({ ports: [{ containerPort: 80, hostPort: 8080 }] });
        const { target, plan, rev } = await next({ ...v2, ports: [{ containerPort: 80, hostPort: 8080 }] });
        assert.ok(plan.release.batches.every((b) => b.retireBefore.length === 1 && b.retireBefore[0].node === b.start[0].node));
        const serving: number[] = [];
        w.onCall = (call) => void (call.endsWith(".stop") && serving.push([...w.slb("pub").servers.values()].filter((s) => s.weight > 0).length));
        const { result } = await timed(w, () => runBatches(target, plan.release.batches, plan.release.loads));
        assert.equal(result.replan, undefined);
        assert.equal(result.report.length, 3);
        assert.ok(
            serving.every((n) => n >= plan.release.minAvailable),
            `serving at each stop: ${serving.join(", ")}`,
        );
        assert.ok(w.containers().every((c) => c.revision === rev.revision));
    });
});
