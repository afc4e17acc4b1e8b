// Service: containers of one image on a cluster's nodes, serving through its SLB bindings.
// Every create/update is one reconcile: read what really runs (Docker and every load balancer),
// plan batches, run them with health gates, drain and rollback.
import type * as pulumi from "@pulumi/pulumi";
import { ContainerLimits, ContainerSpec, HostClient, RunningContainer } from "../docker/host";
import { dockerHealthcheck } from "../docker/health";
import { canonicalJson, revisionOf, specHash } from "../canonical";
import { containerName, containerNamePattern, LABEL, mintOwnerId, ownerLabels } from "../docker/labels";
import { lookupDigest, prePull, resolveDigest } from "../docker/pull";
import { versionOf } from "../registry/reference";
import {
    BackendState,
    ContainerState,
    DEFAULTS,
    NodeSpec,
    PlanCounts,
    ServiceArgs,
    ServiceBinding,
    ServiceState,
    lbRiseSeconds,
    slbRefOf,
} from "../model";
import { DAEMON_CONCURRENCY, mapLimited } from "../limit";
import { few, Progress, progressFor, warnFor } from "../progress";
import {
    BoundSlb,
    drain,
    nothingLearned,
    RefusedResize,
    ReleaseTarget,
    registerAndShift,
    retire,
    runBatches,
    WorldChangedError,
} from "../rollout/execute";
import { deregister } from "../rollout/shift";
import { BindingView, describePlan } from "../rollout/describe";
import { describe, isServing, PlanInput, PlanError, ReleasePlan } from "../rollout/plan";
import { BindingNow, countsOf, doesWork, isOrphan, keptToFix, liveNames, planService, ServicePlan } from "../rollout/servicePlan";
import { NodeView, parseAffinity, parseConstraint, PlacementRules, staticExclusion } from "../schedule/placement";
import { Failure, formatFailures, holdsUnknown, isUnknown, validatePlacement, validateService } from "../validate";
import { changedInputs, containerDefinition, describeChange, replacedInputs, SERVICE_CHANGES, SERVICE_FIELDS } from "../changes";
import { storedProviderChanged } from "./storedProvider";
import { driverFor, hostsFor, nodeViews, reachOf } from "./world";
import { OutOfReachError, reachVerdict } from "../reach";

/** Limits Docker changes in place: not part of the revision, so changing them starts no release. */
export function limitsOf(args: ServiceArgs): ContainerLimits {
    const policy = args.restartPolicy ?? { name: "unless-stopped" };
    return {
        nanoCpus: args.cpus ? Math.round(args.cpus * 1e9) : undefined,
        memoryBytes: args.memoryMb ? args.memoryMb * 1024 * 1024 : undefined,
        restartPolicy: { Name: policy.name, MaximumRetryCount: policy.name === "on-failure" ? policy.maxAttempts : undefined },
    };
}

const describeLimits = (l: ContainerLimits) =>
    `cpus ${l.nanoCpus ? l.nanoCpus / 1e9 : "unlimited"}, memory ${l.memoryBytes ? `${l.memoryBytes / 1048576} MiB` : "unlimited"}, restart ${l.restartPolicy.Name}${l.restartPolicy.MaximumRetryCount ? `:${l.restartPolicy.MaximumRetryCount}` : ""}`;

/** Containers whose cpu, memory or restart policy differ from the inputs, with what they have now. */
async function limitsNow(
    hosts: Map<string, HostClient>,
    containers: ContainerState[],
    wanted: ContainerLimits,
): Promise<Map<string, ContainerLimits>> {
    const differ = new Map<string, ContainerLimits>();
    await mapLimited(
        containers,
        async (c) => {
            const current = (await hosts.get(c.node)!.inspect(c.id)).limits;
            if (canonicalJson(current) !== canonicalJson(wanted)) differ.set(c.id, current);
        },
        DAEMON_CONCURRENCY * hosts.size,
    );
    return differ;
}

/**
 * The plan's in-place changes of cpu, memory and restart policy. Containers whose engine refuses are
 * learned: the next plan replaces them.
 */
async function resizeInPlace(
    hosts: Map<string, HostClient>,
    plan: ServicePlan,
    wanted: ContainerLimits,
    current: Map<string, ContainerLimits>,
    progress: Progress,
): Promise<void> {
    const refused: RefusedResize[] = [];
    for (const c of plan.resize) {
        try {
            await hosts.get(c.node)!.resize(c.id, wanted);
            progress(`resized ${c.name} on ${c.node} in place (no restart): ${describeLimits(current.get(c.id)!)} -> ${describeLimits(wanted)}`);
        } catch (e: any) {
            refused.push({ container: c, reason: String(e?.json?.message ?? e?.message ?? e).trim() });
        }
    }
    if (refused.length)
        throw new WorldChangedError(`Docker refused to resize ${few(refused.map((r) => r.container.name))} in place`, {
            ...nothingLearned(),
            refusedResizes: refused,
        });
}

/** The part of a binding the service needs (check keeps only this in the inputs); the rest is the listener's. */
function bindingRef(b: ServiceBinding): ServiceBinding {
    if (isUnknown(b) || isUnknown(b.slb) || typeof b.slb !== "object") return b;
    return { ...b, slb: slbRefOf(b.slb) };
}

