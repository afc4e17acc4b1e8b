// One reconcile: observe, pin the revision, plan, run the steps; plan again when a step learned the
// world differs. Only this loop decides to re-plan.
import { prePull } from "../../docker/pull";
import { ServiceArgs, ServiceState } from "../../model";
import { Progress, progressFor } from "../../progress";
import { StepTimes } from "../../stepTimes";
import { ContainerBinding, Learned, ReleaseError, ReleaseTarget, registerAndShift, Replan, replanOn, runBatches } from "../../rollout/execute";
import { describe } from "../../rollout/plan";
import { keptToFix } from "../../rollout/servicePlan";
import { hostsFor, nodeViews, reachOf } from "../world";
import { OutOfReachError, reachVerdict } from "../../reach";
import { Owner } from "./owner";
import { containerBindings, listBackends, bindingsLeft } from "./bindings";
import { listContainers, nodesOf, observe, Observed } from "./observe";
import { limitsOf, Revision, revisionFor } from "./revision";
import { Knowledge, planFor } from "./plan";
import { drainStranded, leaveBindings, ReleaseBase, releaseBase, removeOrphans, resizeInPlace } from "./steps";

/** Most passes of observe, plan, run in one reconcile: each pass after the first learned something new. */
export const MAX_PASSES = 5;

/** One reconcile: what runs (Docker, every load balancer) brought to what the inputs ask for. Returns the new state. */
export async function reconcile(args: ServiceArgs, owner: Owner, previous: ServiceState | undefined): Promise<ServiceState> {
    const progress = progressFor(args.name);
    const times = new StepTimes();
    const specs = nodesOf(args, previous, progress);
    const hosts = hostsFor(specs, args.registries);
    const left = bindingsLeft(args, previous);
    // Nothing changes when a load balancer or every schedulable node is out of reach (reach.ts).
    const reach = await times.time("reach", () => reachOf("act", specs, hosts, [...containerBindings(args), ...left]));
    const verdict = reachVerdict("act", reach);
    if (verdict.kind === "fail") throw new OutOfReachError(verdict.reason);
    const first = await times.time("observe", () => observe(args, owner, specs, hosts, new Map(), progress));
    const rev = await times.time("revision", () => revisionFor(args, previous, first.nodes, progress));
    const target = releaseBase(args, owner, rev, first.nodes, progress, times);
    const report = await releaseUntilDone(args, owner, rev, target, left, first, progress);
    const state = await times.time("record", async () => {
        const { reachable } = await nodeViews(specs, hosts);
        return { containers: await listContainers(args, owner, hosts, reachable), backends: await listBackends(args, target.bindings, owner) };
    });
    // A release that started or retired containers reports where its time went.
    const timed = times.has("start") || times.has("stop");
    return {
        ...withoutCredentials(args),
        ownerId: owner.id,
        imageDigest: rev.imageDigest,
        revision: rev.revision,
        ...state,
        lastRelease: timed ? [...report, times.line()] : report,
    };
}

/**
 * Observe, plan, run; when a step reports that the world differs from what was observed (a host
 * port held outside Docker, a node gone, a resize refused), plan again with that knowledge, within
 * the same run. Only this loop decides to re-plan.
 */
export async function releaseUntilDone(
    args: ServiceArgs,
    owner: Owner,
    rev: Revision,
    target: ReleaseBase,
    left: ContainerBinding[],
    first: Observed,
    progress: Progress,
): Promise<string[]> {
    const known: Knowledge = { held: new Map(), replace: new Set() };
    const report: string[] = [];
    let seen = first;
    for (let pass = 1; ; pass++) {
        const done = await releasePass(args, rev, target, left, seen, known, progress);
        if ("report" in done) return [...report, ...done.report];
        const { why, learned } = done.replan;
        if (pass >= MAX_PASSES || !learnNew(known, learned, seen)) throw new ReleaseError(why);
        const line = `re-planning with what the release learned: ${describeLearned(learned)}`;
        progress(line);
        report.push(line);
        seen = await target.times.time("observe", () => observe(args, owner, seen.nodes.specs, seen.nodes.hosts, known.held, progress));
    }
}

