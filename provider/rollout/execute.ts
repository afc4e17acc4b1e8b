// Runs a release plan against real hosts and load balancers: start, wait for Docker health, shift
// traffic (shift.ts: register at weight 0 in every binding, wait for every load balancer's health
// check, raise the weight; drain the old backends, deregister), stop, remove. Any failure in a
// batch removes what the batch started and leaves the old serving.
import { ContainerSpec, HostClient } from "../docker/host";
import { ContainerState } from "../model";
import { limitPer } from "../limit";
import { few, Progress, throttled } from "../progress";
import { StepTimes } from "../stepTimes";
import { emptyLoad, NodeView, place, NodeLoad, PlacementRules } from "../schedule/placement";
import { Backend, isLbHealthy } from "../slb/driver";
import { cancellablePause, cancelled, DeadlineError, FatalError, waitUntil } from "../wait";
import { Batch, describeBatch, isServing, Placement } from "./plan";
import { deregister, drain as drainBackends, Binding, shiftTo } from "./shift";

/** A binding of the service's containers: the container port its load balancer sends traffic to. */
export interface ContainerBinding extends Binding {
    containerPort: number;
    /** Seconds the load balancer needs to call a new backend healthy: rise × check interval. */
    healthySeconds: number;
}

/** What retiring containers takes: drain and deregister them in the bindings, stop and remove them. */
export interface RetireTarget {
    service: string;
    hosts: Map<string, HostClient>;
    bindings: ContainerBinding[];
    drainTimeoutSeconds: number;
    stopGracePeriodSeconds: number;
    /** Fewest backends each load balancer must see healthy and weighted after serving ones are removed (0: remove regardless). */
    minAvailable: number;
    progress: Progress;
    /** Where each step's duration goes. */
    times: StepTimes;
}

/** What a release takes besides: where and how new containers start, and how long they may take to serve. */
export interface ReleaseTarget extends RetireTarget {
    /** Labels that select the service's containers on a host. */
    selector: Record<string, string>;
    /** Node address load balancers reach, by node name. */
    addresses: Map<string, string>;
    nodes: NodeView[];
    containerSpec: (slot: number) => ContainerSpec;
    rules: PlacementRules;
    healthyTimeoutSeconds: number;
    lbHealthyTimeoutSeconds: number;
    /** Pause between batches (a configured wait, to watch a canary batch). */
    pauseSeconds: number;
}

/** The release cannot go on: also ends any wait at once. */
export class ReleaseError extends FatalError {}

/** A host port a node turned out to hold, learned from a failed start. */
export interface HeldPort {
    node: string;
    port: number;
    holder: string;
}

/** A kept container whose engine refused to change its limits in place: the next plan replaces it. */
export interface RefusedResize {
    container: ContainerState;
    reason: string;
}

/** What a failed step taught about the world: planning again with it may succeed. */
export interface Learned {
    heldPorts: HeldPort[];
    /** Nodes whose Docker stopped answering. */
    lostNodes: string[];
    refusedResizes: RefusedResize[];
}

export const nothingLearned = (): Learned => ({ heldPorts: [], lostNodes: [], refusedResizes: [] });
const learnedAnything = (l: Learned) => l.heldPorts.length > 0 || l.lostNodes.length > 0 || l.refusedResizes.length > 0;

/** A step found the world other than the plan assumed and undid what it started: plan again with what it learned. */
export interface Replan {
    why: string;
    learned: Learned;
}

/** Ends a step's waits at once when the world is not what the plan assumed (a host port held, a node gone). */
class WorldChangedError extends ReleaseError {
    constructor(
        message: string,
        readonly learned: Learned,
    ) {
        super(message);
    }
}

const errorText = (e: any): string => String(e?.json?.message ?? e?.message ?? e).trim();

async function answers(h: HostClient): Promise<boolean> {
    try {
        await h.ping();
        return true;
    } catch {
        return false;
    }
}

const PORT_CONFLICT = /address already in use|port is already allocated/;