function boundSlbs(args: ServiceArgs): BoundSlb[] {
    const firstPort = args.ports?.[0]?.containerPort ?? 80;
    return (args.bindings ?? []).map((b) => ({
        pool: b.slb.name,
        driver: driverFor(b.slb, args.cluster.nodes),
        weight: b.weight ?? DEFAULTS.weight,
        containerPort: b.containerPort ?? firstPort,
    }));
}

/** The labels that pick out the containers of this service name on a host, whichever stack owns them. */
const selectorOf = (args: ServiceArgs) => ({ [LABEL.service]: args.name, [LABEL.cluster]: args.cluster.name });

/**
 * Whom a Service resource acts for: its stack and the owner id minted at its create. It also owns the
 * containers of its last state made before owners (no labels say whose they are; the state does).
 */
export interface Owner {
    stack?: string;
    id: string;
    adopted: Set<string>;
}

export function ownerFrom(args: Pick<ServiceArgs, "stack">, ownerId: string | undefined, lastContainers: ContainerState[] = []): Owner {
    return { stack: args.stack, id: ownerId ?? mintOwnerId(), adopted: new Set(lastContainers.filter((c) => !c.owner).map((c) => c.id)) };
}

/**
 * A container of this service name is the resource's own, a predecessor's (the same stack's, of another
 * owner: the resource this one replaces), or another stack's, which it never changes.
 */
export function ownership(owner: Owner, c: Pick<ContainerState, "id" | "stack" | "owner">): "own" | "predecessor" | "foreign" {
    if (c.owner === owner.id || (!c.owner && !c.stack && owner.adopted.has(c.id))) return "own";
    if (c.owner && owner.stack !== undefined && c.stack === owner.stack) return "predecessor";
    return "foreign";
}

/** The resource's containers of this service; with `predecessors`, also those of the resource it replaces (a release takes them over). */
async function listContainers(
    args: ServiceArgs,
    owner: Owner,
    hosts: Map<string, HostClient>,
    reachable: Set<string>,
    predecessors = false,
): Promise<ContainerState[]> {
    const lists = await Promise.all([...hosts.values()].filter((h) => reachable.has(h.node)).map((h) => h.list(selectorOf(args))));
    return lists.flat().filter((c) => {
        const whose = ownership(owner, c);
        return whose === "own" || (predecessors && whose === "predecessor");
    });
}

/**
 * What the executor needs to drain, deregister and stop this service's containers. Starting new
 * ones needs more (container spec, placement rules, minAvailable): reconcile adds those.
 */
function retireTarget(
    args: ServiceArgs,
    nodes: NodeSpec[],
    hosts: Map<string, HostClient>,
    views: NodeView[],
    progress: (l: string) => void,
): ReleaseTarget {
    const release = args.release ?? {};
    return {
        service: args.name,
        selector: selectorOf(args),
        hosts,
        addresses: new Map(nodes.map((n) => [n.name, n.address])),
        nodes: views,
        slbs: boundSlbs(args),
        containerSpec: () => {
            throw new Error("retiring starts no container");
        },
        rules: { fixedHostPorts: [] },
        healthyTimeoutSeconds: release.healthyTimeoutSeconds ?? DEFAULTS.healthyTimeoutSeconds,
        lbHealthyTimeoutSeconds: release.lbHealthyTimeoutSeconds ?? DEFAULTS.lbHealthyTimeoutSeconds,
        drainTimeoutSeconds: release.drainTimeoutSeconds ?? DEFAULTS.drainTimeoutSeconds,
        stopGracePeriodSeconds: args.stopGracePeriodSeconds ?? DEFAULTS.stopGracePeriodSeconds,
        pauseSeconds: 0,
        minAvailable: 0,
        progress,
    };
}

/** Backends of this service name: of the given owner (and made before owners), or without one, all the stack's binding holds. */
async function listBackends(args: ServiceArgs, slbs: BoundSlb[], owner?: Owner): Promise<Record<string, BackendState[]>> {
    const own = containerNamePattern(args.name, owner?.id);
    const result: Record<string, BackendState[]> = {};
    for (const slb of slbs) {
        result[slb.pool] = (await slb.driver.backends(slb.pool))
            .filter((b) => own.test(b.name))
            .map((b) => ({ name: b.name, address: b.address, port: b.port, weight: b.weight }));
    }
    return result;
}

/** Placement rules from the inputs; affinity is judged from the services that really run on each node. */
export function placementRules(args: ServiceArgs, servicesOnNode: Map<string, Set<string>>): PlacementRules {
    const p = args.placement ?? {};
    return {
        fixedHostPorts: (args.ports ?? []).flatMap((port) => (port.hostPort ? [port.hostPort] : [])),
        constraints: (p.constraints ?? []).map(parseConstraint),
        affinity: (p.affinity ?? []).map(parseAffinity),
        maxPerNode: args.mode === "global" ? 1 : p.maxPerNode,
        servicesOnNode,
    };
}

/** The nodes a reconcile works on, and which of them answer now. */
interface Nodes {
    specs: NodeSpec[];
    hosts: Map<string, HostClient>;
    views: NodeView[];
    reachable: Set<string>;
}

