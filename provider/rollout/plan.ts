// Pure release planner: from what runs (actual) and what is wanted (desired) to batches of steps.
// One plan covers create, version change, scale out/in, cordon and repair: containers of the
// wanted revision that serve are kept; the rest are retired; missing ones are started.
import { ContainerState } from "../model";
import { few } from "../progress";
import { emptyLoad, Exclusion, exclusions, NodeLoad, NodeView, place, PlacementRules, staticExclusion, zonesSpanned } from "../schedule/placement";

export interface Placement {
    slot: number;
    node: string;
}

/**
 * A batch: retire `retireBefore` (drain, deregister, stop) to make room, start `start`, wait for health
 * in Docker and in every load balancer, shift traffic, then retire `retireAfter`.
 */
export interface Batch {
    retireBefore: ContainerState[];
    start: Placement[];
    retireAfter: ContainerState[];
}

export interface ReleasePlan {
    keep: ContainerState[];
    batches: Batch[];
    /** Things a reviewer should know (a soft zone spread not met, ...). */
    notes: string[];
    /** Each node's load once the plan has run: where a container refused by its node may go instead. */
    loads: Map<string, NodeLoad>;
}

export interface ZoneSpread {
    count: number;
    mode: "hard" | "soft";
}

export interface PlanInput {
    revision: string;
    replicas: number;
    rules: PlacementRules;
    zones?: ZoneSpread;
    minAvailable: number;
    nodes: NodeView[];
    /** The service's containers, all revisions. */
    containers: ContainerState[];
    /** Host ports held on each node by anything other than this service. */
    foreignHostPorts: Map<string, Set<number>>;
    /** blueGreen: new serve before old go; stopFirst: old go before new start (never two at once). */
    strategy?: "blueGreen" | "stopFirst";
    /** Most new containers one batch starts; default all at once. */
    batchSize?: number;
    /** Share of running containers failing health at once above which nothing is replaced; default 0.5. */
    circuitBreakerShare?: number;
    /** Containers to replace although they serve the wanted revision (e.g. Docker refused an in-place resize). */
    replace?: Set<string>;
}

export class PlanError extends Error {
    constructor(message: string, readonly exclusions: Exclusion[]) {
        super(message + (exclusions.length ? "; " + exclusions.map((e) => `node ${e.node}: ${e.reason}`).join("; ") : ""));
    }
}

export const isServing = (c: ContainerState): boolean => c.state === "running" && (c.health === "healthy" || c.health === "none");

function describe(c: ContainerState): string {
    return `${c.name} on ${c.node}`;
}