/** The fixed host port a failed start names as held, if that is why it failed. */
function heldPortIn(spec: ContainerSpec, message: string): number | undefined {
    if (!PORT_CONFLICT.test(message)) return undefined;
    const fixed = spec.ports.map((p) => p.hostPort).filter((p) => p > 0);
    return fixed.find((p) => new RegExp(`:${p}\\b`).test(message)) ?? fixed[0];
}

/** Who holds a host port on a node: a container Docker knows of (undefined: one of this service's own), or else a process outside Docker. */
async function holderOf(h: HostClient, port: number, service: string): Promise<string | undefined> {
    const found = (await h.running().catch(() => [])).find((r) => r.ports.includes(port));
    if (!found) return "a process outside Docker";
    if (found.service === service) return undefined;
    return found.service ? `a container of service ${found.service}` : "a container berth does not manage";
}

/** Records a held port in the nodes' load, so no other slot of this release is placed there. */
function markHeld(loads: Map<string, NodeLoad>, held: HeldPort): void {
    const load = loads.get(held.node) ?? emptyLoad();
    loads.set(held.node, load);
    load.hostPorts.add(held.port);
    load.holders = new Map(load.holders ?? []).set(held.port, held.holder);
}

export function backendOf(target: ReleaseTarget, c: ContainerState, binding: ContainerBinding): Backend {
    const port = c.hostPorts[String(binding.containerPort)];
    if (!port) throw new ReleaseError(`container ${c.name} on ${c.node} publishes no host port for container port ${binding.containerPort}`);
    return { name: c.name, address: target.addresses.get(c.node) as string, port };
}

function host(target: ReleaseTarget, node: string): HostClient {
    const h = target.hosts.get(node);
    if (!h) throw new ReleaseError(`node ${node} is not in the cluster`);
    return h;
}

/** A batch's start failed; `started` are its containers that did start, for the rollback to remove. */
class StartError extends ReleaseError {
    constructor(
        message: string,
        readonly started: ContainerState[],
        readonly learned: Learned,
    ) {
        super(message);
    }
}

/** Why a start failed on a node, and what that teaches: a held port, or a node that stopped answering. */
async function learnFromStart(
    target: ReleaseTarget,
    h: HostClient,
    spec: ContainerSpec,
    message: string,
    loads: Map<string, NodeLoad>,
    learned: Learned,
): Promise<string> {
    const port = heldPortIn(spec, message);
    if (port !== undefined) {
        const holder = await holderOf(h, port, target.service);
        // The service's own container there goes in place when the plan says so: nothing to learn.
        if (!holder) return `host port ${port} is held by a container of this service`;
        const held = { node: h.node, port, holder };
        learned.heldPorts.push(held);
        markHeld(loads, held);
        return `host port ${port} is held by ${held.holder}`;
    }
    if (!(await answers(h))) {
        learned.lostNodes.push(h.node);
        return "its Docker stopped answering";
    }
    return message;
}

/**
 * Starts one container per placement; a container that cannot start on its node is tried on another.
 * Each move is added to `moves` (node and reason) for the release report.
 */
export async function startContainers(
    target: ReleaseTarget,
    placements: Placement[],
    loads: Map<string, NodeLoad>,
    moves: string[] = [],
): Promise<ContainerState[]> {
    const learned = nothingLearned();
    // Bounded per node: each engine works through its own starts, all engines at once.
    const limitOn = limitPer();
    const results = await Promise.allSettled(
        placements.map(async ({ slot, node }) => {
            const tried: string[] = [];
            let candidate: string | undefined = node;
            const spec = target.containerSpec(slot);
            while (candidate) {
                try {
                    const on = host(target, candidate);
                    const c = await limitOn(candidate)(async () => {
                        await on.ensureImage(spec.image, target.progress);
                        return on.run(spec);
                    });
                    target.progress(`started ${c.name} on ${candidate}${tried.length ? ` (after ${tried.join("; ")})` : ""}`);
                    if (tried.length) moves.push(`slot ${slot} started on ${candidate} instead of ${node}: ${tried.join("; ")}`);
                    return c;
                } catch (e: any) {
                    const message = errorText(e);
                    const why = await learnFromStart(target, host(target, candidate), spec, message, loads, learned);
                    const reason = `${candidate}: ${why === message ? message : `${why} (${message})`}`;
                    tried.push(reason);
                    target.progress(`could not start slot ${slot} on ${reason}; trying another node`);
                    // Mark the nodes that refused as unable to take it and ask the scheduler again.
                    const remaining: NodeView[] = target.nodes.map((n) =>
                        tried.some((t) => t.startsWith(n.name + ":")) ? { ...n, schedulable: false } : n,
                    );
                    candidate = place(1, remaining, loads, target.rules).nodes[0];
                }
            }
            throw new ReleaseError(`slot ${slot} could not start on any eligible node: ${tried.join("; ")}`);
        }),
    );
    const started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failures = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason?.message ?? r.reason)] : []));
    if (failures.length) throw new StartError(failures.join("; "), started, learned);
    return started;
}