/** What one pass sees on the nodes: the service's containers, and what else holds ports or runs beside it. */
interface Observed {
    nodes: Nodes;
    /** The resource's containers and its predecessor's. */
    containers: ContainerState[];
    /** Ids of the predecessor's containers: replaced whatever revision they run, as its delete removes them. */
    predecessors: Set<string>;
    foreignHostPorts: Map<string, Map<number, string>>;
    servicesOnNode: Map<string, Set<string>>;
}

/** The service's revision: the image pinned to a digest and everything that makes a container what it is. */
interface Revision {
    imageDigest: string;
    hash: string;
    revision: string;
}

/** Most passes of observe, plan, run in one reconcile: each pass after the first learned something new. */
const MAX_PASSES = 5;

/** One reconcile: what runs (Docker, every load balancer) brought to what the inputs ask for. Returns the new state. */
async function reconcile(args: ServiceArgs, owner: Owner, previous: ServiceState | undefined): Promise<ServiceState> {
    const progress = progressFor(args.name);
    const specs = nodesOf(args, previous, progress);
    const hosts = hostsFor(specs, args.registries);
    const left = slbsLeft(args, previous);
    // Nothing changes when a load balancer or every schedulable node is out of reach (reach.ts).
    const verdict = reachVerdict("act", await reachOf("act", specs, hosts, [...boundSlbs(args), ...left]));
    if (verdict.kind === "fail") throw new OutOfReachError(verdict.reason);
    const first = await observe(args, owner, specs, hosts, new Map(), progress);
    const rev = await revisionFor(args, previous, first.nodes, progress);
    const target: ReleaseTarget = {
        ...retireTarget(args, specs, hosts, first.nodes.views, progress),
        containerSpec: containerSpecFor(args, owner, rev),
        pauseSeconds: args.release?.pauseSeconds ?? 0,
    };
    const report = await releaseUntilDone(args, owner, rev, target, left, first, progress);
    const { reachable } = await nodeViews(specs, hosts);
    const after = await listContainers(args, owner, hosts, reachable);
    return {
        ...withoutCredentials(args),
        ownerId: owner.id,
        imageDigest: rev.imageDigest,
        revision: rev.revision,
        containers: after,
        backends: await listBackends(args, target.slbs, owner),
        lastRelease: report,
    };
}

/** The cluster's nodes, plus those that left it: drained like cordoned ones before berth forgets them. */
function nodesOf(args: ServiceArgs, previous: ServiceState | undefined, progress: (l: string) => void): NodeSpec[] {
    const leaving = (previous?.cluster.nodes ?? []).filter((n) => !args.cluster.nodes.some((m) => m.name === n.name));
    for (const n of leaving) progress(`node ${n.name} left the cluster: moving its containers off it`);
    return [...args.cluster.nodes, ...leaving.map((n) => ({ ...n, schedulable: false }))];
}

/** Asks every node what runs: the service's containers, ports held by anything else (and what was learned to be held), services beside it. */
async function observe(
    args: ServiceArgs,
    owner: Owner,
    specs: NodeSpec[],
    hosts: Map<string, HostClient>,
    held: Map<string, Map<number, string>>,
    progress: (l: string) => void,
): Promise<Observed> {
    const { views, reachable, errors } = await nodeViews(specs, hosts);
    for (const [node, error] of errors) progress(`node ${node} does not answer, leaving it out: ${error}`);
    const foreignHostPorts = new Map<string, Map<number, string>>();
    const servicesOnNode = new Map<string, Set<string>>();
    await Promise.all(
        [...reachable].map(async (node) => {
            // What other stacks own counts for host ports; affinity is to the same stack's services.
            const others = (await hosts.get(node)!.running()).filter((r) => r.service !== args.name || ownership(owner, r) === "foreign");
            const ports = new Map(held.get(node) ?? []);
            for (const r of others) for (const port of r.ports) ports.set(port, holderOf(r, owner));
            foreignHostPorts.set(node, ports);
            servicesOnNode.set(node, new Set(others.flatMap((r) => (r.service && (!r.stack || r.stack === owner.stack) ? [r.service] : []))));
        }),
    );
    const nodes = { specs, hosts, views, reachable };
    const containers = await listContainers(args, owner, hosts, reachable, true);
    const predecessors = new Set(containers.filter((c) => ownership(owner, c) === "predecessor").map((c) => c.id));
    for (const c of containers.filter((c) => predecessors.has(c.id)))
        progress(`${c.name} on ${c.node} belongs to the resource this one replaces (owner ${c.owner}): the release replaces it`);
    return { nodes, containers, predecessors, foreignHostPorts, servicesOnNode };
}

const holderOf = (r: RunningContainer, owner: Owner) =>
    !r.service
        ? "a container berth does not manage"
        : `a container of service ${r.service}${r.stack && r.stack !== owner.stack ? ` of stack ${r.stack}` : ""}`;

/** An unchanged tag keeps the digest it was last resolved to: a moved tag is not a release until the image input changes. */
const keptDigest = (previous: Partial<ServiceArgs> | undefined, args: ServiceArgs): string | undefined =>
    previous && previous.image === args.image && !args.image.includes("@") ? previous.imageDigest : undefined;

/** The digest the preview showed (check resolved it); else the last release's for an unchanged tag; else resolved now. */
async function revisionFor(args: ServiceArgs, previous: ServiceState | undefined, nodes: Nodes, progress: (l: string) => void): Promise<Revision> {
    const usableHosts = nodes.views.filter((v) => v.reachable && v.schedulable).map((v) => nodes.hosts.get(v.name)!);
    const imageDigest = args.imageDigest ?? keptDigest(previous, args) ?? (await resolveDigest(args.image, args.registries, usableHosts, progress));
    return revisionWith(args, imageDigest);
}

