// Pure release planner: from what runs (actual) and what is wanted (desired) to batches of steps.
// One plan covers create, version change, scale out/in, cordon and repair: containers of the
// wanted revision that serve are kept; the rest are retired; missing ones are started.
import { ContainerState, ReleaseStrategy, ZoneSpreadMode } from "../model";
import { few } from "../progress";
import {
    emptyLoad,
    Exclusion,
    exclusions,
    NodeLoad,
    NodeView,
    place,
    PlacementResult,
    PlacementRules,
    staticExclusion,
    zonesSpanned,
} from "../schedule/placement";

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
    /** Fewest containers serving at any point of the plan (Infinity when nothing is started). */
    lowestServing: number;
    /** minAvailable as the plan keeps it: never more than serve now. */
    minAvailable: number;
}

export interface ZoneSpread {
    count: number;
    mode: ZoneSpreadMode;
}

export interface PlanInput {
    revision: string;
    replicas: number;
    rules: PlacementRules;
    zones?: ZoneSpread;
    /** Fewest containers that must serve during the release; judged against what serves now (never more). */
    minAvailable: number;
    nodes: NodeView[];
    /** The service's containers, all revisions. */
    containers: ContainerState[];
    /** Host ports held on each node by anything other than this service, and who holds each. */
    foreignHostPorts: Map<string, Map<number, string>>;
    /** blueGreen: new serve before old go; stopFirst: old go before new start (never two at once). */
    strategy?: ReleaseStrategy;
    /** Most new containers one batch starts; default all at once. */
    batchSize?: number;
    /** Share of running containers failing health at once above which nothing is replaced; default 0.5. */
    circuitBreakerShare?: number;
    /** Containers to replace although they serve the wanted revision (e.g. Docker refused an in-place resize). */
    replace?: Set<string>;
}

export class PlanError extends Error {
    /** `property`: the input a preview names for this failure. */
    constructor(
        message: string,
        readonly exclusions: Exclusion[],
        readonly property = "replicas",
    ) {
        super(message + (exclusions.length ? "; " + exclusions.map((e) => `node ${e.node}: ${e.reason}`).join("; ") : ""));
    }
}

export const isServing = (c: ContainerState): boolean => c.state === "running" && (c.health === "healthy" || c.health === "none");

/** A container as progress lines and the preview name it. */
export function describe(c: ContainerState): string {
    return `${c.name} on ${c.node}`;
}

/** The planner's working state: what each step reads and moves forward. */
interface Planning {
    input: PlanInput;
    /** Nodes that may take this service at all (reachable, schedulable, constraints, affinity). */
    usable: Set<string>;
    keep: ContainerState[];
    /** Containers still to retire, in the order they go. */
    pending: ContainerState[];
    loads: Map<string, NodeLoad>;
    freeSlots: number[];
    /** How many serve before the release, and at this point of the plan. */
    servingNow: number;
    serving: number;
    /** minAvailable judged against what serves now. */
    floor: number;
    lowest: number;
    batches: Batch[];
}

export function planRelease(input: PlanInput): ReleasePlan {
    checkCircuitBreaker(input);
    const p = observe(input);
    let idle = retireIdle(p);
    while (p.freeSlots.length > 0) {
        // The first batch also retires the idle containers.
        const batch = idle ?? { retireBefore: [], start: [], retireAfter: [] };
        idle = undefined;
        startBatch(p, batch);
        p.batches.push(batch);
    }
    if (idle) p.batches.push(idle);
    retireRest(p);
    const ending = [...p.keep.map((c) => c.node), ...p.batches.flatMap((b) => b.start.map((s) => s.node))];
    return {
        keep: p.keep,
        batches: p.batches,
        loads: p.loads,
        lowestServing: p.lowest,
        minAvailable: p.floor,
        notes: [...zoneNotes(input, ending), ...floorNotes(p)],
    };
}

/** Circuit breaker: when most running containers fail their health checks at once, the cause is
 * rarely the containers (a database, the network); replacing them all would take every backend
 * out at once. Old-revision containers are exempt: a release that fixes them retires them only
 * after the new ones serve. */
function checkCircuitBreaker(input: PlanInput): void {
    const running = input.containers.filter((c) => c.state === "running");
    const failing = running.filter((c) => c.health === "unhealthy" && c.revision === input.revision);
    const share = input.circuitBreakerShare ?? 0.5;
    if (running.length >= 2 && failing.length / running.length > share) {
        throw new PlanError(
            `circuit breaker: ${failing.length} of ${running.length} running containers fail their health checks at once ` +
                `(${failing.map(describe).join(", ")}); not replacing them, since a mass failure is rarely the containers' own. ` +
                `Fix the cause, or raise release.circuitBreakerShare (now ${share}) to replace them anyway`,
            [],
            "release.circuitBreakerShare",
        );
    }
}