/** Ends a wait at once when a node's Docker stopped answering: its containers will not get healthy. */
async function failIfLost(target: ReleaseTarget, nodes: string[]): Promise<void> {
    const lost = (await Promise.all(nodes.map(async (n) => ((await answers(host(target, n))) ? [] : [n])))).flat();
    if (lost.length)
        throw new WorldChangedError(`the Docker of node(s) ${lost.join(", ")} stopped answering`, { ...nothingLearned(), lostNodes: lost });
}

/** Lists a node's containers; a node whose Docker stopped answering ends the wait at once. */
async function listOrLost(target: ReleaseTarget, node: string): Promise<ContainerState[]> {
    const h = host(target, node);
    try {
        return await h.list(target.selector);
    } catch (e) {
        if (await answers(h)) throw e;
        throw new WorldChangedError(`node ${node}'s Docker stopped answering: ${errorText(e)}`, { ...nothingLearned(), lostNodes: [node] });
    }
}

/** Waits until Docker reports every started container healthy: one listing per node per poll, however many containers. */
export async function waitDockerHealthy(target: ReleaseTarget, started: ContainerState[]): Promise<void> {
    const status = throttled(target.progress);
    const pending = new Map(started.map((c) => [c.id, c]));
    let last = new Map<string, ContainerState>();
    try {
        await waitUntil(
            async () => {
                const nodes = [...new Set([...pending.values()].map((c) => c.node))];
                const seen = (await Promise.all(nodes.map((n) => listOrLost(target, n)))).flat();
                last = new Map(seen.map((c) => [c.id, c]));
                for (const c of pending.values()) {
                    const now = last.get(c.id);
                    if (!now) throw new ReleaseError(`container ${c.name} on ${c.node} disappeared`);
                    if (now.state !== "running" && now.state !== "restarting")
                        throw new ReleaseError(`container ${c.name} on ${c.node} is ${now.state}`);
                    // Docker says unhealthy only after `retries` failed checks past the start period: no use waiting on.
                    if (now.health === "unhealthy") {
                        const output = (
                            await host(target, c.node)
                                .inspect(c.id)
                                .catch(() => undefined)
                        )?.lastHealthOutput;
                        throw new ReleaseError(`container ${c.name} on ${c.node} is unhealthy${output ? ` (last check: ${output})` : ""}`);
                    }
                    if (now.health === "healthy" || now.health === "none") pending.delete(c.id);
                }
                if (pending.size === 0) return true;
                const waiting = [...pending.values()];
                status(`waiting for Docker health: ${few(waiting.map((c) => `${c.name} on ${c.node} (${last.get(c.id)?.health})`))}`);
                return undefined;
            },
            { timeoutSeconds: target.healthyTimeoutSeconds, what: "containers to be healthy in Docker", intervalMs: 250, cancellable: true },
        );
    } catch (e) {
        if (!(e instanceof DeadlineError)) throw e;
        const details = await Promise.all(
            [...pending.values()].map(async (c) => {
                const s = await host(target, c.node)
                    .inspect(c.id)
                    .catch(() => undefined);
                return `${c.name} on ${c.node} is ${s?.health ?? last.get(c.id)?.health ?? "unknown"}${s?.lastHealthOutput ? ` (last check: ${s.lastHealthOutput})` : ""}`;
            }),
        );
        throw new ReleaseError(`not healthy within release.healthyTimeoutSeconds=${target.healthyTimeoutSeconds}s: ${details.join("; ")}`);
    }
}