function revisionWith(args: ServiceArgs, imageDigest: string): Revision {
    const hash = specHash(containerDefinition(args, imageDigest));
    return { imageDigest, hash, revision: revisionOf(hash) };
}

function containerSpecFor(args: ServiceArgs, owner: Owner, rev: Revision): (slot: number) => ContainerSpec {
    return (slot) => ({
        name: containerName(args.name, owner.id, slot, rev.revision),
        image: rev.imageDigest,
        env: args.env ?? {},
        command: args.command,
        labels: {
            [LABEL.managed]: "true",
            [LABEL.cluster]: args.cluster.name,
            [LABEL.service]: args.name,
            [LABEL.revision]: rev.revision,
            [LABEL.slot]: String(slot),
            [LABEL.specHash]: rev.hash,
            [LABEL.version]: versionOf(args.image),
            ...ownerLabels(owner.stack, owner.id),
        },
        ports: (args.ports ?? []).map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort ?? 0 })),
        healthcheck: dockerHealthcheck(args.healthCheck, args.ports?.[0]?.containerPort),
        limits: limitsOf(args),
        diskQuotaMb: args.diskQuotaMb,
        stopGracePeriodSeconds: args.stopGracePeriodSeconds ?? DEFAULTS.stopGracePeriodSeconds,
    });
}

/** What a pass learned, kept across passes: each plan after the first is made with all of it. */
interface Knowledge {
    /** Host ports found held on each node, and by whom. */
    held: Map<string, Map<number, string>>;
    /** Containers to replace whatever revision they run (the predecessor's, those Docker would not resize). */
    replace: Set<string>;
}

/**
 * Observe, plan, run; when a step teaches that the world differs from what was observed (a host
 * port held outside Docker, a node gone, a resize refused), plan again with that knowledge, within
 * the same run. Only this loop decides to re-plan.
 */
async function releaseUntilDone(
    args: ServiceArgs,
    owner: Owner,
    rev: Revision,
    target: ReleaseTarget,
    left: BoundSlb[],
    first: Observed,
    progress: Progress,
): Promise<string[]> {
    const known: Knowledge = { held: new Map(), replace: new Set() };
    const report: string[] = [];
    let seen = first;
    for (let pass = 1; ; pass++) {
        try {
            return [...report, ...(await releasePass(args, rev, target, left, seen, known, progress))];
        } catch (e) {
            if (!(e instanceof WorldChangedError) || pass >= MAX_PASSES || !learnNew(known, e, seen)) throw e;
            const line = `re-planning with what the release learned: ${describeLearned(e)}`;
            progress(line);
            report.push(line);
            seen = await observe(args, owner, seen.nodes.specs, seen.nodes.hosts, known.held, progress);
        }
    }
}

/** Adds what a failed step learned; false when it is nothing the last plan did not know. */
function learnNew(known: Knowledge, e: WorldChangedError, seen: Observed): boolean {
    let fresh = e.learned.lostNodes.some((n) => seen.nodes.reachable.has(n));
    for (const h of e.learned.heldPorts) {
        const ports = known.held.get(h.node) ?? new Map<number, string>();
        if (!ports.has(h.port) && !seen.foreignHostPorts.get(h.node)?.has(h.port)) fresh = true;
        known.held.set(h.node, ports.set(h.port, h.holder));
    }
    for (const r of e.learned.refusedResizes) {
        if (!known.replace.has(r.container.id)) fresh = true;
        known.replace.add(r.container.id);
    }
    return fresh;
}

const describeLearned = (e: WorldChangedError) =>
    [
        ...e.learned.heldPorts.map((h) => `node ${h.node}: host port ${h.port} is held by ${h.holder}`),
        ...e.learned.lostNodes.map((n) => `node ${n}: its Docker stopped answering`),
        ...e.learned.refusedResizes.map((r) => `${describe(r.container)}: Docker refused to resize it in place (${r.reason}), replacing it`),
    ].join("; ");

/** What the planner takes, from the inputs and what one pass observed: the same for preview and up. */
function planInputFor(args: ServiceArgs, rev: Revision, seen: Observed, replace: Set<string>): PlanInput {
    const { views } = seen.nodes;
    const rules = placementRules(args, seen.servicesOnNode);
    const replicas =
        args.mode === "global" ? views.filter((v) => staticExclusion(v, rules) === undefined).length : (args.replicas ?? DEFAULTS.replicas);
    const release = args.release ?? {};
    return {
        replace,
        revision: rev.revision,
        replicas,
        rules,
        zones: args.placement?.zones ? { count: args.placement.zones.count, mode: args.placement.zones.mode ?? "hard" } : undefined,
        minAvailable: release.minAvailable ?? Math.max(0, replicas - 1),
        nodes: views,
        containers: seen.containers,
        foreignHostPorts: seen.foreignHostPorts,
        strategy: release.strategy,
        batchSize: release.batchSize,
        circuitBreakerShare: release.circuitBreakerShare,
    };
}