/** What runs: the containers kept, those to retire, each node's load, the slots to fill. */
function observe(input: PlanInput): Planning {
    const { rules } = input;
    const usable = new Set(input.nodes.filter((n) => staticExclusion(n, rules) === undefined).map((n) => n.name));
    const keep = chooseKept(input, usable);
    const keptIds = new Set(keep.map((c) => c.id));
    // Scale-in retires the highest slots first so the remaining slots stay 0..n-1.
    const pending = input.containers.filter((c) => !keptIds.has(c.id)).sort((a, b) => b.slot - a.slot);
    const loads = new Map<string, NodeLoad>();
    for (const n of input.nodes) {
        const foreign = input.foreignHostPorts.get(n.name) ?? new Map<number, string>();
        loads.set(n.name, { ...emptyLoad(), hostPorts: new Set(foreign.keys()), holders: new Map(foreign) });
    }
    const usedSlots = new Set(keep.map((c) => c.slot));
    const freeSlots: number[] = [];
    for (let s = 0; freeSlots.length < input.replicas - keep.length; s++) if (!usedSlots.has(s)) freeSlots.push(s);
    const servingNow = input.containers.filter(isServing).length;
    const p: Planning = {
        input,
        usable,
        keep,
        pending,
        loads,
        freeSlots,
        servingNow,
        serving: servingNow,
        floor: Math.min(input.minAvailable, servingNow),
        lowest: Infinity,
        batches: [],
    };
    // Only running containers hold ports and count on their node.
    keep.forEach((c) => occupy(p, c, 1));
    pending.filter((c) => c.state === "running").forEach((c) => occupy(p, c, 1));
    return p;
}

/** Containers of the wanted revision that serve on a usable node, one per slot, within maxPerNode and replicas. */
function chooseKept(input: PlanInput, usable: Set<string>): ContainerState[] {
    const keep: ContainerState[] = [];
    const slots = new Set<number>();
    const onNode = new Map<string, number>();
    const current = input.containers
        .filter((c) => c.revision === input.revision && isServing(c) && usable.has(c.node) && !input.replace?.has(c.id))
        .sort((a, b) => a.slot - b.slot);
    for (const c of current) {
        const count = onNode.get(c.node) ?? 0;
        if (keep.length < input.replicas && !slots.has(c.slot) && count < (input.rules.maxPerNode ?? Infinity)) {
            keep.push(c);
            slots.add(c.slot);
            onNode.set(c.node, count + 1);
        }
    }
    return keep;
}

/** A running container's share of its node: one container, and its fixed host ports (unless something else holds them too). */
function occupy(p: Planning, c: ContainerState, delta: 1 | -1): void {
    const load = p.loads.get(c.node) ?? emptyLoad();
    p.loads.set(c.node, load);
    load.serviceContainers += delta;
    for (const port of p.input.rules.fixedHostPorts) {
        if (delta > 0) load.hostPorts.add(port);
        else if (!load.holders?.has(port)) load.hostPorts.delete(port);
    }
}

/**
 * Containers that do not serve can go at once: retiring them costs no capacity. A running one of
 * another revision waits for the new ones, in case a load balancer still sends it traffic.
 */
function retireIdle(p: Planning): Batch | undefined {
    const { input } = p;
    const idle = p.pending.filter((c) => !isServing(c) && (c.state !== "running" || c.revision === input.revision) && !input.replace?.has(c.id));
    if (idle.length === 0) return undefined;
    idle.filter((c) => c.state === "running").forEach((c) => occupy(p, c, -1));
    p.pending = p.pending.filter((c) => !idle.includes(c));
    return { retireBefore: idle, start: [], retireAfter: [] };
}

/** Retires `chosen` before the batch starts anything: capacity drops until the new ones serve. */
function retireFirst(p: Planning, batch: Batch, chosen: ContainerState[]): void {
    chosen.forEach((c) => occupy(p, c, -1));
    p.pending = p.pending.filter((c) => !chosen.includes(c));
    p.serving -= chosen.filter(isServing).length;
    batch.retireBefore.push(...chosen);
}