/** Registers containers at weight 0 in every binding, waits until every load balancer sees them healthy, then raises the weight. */
export async function registerAndShift(target: ReleaseTarget, containers: ContainerState[]): Promise<void> {
    const nodeOf = new Map(containers.map((c) => [c.name, c.node]));
    await shiftTo(
        target.bindings.map((binding) => ({ binding, backends: containers.map((c) => backendOf(target, c, binding)) })),
        {
            lbHealthy: { seconds: target.lbHealthyTimeoutSeconds, setting: "release.lbHealthyTimeoutSeconds" },
            progress: target.progress,
            failFast: (waiting) => failIfLost(target, [...new Set(waiting.map((name) => nodeOf.get(name)!))]),
        },
    );
}

/** Sets weight 0 in every pool holding them and waits until no request is in flight, bounded by release.drainTimeoutSeconds. */
export async function drain(target: RetireTarget, bindings: ContainerBinding[], names: string[]): Promise<void> {
    await drainBackends(bindings, names, {
        bound: { seconds: target.drainTimeoutSeconds, setting: "release.drainTimeoutSeconds" },
        progress: target.progress,
    });
}

/**
 * Drains, deregisters, stops (SIGTERM, grace period, SIGKILL) and removes containers. Stops run per
 * node, at most DAEMON_CONCURRENCY at a time on each, so their grace periods run side by side. No
 * container stops before all have drained: overlapping the two gained no time in the scale
 * benchmark and lost requests there on a loaded host.
 */
export async function retire(target: RetireTarget, containers: ContainerState[], bindings: ContainerBinding[] = target.bindings): Promise<void> {
    if (containers.length === 0) return;
    const names = containers.map((c) => c.name);
    await target.times.time("drain", () => drain(target, bindings, names));
    await target.times.time("deregister", () => deregister(bindings, names));
    const limitOn = limitPer();
    await target.times.time("stop", () => Promise.all(containers.map((c) => limitOn(c.node)(() => stop(target, c)))));
    target.progress(`retired ${few(containers.map((c) => `${c.name} on ${c.node}`))}`);
}

/** Stops (SIGTERM, grace period, SIGKILL) and removes a container; one on a node that does not answer stays until it does. */
async function stop(target: RetireTarget, c: ContainerState): Promise<void> {
    const h = target.hosts.get(c.node);
    if (!h) return;
    try {
        await h.stop(c.id, target.stopGracePeriodSeconds);
        await h.remove(c.id);
    } catch (e) {
        // A node that died serves nothing: its container goes when it answers again (the next run).
        if (await answers(h)) throw e;
        target.progress(`node ${c.node} does not answer: ${c.name} stays there until it does (${errorText(e)})`);
    }
}

/**
 * Circuit breaker before serving backends are removed: each load balancer must still see at least
 * minAvailable healthy, weighted backends without them. A mass health failure stops the release
 * here instead of taking out the last backends that serve.
 */
export async function guardCapacity(target: RetireTarget, removing: ContainerState[]): Promise<void> {
    if (removing.length === 0 || target.minAvailable === 0) return;
    const leaving = new Set(removing.map((c) => c.name));
    for (const binding of target.bindings) {
        const backends = await binding.driver.backends(binding.pool);
        if (!backends.some((b) => leaving.has(b.name))) continue;
        const left = backends.filter((b) => !leaving.has(b.name) && b.weight > 0 && isLbHealthy(b));
        if (left.length < target.minAvailable) {
            const down = backends.filter((b) => !leaving.has(b.name) && !isLbHealthy(b)).map((b) => `${b.name} ${b.status} ${b.checkStatus}`);
            throw new ReleaseError(
                `circuit breaker: ${binding.pool} would keep ${left.length} healthy backend(s), fewer than minAvailable=${target.minAvailable}, ` +
                    `if ${[...leaving].join(", ")} went now (failing: ${down.join(", ") || "none"}); nothing was removed`,
            );
        }
    }
}