/** The plan, and what its steps need beyond it. */
interface Planned {
    input: PlanInput;
    plan: ServicePlan;
    /** Each binding as the plan read it, and those the service leaves. */
    bindings: BindingNow[];
    leaving: BindingNow[];
    /** The limits of containers to resize, before the resize. */
    limits: Map<string, ContainerLimits>;
}

/**
 * The one plan of a pass, from what it observed, the bindings' backends (read once) and the kept
 * containers' limits: preview describes it, up runs it. A fact that cannot be read fails the
 * plan, naming the input it belongs to.
 */
async function planFor(args: ServiceArgs, rev: Revision, seen: Observed, slbs: BoundSlb[], left: BoundSlb[], known: Knowledge): Promise<Planned> {
    const { hosts, reachable, specs } = seen.nodes;
    await reading("diskQuotaMb", () => checkDiskQuota(args, hosts, reachable));
    const replace = new Set([...seen.predecessors, ...known.replace]);
    const candidates = seen.containers.filter((c) => c.revision === rev.revision && isServing(c) && !replace.has(c.id));
    const limits = await reading("cluster", () => limitsNow(hosts, candidates, limitsOf(args)));
    const backends = await reading("bindings", () => listBackends(args, [...slbs, ...left]));
    const now = (slb: BoundSlb): BindingNow => ({ pool: slb.pool, weight: slb.weight, backends: backends[slb.pool] });
    const addresses = new Map(specs.map((n) => [n.name, n.address]));
    const input = planInputFor(args, rev, seen, replace);
    const bindings = slbs.map(now);
    const leaving = left.map(now);
    const plan = planService({
        release: input,
        bindings,
        leaving,
        backendOf: (c, pool) => {
            const port = c.hostPorts[String(slbs.find((s) => s.pool === pool)!.containerPort)];
            return port ? { address: addresses.get(c.node)!, port } : undefined;
        },
        limitsDiffer: new Set(limits.keys()),
        unreachableAddresses: new Set(specs.filter((n) => !reachable.has(n.name)).map((n) => n.address)),
    });
    return { input, plan, bindings, leaving, limits };
}

/**
 * One pass: the plan's steps in order. Orphan backends go and bindings left are drained first; then
 * in-place resizes, pulls ahead, kept containers' backends fixed, the batches; backends stranded
 * on nodes that do not answer go last, once the new revision serves.
 */
async function releasePass(
    args: ServiceArgs,
    rev: Revision,
    base: ReleaseTarget,
    left: BoundSlb[],
    seen: Observed,
    known: Knowledge,
    progress: Progress,
): Promise<string[]> {
    const { input, plan, limits } = await planFor(args, rev, seen, base.slbs, left, known);
    const release = plan.release;
    const fewest = Number.isFinite(release.lowestServing) ? `; fewest serving ${release.lowestServing}` : "";
    progress(
        `revision ${rev.revision} (${rev.imageDigest}); ${input.replicas} replica(s); keeping ${release.keep.length}; ${release.batches.length} batch(es)${fewest}`,
    );
    for (const note of release.notes) progress(note);
    const target: ReleaseTarget = { ...base, nodes: seen.nodes.views, rules: input.rules, minAvailable: release.minAvailable };
    await removeOrphans([...plan.bindings, ...plan.leaving], [...base.slbs, ...left], progress);
    await leaveBindings(target, plan, left, progress);
    await resizeInPlace(seen.nodes.hosts, plan, limitsOf(args), limits, progress);
    // Every node that will start a container has the image before anything old is touched.
    const pullOn = new Set(release.batches.flatMap((b) => b.start.map((p) => p.node)));
    await prePull(
        rev.imageDigest,
        [...pullOn].map((n) => seen.nodes.hosts.get(n)!),
        progress,
    );
    await registerAndShift(target, keptToFix(plan));
    // Retry-elsewhere placement starts from the nodes' load as the plan leaves them.
    const report = await runBatches(target, release.batches, release.loads);
    await drainStranded(target, plan, progress);
    return [...release.notes, ...report];
}

const bound = (slbs: BoundSlb[], pool: string) => slbs.find((s) => s.pool === pool)!;

/** Backends whose containers are gone (an interrupted run, a container removed by hand). */
async function removeOrphans(bindings: Array<{ pool: string; orphans: string[] }>, slbs: BoundSlb[], progress: Progress): Promise<void> {
    for (const b of bindings.filter((x) => x.orphans.length > 0)) {
        progress(`removing backend(s) ${b.orphans.join(", ")} from ${b.pool}: their containers are gone`);
        await bound(slbs, b.pool).driver.removeBackends(b.pool, b.orphans);
    }
}

/** Bindings the service left: its backends there drain and deregister; the containers stay. */
async function leaveBindings(target: ReleaseTarget, plan: ServicePlan, left: BoundSlb[], progress: Progress): Promise<void> {
    for (const b of plan.leaving.filter((x) => x.drain.length > 0)) {
        progress(`leaving ${b.pool}: draining and deregistering ${few(b.drain)}`);
        const slb = [bound(left, b.pool)];
        await drain(target, slb, b.drain);
        await deregister(slb, b.drain);
    }
}

/**
 * Backends of an older revision on nodes that do not answer: their containers cannot be stopped
 * (the next run does, once the node answers), but traffic leaves them once the new revision serves.
 */