export function planRelease(input: PlanInput): ReleasePlan {
    const { rules } = input;
    const usable = new Set(input.nodes.filter((n) => staticExclusion(n, rules) === undefined).map((n) => n.name));
    const keep: ContainerState[] = [];
    const usedSlots = new Set<number>();
    const keptOnNode = new Map<string, number>();
    const current = input.containers
        .filter((c) => c.revision === input.revision && isServing(c) && usable.has(c.node) && !input.replace?.has(c.id))
        .sort((a, b) => a.slot - b.slot);
    for (const c of current) {
        const onNode = keptOnNode.get(c.node) ?? 0;
        if (keep.length < input.replicas && !usedSlots.has(c.slot) && onNode < (rules.maxPerNode ?? Infinity)) {
            keep.push(c);
            usedSlots.add(c.slot);
            keptOnNode.set(c.node, onNode + 1);
        }
    }
    const keptIds = new Set(keep.map((c) => c.id));
    // Scale-in retires the highest slots first so the remaining slots stay 0..n-1.
    const retiring = input.containers.filter((c) => !keptIds.has(c.id)).sort((a, b) => b.slot - a.slot);

    const loads = new Map<string, NodeLoad>();
    for (const n of input.nodes) {
        const load = emptyLoad();
        input.foreignHostPorts.get(n.name)?.forEach((p) => load.hostPorts.add(p));
        loads.set(n.name, load);
    }
    const occupy = (c: ContainerState, delta: 1 | -1) => {
        const load = loads.get(c.node) ?? emptyLoad();
        loads.set(c.node, load);
        load.serviceContainers += delta;
        for (const p of rules.fixedHostPorts) {
            if (delta > 0) load.hostPorts.add(p);
            else load.hostPorts.delete(p);
        }
    };
    // Only running containers hold ports; exited ones are retired first, freeing nothing Docker still holds.
    keep.forEach((c) => occupy(c, 1));
    retiring.filter((c) => c.state === "running").forEach((c) => occupy(c, 1));

    const freeSlots: number[] = [];
    for (let s = 0; freeSlots.length < input.replicas - keep.length; s++) if (!usedSlots.has(s)) freeSlots.push(s);

    // Circuit breaker: when most running containers fail their health checks at once, the cause is
    // rarely the containers (a database, the network); replacing them all would take every backend
    // out at once. Old-revision containers are exempt: a release that fixes them retires them only
    // after the new ones serve.
    const running = input.containers.filter((c) => c.state === "running");
    const failing = running.filter((c) => c.health === "unhealthy" && c.revision === input.revision);
    const share = input.circuitBreakerShare ?? 0.5;
    if (running.length >= 2 && failing.length / running.length > share) {
        throw new PlanError(
            `circuit breaker: ${failing.length} of ${running.length} running containers fail their health checks at once ` +
                `(${failing.map(describe).join(", ")}); not replacing them, since a mass failure is rarely the containers' own. ` +
                `Fix the cause, or raise release.circuitBreakerShare (now ${share}) to replace them anyway`,
            [],
        );
    }

    const batches: Batch[] = [];
    let pendingRetire = [...retiring];
    // Containers that do not serve can go at once: retiring them costs no capacity. A running one
    // of another revision waits for the new ones, in case a load balancer still sends it traffic.
    const idle = pendingRetire.filter((c) => !isServing(c) && (c.state !== "running" || c.revision === input.revision) && !input.replace?.has(c.id));
    if (idle.length > 0) {
        idle.filter((c) => c.state === "running").forEach((c) => occupy(c, -1));
        pendingRetire = pendingRetire.filter((c) => !idle.includes(c));
    }
    let serving = keep.length + pendingRetire.length;
    let firstBatch: Batch | undefined = idle.length ? { retireBefore: idle, start: [], retireAfter: [] } : undefined;

    const stopFirst = input.strategy === "stopFirst";
    while (freeSlots.length > 0) {
        const batch: Batch = firstBatch ?? { retireBefore: [], start: [], retireAfter: [] };
        firstBatch = undefined;
        const want = Math.min(freeSlots.length, input.batchSize ?? freeSlots.length);
        const retireFirst = (count: number) => {
            const chosen = pendingRetire.filter((c) => c.state === "running").slice(0, count);
            chosen.forEach((c) => occupy(c, -1));
            pendingRetire = pendingRetire.filter((c) => !chosen.includes(c));
            serving -= chosen.length;
            batch.retireBefore.push(...chosen);
            return chosen.length;
        };
        if (stopFirst) retireFirst(want);
        let placed = place(want, input.nodes, loads, rules);
        if (placed.nodes.length === 0 && !stopFirst) {
            // No room: retire old containers that hold what the new ones need, keeping minAvailable serving.
            const room = serving - input.minAvailable;
            const blocking = pendingRetire.filter((c) => usable.has(c.node) && c.state === "running");
            if (room <= 0 || blocking.length === 0) {
                throw new PlanError(
                    `cannot place ${freeSlots.length} more container(s) without going below minAvailable=${input.minAvailable} ` +
                        `(serving now: ${serving}; retirable to make room: ${blocking.map(describe).join(", ") || "none"})`,
                    placed.exclusions,
                );
            }
            pendingRetire = [...blocking, ...pendingRetire.filter((c) => !blocking.includes(c))];
            placed = place(retireFirst(Math.min(room, want)), input.nodes, loads, rules);
        }
        if (placed.nodes.length === 0) throw new PlanError(`no node can take slot ${freeSlots[0]}`, placed.exclusions);
        batch.start = placed.nodes.map((node) => ({ slot: freeSlots.shift() as number, node }));
        serving += batch.start.length;
        // Blue-green: as many old go as new came, once the new serve, so capacity stays level.
        const retireAfter = pendingRetire.slice(0, Math.max(0, batch.start.length - batch.retireBefore.length));
        pendingRetire = pendingRetire.filter((c) => !retireAfter.includes(c));
        serving -= retireAfter.length;
        batch.retireAfter.push(...retireAfter);
        batches.push(batch);
    }
    if (firstBatch) batches.push(firstBatch);
    if (pendingRetire.length > 0) {
        if (batches.length > 0) batches[batches.length - 1].retireAfter.push(...pendingRetire);
        else batches.push({ retireBefore: [], start: [], retireAfter: pendingRetire });
    }
    return { keep, batches, loads, notes: zoneNotes(input, [...keep.map((c) => c.node), ...batches.flatMap((b) => b.start.map((p) => p.node))]) };
}

/** Checks the zone spread of where the containers end up: hard fails the plan, soft says so. */
function zoneNotes(input: PlanInput, nodes: string[]): string[] {
    if (!input.zones || input.replicas === 0) return [];
    const wanted = Math.min(input.zones.count, input.replicas);
    const spanned = zonesSpanned(input.nodes, nodes);
    if (spanned.length >= wanted) return [];
    const message = `containers span ${spanned.length} zone(s) (${spanned.join(", ")}), fewer than zones.count=${input.zones.count}`;
    if (input.zones.mode === "hard") {
        throw new PlanError(`${message} (mode hard)`, exclusions(input.nodes, new Map(), input.rules));
    }
    return [`${message}: best effort (mode soft)`];
}

export function describeBatch(b: Batch, index: number, total: number): string {
    const parts: string[] = [];
    if (b.retireBefore.length) parts.push(`retire first ${few(b.retireBefore.map(describe))}`);
    if (b.start.length) parts.push(`start ${few(b.start.map((p) => `slot ${p.slot} on ${p.node}`))}`);
    if (b.retireAfter.length) parts.push(`then retire ${few(b.retireAfter.map(describe))}`);
    return `batch ${index + 1}/${total}: ${parts.join("; ") || "nothing to do"}`;
}