/** Undoes a failed batch: the new containers leave every load balancer and their hosts; the old keep serving. */
async function rollback(target: RetireTarget, started: ContainerState[]): Promise<string[]> {
    const problems: string[] = [];
    try {
        await retire(target, started);
    } catch (e: any) {
        problems.push(`rollback incomplete: ${e?.message ?? e}`);
    }
    return problems;
}

/** Runs a step: done (undefined), or the re-plan it reports when it met a world other than the plan's. */
export async function replanOn(step: () => Promise<void>): Promise<Replan | undefined> {
    try {
        await step();
        return undefined;
    } catch (e) {
        if (e instanceof WorldChangedError) return { why: e.message, learned: e.learned };
        throw e;
    }
}

/** Runs the batches in order until done, or until one reports a re-plan (its own containers removed); a failure throws. */
export async function runBatches(
    target: ReleaseTarget,
    batches: Batch[],
    loads: Map<string, NodeLoad>,
): Promise<{ report: string[]; replan?: Replan }> {
    const report: string[] = [];
    for (const [i, batch] of batches.entries()) {
        if (i > 0) await target.times.time("pause", () => pause(target, i, batches.length));
        const label = describeBatch(batch, i, batches.length);
        // A safe point: every batch before this one is done, both revisions serve healthy.
        if (i > 0 && cancelled()) {
            throw new ReleaseError(
                `release of ${target.service} cancelled before ${label.split(":")[0]}: ${i} of ${batches.length} batch(es) done, ` +
                    "the previous and the new revision both serve; the next `pulumi up` finishes the release",
            );
        }
        target.progress(label);
        report.push(label);
        await makeRoom(target, batch);
        const replan = await bringUp(target, batch, label, loads, report);
        if (replan) return { report, replan };
        await retireOld(target, batch);
    }
    return { report };
}

/** A configured wait between batches, to watch a canary batch. */
async function pause(target: ReleaseTarget, index: number, total: number): Promise<void> {
    if (target.pauseSeconds <= 0) return;
    target.progress(`pausing ${target.pauseSeconds}s before batch ${index + 1}/${total} (release.pauseSeconds)`);
    await cancellablePause(target.pauseSeconds, `batch ${index + 1}/${total} (release.pauseSeconds)`);
}

/** Retires what must go before the new start (in place, stopFirst, idle), never below capacity. */
async function makeRoom(target: ReleaseTarget, batch: Batch): Promise<void> {
    await target.times.time("capacity guard", () => guardCapacity(target, batch.retireBefore.filter(isServing)));
    await retire(target, batch.retireBefore);
}

/**
 * Starts the batch, waits for Docker and every load balancer, shifts traffic. On failure it undoes
 * the batch, then reports a re-plan with what it learned, or throws the failure.
 */
async function bringUp(
    target: ReleaseTarget,
    batch: Batch,
    label: string,
    loads: Map<string, NodeLoad>,
    report: string[],
): Promise<Replan | undefined> {
    let started: ContainerState[] = [];
    try {
        started = await target.times.time("start", () => startContainers(target, batch.start, loads, report));
        await target.times.time("docker health", () => waitDockerHealthy(target, started));
        await target.times.time("load balancer health and weight", () => registerAndShift(target, started));
    } catch (e: any) {
        const leftovers = e instanceof StartError ? e.started : started;
        target.progress(`${label.split(":")[0]} failed: ${e?.message ?? e}; rolling back ${few(leftovers.map((c) => c.name)) || "nothing"}`);
        const problems = await rollback(target, leftovers);
        const message =
            `release of ${target.service} failed in ${label}: ${e?.message ?? e}. ` +
            `The previous revision keeps serving; the new containers were removed.${problems.length ? " " + problems.join("; ") : ""}`;
        const learned = e instanceof StartError || e instanceof WorldChangedError ? e.learned : nothingLearned();
        if (learnedAnything(learned)) return { why: message, learned };
        throw new ReleaseError(message);
    }
    return undefined;
}

/** Blue-green's last step: the old ones go once the new serve, never below capacity. */
async function retireOld(target: ReleaseTarget, batch: Batch): Promise<void> {
    await target.times.time("capacity guard", () => guardCapacity(target, batch.retireAfter.filter(isServing)));
    await retire(target, batch.retireAfter);
}