async function drainStranded(target: ReleaseTarget, plan: ServicePlan, progress: Progress): Promise<void> {
    for (const b of plan.bindings.filter((x) => x.stranded.length > 0)) {
        progress(`${few(b.stranded)} of an older revision sit on nodes that do not answer: taking them out of ${b.pool}`);
        const slb = [bound(target.slbs, b.pool)];
        await drain(target, slb, b.stranded);
        await deregister(slb, b.stranded);
    }
}

/** Outputs never carry the credentials: the service refers to the cluster's, kept once. */
function withoutCredentials<T extends ServiceArgs>(args: T): T {
    const { registries: _, ...rest } = args;
    return rest as T;
}

/** What a state says runs, reduced to what a repair would change: containers (gone, stopped, unhealthy, extra) and backends (missing, extra, weight). */
export function runningShape(s: Pick<ServiceState, "containers" | "backends">): string {
    return canonicalJson({
        containers: s.containers.map((c) => `${c.id} ${c.state}${c.health === "unhealthy" ? " unhealthy" : ""}`).sort(),
        backends: Object.fromEntries(Object.entries(s.backends ?? {}).map(([pool, bs]) => [pool, bs.map((b) => `${b.name} ${b.weight}`).sort()])),
    });
}

/**
 * Whether what runs now differs from the last state (containers on a cordoned node that stopped
 * answering count as gone); a world that cannot be read at all counts as unchanged, and so does one
 * whose nodes or load balancers cannot be reached from here (reach.ts): the input diff alone.
 */
async function driftedFrom(state: ServiceState): Promise<boolean> {
    if (!state.containers) return false;
    const verdict = reachVerdict("plan", await reachOf("plan", state.cluster.nodes, hostsFor(state.cluster.nodes), boundSlbs(state)));
    if (verdict.kind === "unknown") {
        warnFor(`service ${state.name}`)(`what runs is not compared with the last state: ${verdict.reason}`);
        return false;
    }
    const now = await stateNow(state).catch(() => state);
    return runningShape(now) !== runningShape(state);
}

/** The owner a state records (state written before owners has no id: it owns only the containers it lists). */
const ownerOfState = (state: ServiceState) => ownerFrom(state, state.ownerId, state.containers);

async function stateNow(args: ServiceState): Promise<ServiceState> {
    const hosts = hostsFor(args.cluster.nodes);
    const { reachable } = await nodeViews(args.cluster.nodes, hosts);
    const slbs = boundSlbs(args);
    const owner = ownerOfState(args);
    return {
        ...withoutCredentials(args),
        containers: await listContainers(args, owner, hosts, reachable),
        backends: await listBackends(args, slbs, owner).catch(() => args.backends ?? {}),
    };
}

/**
 * A failed create or update. The error carries the state seen now (Pulumi records it, and plans an
 * update at every later run) unless this is an update whose rollback left exactly the containers the
 * last state holds: that state is still true, and keeping it lets a later preview with the previous
 * inputs say "no change" instead of a phantom update.
 */
async function failWithState(id: string, base: ServiceState, error: any, update = false): Promise<never> {
    // Stopped before changing anything: the last state (none, for a create) is still true.
    if (error instanceof OutOfReachError) throw new Error(`service ${base.name}: ${error.message}`);
    let properties: ServiceState | undefined;
    try {
        properties = await stateNow(base);
    } catch {
        // keep the last known state
    }
    const message =
        error instanceof PlanError
            ? `service ${base.name}: cannot plan the release: ${error.message}`
            : `service ${base.name}: ${error?.message ?? error}`;
    const ids = (s: ServiceState) =>
        s.containers
            .map((c) => c.id)
            .sort()
            .join();
    if (update && properties && ids(properties) === ids(base)) throw new Error(message);
    throw Object.assign(new Error(message), { id, properties: { ...(properties ?? base), lastRelease: [message] }, reasons: [message] });
}

/** The inputs the plan needs that are not known yet. */
const unknownInputs = (args: ServiceArgs): string[] => SERVICE_FIELDS.filter((k) => SERVICE_CHANGES[k].kind !== "nothing" && holdsUnknown(args[k]));

/** Disk quotas need a storage driver that has them: asked of the nodes that answer. */
async function checkDiskQuota(args: ServiceArgs, hosts: Map<string, HostClient>, reachable: Set<string>): Promise<void> {
    if (args.diskQuotaMb === undefined) return;
    for (const node of reachable) {
        const n = await hosts.get(node)!.info();
        const quotas =
            ["btrfs", "zfs", "devicemapper"].includes(n.storageDriver) || (n.storageDriver === "overlay2" && n.backingFilesystem === "xfs");
        if (!quotas) {
            throw new PlanError(
                `node ${node} stores containers with ${n.storageDriver} on ${n.backingFilesystem || "an unknown filesystem"}; ` +
                    "disk quotas need overlay2 on xfs mounted with pquota, btrfs or zfs",
                [],
                "diskQuotaMb",
            );
        }
    }
}

const quiet: Progress = () => undefined;

/** A binding as the preview words it: how its load balancer checks and drains. */
function bindingView(slb: BoundSlb, binding: ServiceBinding, now: BindingNow): BindingView {
    return {
        ...now,
        drainsByTime: !slb.driver.countsInFlight,
        healthySeconds: lbRiseSeconds(binding.slb.healthCheck),
    };
}

