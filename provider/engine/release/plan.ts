// Step: plan. The facts the plan reads beyond one observation (backends, limits, disk quotas), and the
// one plan made from them.
import { ContainerLimits, HostClient } from "../../docker/host";
import { canonicalJson } from "../../canonical";
import { ContainerState, DEFAULTS, ServiceArgs } from "../../model";
import { DAEMON_CONCURRENCY, mapLimited } from "../../limit";
import { ContainerBinding } from "../../rollout/execute";
import { PlanInput, PlanError, planRelease } from "../../rollout/plan";
import { BindingNow, planService, ServicePlan } from "../../rollout/servicePlan";
import { parseAffinity, parseConstraint, PlacementRules, staticExclusion } from "../../schedule/placement";
import { bindingNamed, listBackends } from "./bindings";
import { Observed } from "./observe";
import { limitsOf, Revision } from "./revision";

/** Containers whose cpu, memory or restart policy differ from the inputs, with what they have now. */
export async function limitsNow(
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

/** What a pass learned, kept across passes: each plan after the first is made with all of it. */
export interface Knowledge {
    /** Host ports found held on each node, and by whom. */
    held: Map<string, Map<number, string>>;
    /** Containers to replace whatever revision they run (the predecessor's, those Docker would not resize). */
    replace: Set<string>;
}

/** What the planner takes, from the inputs and what one pass observed: the same for preview and up. */
export function planInputFor(args: ServiceArgs, rev: Revision, seen: Observed, replace: Set<string>): PlanInput {
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
export interface Planned {
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
export async function planFor(
    args: ServiceArgs,
    rev: Revision,
    seen: Observed,
    serving: ContainerBinding[],
    left: ContainerBinding[],
    known: Knowledge,
): Promise<Planned> {
    const { hosts, reachable, specs } = seen.nodes;
    const replace = new Set([...seen.predecessors, ...known.replace]);
    const input = planInputFor(args, rev, seen, replace);
    const release = planRelease(input);
    // Independent reads, at once; only the containers the plan keeps can be resized, so only theirs are inspected.
    const [limits, backends] = await Promise.all([
        reading("cluster", () => limitsNow(hosts, release.keep, limitsOf(args))),
        reading("bindings", () => listBackends(args, [...serving, ...left])),
        reading("diskQuotaMb", () => checkDiskQuota(args, hosts, reachable)),
    ]);
    const now = (b: ContainerBinding): BindingNow => ({
        pool: b.pool,
        weight: b.weight,
        backends: backends[b.pool],
        drainsByTime: !b.driver.countsInFlight,
        healthySeconds: b.healthySeconds,
    });
    const addresses = new Map(specs.map((n) => [n.name, n.address]));
    const bindings = serving.map(now);
    const leaving = left.map(now);
    const plan = planService(
        {
            release: input,
            bindings,
            leaving,
            backendOf: (c, pool) => {
                const port = c.hostPorts[String(bindingNamed(serving, pool).containerPort)];
                return port ? { address: addresses.get(c.node)!, port } : undefined;
            },
            limitsDiffer: new Set(limits.keys()),
            unreachableAddresses: new Set(specs.filter((n) => !reachable.has(n.name)).map((n) => n.address)),
        },
        release,
    );
    return { input, plan, bindings, leaving, limits };
}

/** Disk quotas need a storage driver that has them: asked of the nodes that answer. */
export async function checkDiskQuota(args: ServiceArgs, hosts: Map<string, HostClient>, reachable: Set<string>): Promise<void> {
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

/** A step of the preview that failed, as a failure of the input it reads. */
export async function reading<T>(property: string, step: () => Promise<T>): Promise<T> {
    try {
        return await step();
    } catch (e: any) {
        throw e instanceof PlanError ? e : new PlanError(e?.message ?? String(e), [], property);
    }
}