/** Adds what a step learned; false when it is nothing the last plan did not know. */
export function learnNew(known: Knowledge, learned: Learned, seen: Observed): boolean {
    let fresh = learned.lostNodes.some((n) => seen.nodes.reachable.has(n));
    for (const h of learned.heldPorts) {
        const ports = known.held.get(h.node) ?? new Map<number, string>();
        if (!ports.has(h.port) && !seen.foreignHostPorts.get(h.node)?.has(h.port)) fresh = true;
        known.held.set(h.node, ports.set(h.port, h.holder));
    }
    for (const r of learned.refusedResizes) {
        if (!known.replace.has(r.container.id)) fresh = true;
        known.replace.add(r.container.id);
    }
    return fresh;
}

export const describeLearned = (learned: Learned) =>
    [
        ...learned.heldPorts.map((h) => `node ${h.node}: host port ${h.port} is held by ${h.holder}`),
        ...learned.lostNodes.map((n) => `node ${n}: its Docker stopped answering`),
        ...learned.refusedResizes.map((r) => `${describe(r.container)}: Docker refused to resize it in place (${r.reason}), replacing it`),
    ].join("; ");

/**
 * One pass: the plan's steps in order. Orphan backends go and bindings left are drained first; then
 * in-place resizes, pulls ahead, kept containers' backends fixed, the batches; backends stranded
 * on nodes that do not answer go last, once the new revision serves.
 */
export async function releasePass(
    args: ServiceArgs,
    rev: Revision,
    base: ReleaseBase,
    left: ContainerBinding[],
    seen: Observed,
    known: Knowledge,
    progress: Progress,
): Promise<{ report: string[] } | { replan: Replan }> {
    const { times } = base;
    const { input, plan, limits } = await times.time("plan", () => planFor(args, rev, seen, base.bindings, left, known));
    const release = plan.release;
    const fewest = Number.isFinite(release.lowestServing) ? `; fewest serving ${release.lowestServing}` : "";
    progress(
        `revision ${rev.revision} (${rev.imageDigest}); ${input.replicas} replica(s); keeping ${release.keep.length}; ${release.batches.length} batch(es)${fewest}`,
    );
    for (const note of release.notes) progress(note);
    const target: ReleaseTarget = { ...base, nodes: seen.nodes.views, rules: input.rules, minAvailable: release.minAvailable };
    await times.time("orphans", () => removeOrphans([...plan.bindings, ...plan.leaving], [...base.bindings, ...left], progress));
    await times.time("leave bindings", () => leaveBindings(target, plan, left, progress));
    const refused = await times.time("resize", () => resizeInPlace(seen.nodes.hosts, plan, limitsOf(args), limits, progress));
    if (refused) return { replan: refused };
    // Every node that will start a container has the image before anything old is touched.
    const pullOn = new Set(release.batches.flatMap((b) => b.start.map((p) => p.node)));
    await times.time("pull", () =>
        prePull(
            rev.imageDigest,
            [...pullOn].map((n) => seen.nodes.hosts.get(n)!),
            progress,
        ),
    );
    const lost = await times.time("kept backends", () => replanOn(() => registerAndShift(target, keptToFix(plan))));
    if (lost) return { replan: lost };
    // Retry-elsewhere placement starts from the nodes' load as the plan leaves them.
    const batches = await runBatches(target, release.batches, release.loads);
    if (batches.replan) return { replan: batches.replan };
    await times.time("stranded backends", () => drainStranded(target, plan, progress));
    return { report: [...release.notes, ...batches.report] };
}

/** Outputs never carry the credentials: the service refers to the cluster's, kept once. */
export function withoutCredentials<T extends ServiceArgs>(args: T): T {
    const { registries: _, ...rest } = args;
    return rest as T;
}