/** Host ports held by a process outside Docker show only when a container tries to bind them. */
function heldPortsUnknown(input: PlanInput, plan: ReleasePlan): Array<{ what: string; nodes: string[] }> {
    const nodes = [...new Set(plan.batches.flatMap((b) => b.start.map((p) => p.node)))];
    if (input.rules.fixedHostPorts.length === 0 || nodes.length === 0) return [];
    return [{ what: `whether something outside Docker holds host port ${input.rules.fixedHostPorts.join(", ")} (up re-plans if so) on`, nodes }];
}

/** A step of the preview that failed, as a failure of the input it reads. */
async function reading<T>(property: string, step: () => Promise<T>): Promise<T> {
    try {
        return await step();
    } catch (e: any) {
        throw e instanceof PlanError ? e : new PlanError(e?.message ?? String(e), [], property);
    }
}

/** The load balancers of the bindings the service leaves: its backends there drain and deregister. */
function slbsLeft(args: ServiceArgs, previous: ServiceState | undefined): BoundSlb[] {
    const kept = new Set(boundSlbs(args).map((s) => s.pool));
    return previous ? boundSlbs(previous).filter((s) => !kept.has(s.pool)) : [];
}

/** The binding of `pool` in a service's inputs. */
const bindingIn = (args: ServiceArgs, pool: string) => args.bindings!.find((b) => b.slb.name === pool)!;

/** At best, Docker calls a new container healthy at its first check; without a health check, once it runs. */
const dockerHealthySeconds = (h: ServiceArgs["healthCheck"]) =>
    h && (h.httpPath || h.command) ? (h.intervalSeconds ?? DEFAULTS.healthIntervalSeconds) : 0;

/**
 * The plan the next `up` runs, computed by the same planner on what runs now, changing nothing: the
 * digest comes from a registry manifest lookup, in-place changes are found by inspecting, not applied.
 * Returns the digest (up then runs that one) and the plan's lines; throws PlanError when `up` would.
 */
async function previewRelease(
    olds: Partial<ServiceArgs>,
    args: ServiceArgs,
): Promise<{ imageDigest?: string; lines: string[]; counts?: PlanCounts }> {
    const unknown = unknownInputs(args);
    const creating = olds.name === undefined || replacedInputs(olds as ServiceArgs, args).length > 0;
    const changed = creating ? [] : changedInputs(olds as ServiceArgs, args);
    const summary = creating
        ? `create ${args.name}: ${args.mode === "global" ? "one container on every eligible node" : `${args.replicas ?? DEFAULTS.replicas} container(s)`}`
        : changed.length
          ? describeChange(olds as ServiceArgs, args, changed)
          : undefined;
    if (unknown.length) return { lines: [summary ?? "inputs unchanged", `${PLAN_AT_UP}: ${unknown.join(", ")} not known until then`] };
    const previous = creating ? undefined : (olds as ServiceState);
    const specs = nodesOf(args, previous, quiet);
    const hosts = hostsFor(specs, args.registries);
    const slbs = boundSlbs(args);
    const left = slbsLeft(args, previous);
    // A plan made without a node or load balancer would not be the one up runs: none, and why (reach.ts).
    const verdict = reachVerdict("plan", await reachOf("plan", specs, hosts, [...slbs, ...left]));
    if (verdict.kind === "unknown") {
        warnFor(`service ${args.name}`)(`${PLAN_UNREACHED}: ${verdict.reason}`);
        return { lines: [summary ?? "inputs unchanged", `${PLAN_UNREACHED}: ${verdict.reason}; up plans with what it reaches then`] };
    }
    const owner = ownerFrom(args, previous?.ownerId, previous?.containers);
    const observed = await reading("cluster", () => observe(args, owner, specs, hosts, new Map(), quiet));
    // check gets the old inputs, not the owner id the outputs hold: for an update, the stack's containers
    // are the resource's own; a new resource (or a replacement) replaces them, as its up will.
    const seen = creating ? observed : { ...observed, predecessors: new Set<string>() };
    const kept = keptDigest(previous, args);
    const { digest, unreachable } = kept
        ? { digest: kept, unreachable: undefined }
        : await reading("image", () => lookupDigest(args.image, args.registries, quiet));
    const rev = revisionWith(args, digest ?? `${args.image} (digest unknown until up)`);
    const { input, plan, bindings, leaving } = await planFor(args, rev, seen, slbs, left, { held: new Map(), replace: new Set() });
    const lines = describePlan({
        summary,
        revision: rev.revision,
        replicas: input.replicas,
        plan,
        bindings: bindings.map((b, i) => bindingView(slbs[i], bindingIn(args, b.pool), b)),
        leaving: leaving.map((b, i) => bindingView(left[i], bindingIn(previous!, b.pool), b)),
        dockerHealthySeconds: dockerHealthySeconds(args.healthCheck),
        drainTimeoutSeconds: args.release?.drainTimeoutSeconds ?? DEFAULTS.drainTimeoutSeconds,
        pauseSeconds: args.release?.pauseSeconds ?? 0,
        unknownUntilUp: [
            ...heldPortsUnknown(input, plan.release),
            ...(unreachable ? [{ what: `the image's digest: ${unreachable}`, nodes: [] }] : []),
        ],
    });
    return { imageDigest: digest, lines, counts: countsOf(plan) };
}