/** One batch: place what fits (making room in place when nothing fits), then retire as many old as started. */
function startBatch(p: Planning, batch: Batch): void {
    const { input } = p;
    const want = Math.min(p.freeSlots.length, input.batchSize ?? p.freeSlots.length);
    if (input.strategy === "stopFirst") retireFirst(p, batch, p.pending.filter((c) => c.state === "running").slice(0, want));
    let placed = place(want, input.nodes, p.loads, input.rules);
    if (placed.nodes.length === 0 && input.strategy !== "stopFirst") placed = replaceInPlace(p, batch, want);
    if (placed.nodes.length === 0) throw new PlanError(`no node can take slot ${p.freeSlots[0]}`, placed.exclusions);
    p.lowest = Math.min(p.lowest, p.serving);
    batch.start = placed.nodes.map((node) => ({ slot: takeSlot(p, batch, node), node }));
    p.serving += batch.start.length;
    retireAfterStart(p, batch);
}

/** The slot of the container this one replaces in place, when it is free; else the lowest free slot. */
function takeSlot(p: Planning, batch: Batch, node: string): number {
    const own = batch.retireBefore.find((c) => c.node === node && p.freeSlots.includes(c.slot));
    const slot = own?.slot ?? p.freeSlots[0];
    p.freeSlots = p.freeSlots.filter((s) => s !== slot);
    return slot;
}

/** A retiring container whose node could take a new one once it is gone. */
function freesItsNode(p: Planning, c: ContainerState): boolean {
    if (c.state !== "running" || !p.usable.has(c.node)) return false;
    const load = p.loads.get(c.node)!;
    const fixed = new Set(p.input.rules.fixedHostPorts);
    const after = {
        ...load,
        serviceContainers: load.serviceContainers - 1,
        hostPorts: new Set([...load.hostPorts].filter((port) => !fixed.has(port) || load.holders?.has(port))),
    };
    return (
        exclusions(
            p.input.nodes.filter((n) => n.name === c.node),
            new Map([[c.node, after]]),
            p.input.rules,
        ).length === 0
    );
}

/**
 * No node has room: retire old containers whose nodes would take the new ones (in place), as many
 * as minAvailable allows. Fails, naming every node and why, when none can go.
 */
function replaceInPlace(p: Planning, batch: Batch, want: number): PlacementResult {
    const room = p.serving - p.floor;
    const blocking = p.pending.filter((c) => freesItsNode(p, c));
    if (room <= 0 || blocking.length === 0) {
        throw new PlanError(
            `cannot place ${p.freeSlots.length} more container(s) without going below minAvailable=${p.floor} ` +
                `(serving now: ${p.serving}; replaceable in place: ${blocking.map(describe).join(", ") || "none"})`,
            exclusions(p.input.nodes, p.loads, p.input.rules),
        );
    }
    const chosen = blocking.slice(0, Math.min(room, want));
    retireFirst(p, batch, chosen);
    return place(chosen.length, p.input.nodes, p.loads, p.input.rules);
}

/** Blue-green: as many old go as new came, once the new serve, so capacity stays level; their nodes free up for the next batch. */
function retireAfterStart(p: Planning, batch: Batch): void {
    const count = Math.max(0, batch.start.length - batch.retireBefore.length);
    const chosen = [...p.pending.filter((c) => freesItsNode(p, c)), ...p.pending.filter((c) => !freesItsNode(p, c))].slice(0, count);
    chosen.filter((c) => c.state === "running").forEach((c) => occupy(p, c, -1));
    p.pending = p.pending.filter((c) => !chosen.includes(c));
    p.serving -= chosen.filter(isServing).length;
    batch.retireAfter.push(...chosen);
}

/** Whatever is left to retire goes after the last batch. */
function retireRest(p: Planning): void {
    if (p.pending.length === 0) return;
    if (p.batches.length > 0) p.batches[p.batches.length - 1].retireAfter.push(...p.pending);
    else p.batches.push({ retireBefore: [], start: [], retireAfter: p.pending });
    p.pending = [];
}

/** A minAvailable above what serves now, which the plan cannot keep (the lowest count serving is `lowestServing`). */
function floorNotes(p: Planning): string[] {
    return p.floor < p.input.minAvailable && p.servingNow > 0
        ? [`minAvailable=${p.input.minAvailable} is more than serve now; judged against the ${p.floor} that do`]
        : [];
}

/** Checks the zone spread of where the containers end up: hard fails the plan, soft says so. */
function zoneNotes(input: PlanInput, nodes: string[]): string[] {
    if (!input.zones || input.replicas === 0) return [];
    const wanted = input.zones.count;
    const spanned = zonesSpanned(input.nodes, nodes);
    if (spanned.length >= wanted) return [];
    const message = `containers span ${spanned.length} zone(s) (${spanned.join(", ")}), fewer than zones.count=${input.zones.count}`;
    if (input.zones.mode === "hard") {
        throw new PlanError(`${message} (mode hard)`, exclusions(input.nodes, new Map(), input.rules), "placement.zones");
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