/** What `diff` tells the preview: which inputs changed, and whether what runs drifted from what was deployed. */
export function changedProperties(olds: ServiceState, news: ServiceArgs): string[] {
    const changed: string[] = changedInputs(olds, news);
    const serving = (olds.containers ?? []).filter((c) => c.revision === olds.revision && isServing(c)).length;
    const stale = (olds.containers ?? []).some((c) => c.revision !== olds.revision);
    if (serving !== (olds.replicas ?? DEFAULTS.replicas) || stale) changed.push("containers");
    return changed;
}

/** Where check could not plan (an input not known until up): diff then compares what runs with the last state. */
const PLAN_AT_UP = "the plan is made at up";

/** Where check could not reach a node or load balancer: up plans with what it reaches then. */
const PLAN_UNREACHED = "the plan is unknown";

export const serviceProvider: pulumi.dynamic.ResourceProvider = {
    async check(olds, raw) {
        const news = Array.isArray(raw.bindings) ? { ...raw, bindings: (raw.bindings as ServiceBinding[]).map(bindingRef) } : raw;
        const failures: Failure[] = validateService(news);
        if (failures.length === 0) failures.push(...validatePlacement(news));
        if (failures.length) return { inputs: news, failures };
        // The dynamic provider host drops detailed diffs, so the plan reaches the preview in this computed
        // input (diff does not count it as a change); the digest too, so up runs what the preview showed.
        // One line a step, in one string: Pulumi shows a multi-line string's change as a diff of its lines.
        try {
            const { imageDigest, lines, counts } = await previewRelease(olds as ServiceArgs, news as ServiceArgs);
            // (a Struct has no undefined: the digest and the counts are left out where they are not known yet)
            return {
                inputs: {
                    ...news,
                    ...(imageDigest ? { imageDigest } : {}),
                    plannedChange: lines.join("\n"),
                    ...(counts ? { plannedCounts: counts } : {}),
                },
                failures,
            };
        } catch (e: any) {
            if (!(e instanceof PlanError)) throw e;
            return { inputs: news, failures: [{ property: e.property, reason: `service ${news.name}: cannot plan the release: ${e.message}` }] };
        }
    },
    async diff(_id, olds, news) {
        const replaces: string[] = replacedInputs(olds as ServiceArgs, news as ServiceArgs);
        const inputs = changedInputs(olds as ServiceArgs, news as ServiceArgs);
        // Same inputs, but the world may differ from what they ask for: that is a change too (up repairs
        // it), with or without refresh. check's plan counts say; without them (a plan made at up, nodes
        // out of reach, state written before plans), compare with the last state.
        const counts = (news as ServiceArgs).plannedCounts;
        const repair =
            inputs.length === 0 &&
            replaces.length === 0 &&
            (counts
                ? doesWork(counts)
                : changedProperties(olds as ServiceState, news as ServiceArgs).length > 0 || (await driftedFrom(olds as ServiceState)));
        return {
            changes: inputs.length > 0 || replaces.length > 0 || repair || storedProviderChanged(olds, news),
            replaces,
            deleteBeforeReplace: replaces.includes("name") ? false : undefined,
        };
    },
    async create(inputs) {
        const args = inputs as ServiceArgs;
        const failures = validateService(args);
        if (failures.length) throw new Error(formatFailures(`service ${args.name}`, failures));
        const id = `${args.cluster.name}/${args.name}`;
        // A new owner id, also for a forced replacement of the same id: the old resource's delete then removes only its own containers.
        const owner = ownerFrom(args, undefined);
        try {
            return { id, outs: await reconcile(args, owner, undefined) };
        } catch (e) {
            return failWithState(
                id,
                { ...withoutCredentials(args), ownerId: owner.id, imageDigest: "", revision: "", containers: [], backends: {}, lastRelease: [] },
                e,
            );
        }
    },
    async read(id, props) {
        return { id, props: await stateNow(props as ServiceState) };
    },
    async update(id, olds, news) {
        const args = news as ServiceArgs;
        const previous = olds as ServiceState;
        try {
            return { outs: await reconcile(args, ownerFrom(args, previous.ownerId, previous.containers), previous) };
        } catch (e) {
            return failWithState(id, previous, e, true);
        }
    },
    async delete(_id, props) {
        const args = props as ServiceState;
        const progress = progressFor(args.name);
        const hosts = hostsFor(args.cluster.nodes);
        const { views, reachable, errors } = await nodeViews(args.cluster.nodes, hosts);
        for (const [node, error] of errors) progress(`node ${node} does not answer; its containers of ${args.name} stay until it returns: ${error}`);
        const owner = ownerOfState(args);
        const containers = await listContainers(args, owner, hosts, reachable);
        const target = retireTarget(args, args.cluster.nodes, hosts, views, progress);
        progress(`removing ${containers.length} container(s)`);
        const backends = await listBackends(args, target.slbs, owner);
        const live = liveNames(containers);
        const unreachable = new Set(args.cluster.nodes.filter((n) => !reachable.has(n.name)).map((n) => n.address));
        const orphans = target.slbs.map((slb) => ({
            pool: slb.pool,
            orphans: backends[slb.pool].filter((b) => isOrphan(b, live, unreachable)).map((b) => b.name),
        }));
        await removeOrphans(orphans, target.slbs, progress);
        await retire(target, containers);
    },
};
