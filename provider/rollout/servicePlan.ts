// The one plan of a reconcile: every change `up` makes to a service, from one observation of its
// nodes and bindings. The preview words it (describe.ts), `up` runs it (engine), and diff counts it:
// nothing is decided elsewhere. Pure: the engine gathers the facts.
import { BackendState, ContainerState, PlanCounts } from "../model";
import { PlanInput, planRelease, ReleasePlan } from "./plan";

/** A binding as the plan reads it: the weight the service wants there, its backends there now, and its load balancer's pace. */
export interface BindingNow {
    pool: string;
    weight: number;
    /** The service's backends in this binding now. */
    backends: BackendState[];
    /** A load balancer without in-flight counts (Aliyun CLB): old backends drain for the whole budget. */
    drainsByTime: boolean;
    /** Seconds the load balancer needs to call a new backend healthy: rise × check interval. */
    healthySeconds: number;
}

export interface ServiceFacts {
    release: PlanInput;
    /** Bindings the service serves through after the release. */
    bindings: BindingNow[];
    /** Bindings the service leaves. */
    leaving: BindingNow[];
    /** Where a container is registered in a binding: node address and host port (undefined: it publishes none for it). */
    backendOf: (c: ContainerState, pool: string) => { address: string; port: number } | undefined;
    /** Kept containers whose cpu, memory or restart policy differ from the inputs (ids). */
    limitsDiffer: Set<string>;
    /** Addresses of nodes that do not answer: their backends' containers may still serve. */
    unreachableAddresses: Set<string>;
}

/** What the release changes in one binding besides the batches' own backends. */
export interface BindingChanges {
    pool: string;
    weight: number;
    /** Kept containers missing here, or registered at another address or port (a restarted engine gives a new host port). */
    register: ContainerState[];
    /** Kept containers registered at another weight. */
    reweight: Array<{ container: ContainerState; from: number }>;
    /** Backends whose containers are gone: removed at once. */
    orphans: string[];
    /** Backends of another revision on nodes that do not answer: drained and removed once the new revision serves. */
    stranded: string[];
}

/** A binding the service leaves: its backends drain and deregister, the containers stay. */
export interface BindingLeft {
    pool: string;
    drain: string[];
    orphans: string[];
}

export interface ServicePlan {
    release: ReleasePlan;
    /** Kept containers docker update changes in place (no restart). */
    resize: ContainerState[];
    bindings: BindingChanges[];
    leaving: BindingLeft[];
}

/** A backend is an orphan when its container is gone; one on a node that does not answer may still serve. */
export const isOrphan = (b: BackendState, live: Set<string>, unreachableAddresses: Set<string>): boolean =>
    !live.has(b.name) && !unreachableAddresses.has(b.address);

/** The names of running containers: those a backend may point at. */
export const liveNames = (containers: ContainerState[]): Set<string> => new Set(containers.filter((c) => c.state === "running").map((c) => c.name));

/** `release`: the batches, when the engine made them first (it reads the limits of the kept containers only). */
export function planService(facts: ServiceFacts, release = planRelease(facts.release)): ServicePlan {
    const live = liveNames(facts.release.containers);
    const gone = (b: BackendState) => isOrphan(b, live, facts.unreachableAddresses);
    const stranded = (b: BackendState) => facts.unreachableAddresses.has(b.address) && !b.name.includes(`-${facts.release.revision}-`);
    return {
        release,
        resize: release.keep.filter((c) => facts.limitsDiffer.has(c.id)),
        bindings: facts.bindings.map((b) => ({
            ...keptChanges(facts, release.keep, b),
            orphans: b.backends.filter(gone).map((x) => x.name),
            stranded: b.backends.filter(stranded).map((x) => x.name),
        })),
        leaving: facts.leaving.map((b) => ({
            pool: b.pool,
            drain: b.backends.filter((x) => !gone(x)).map((x) => x.name),
            orphans: b.backends.filter(gone).map((x) => x.name),
        })),
    };
}

/** Kept containers must serve in every binding (one may be new) at its weight, at the address and port they publish now. */
function keptChanges(facts: ServiceFacts, keep: ContainerState[], b: BindingNow): Pick<BindingChanges, "pool" | "weight" | "register" | "reweight"> {
    const present = new Map(b.backends.map((x) => [x.name, x]));
    const register: ContainerState[] = [];
    const reweight: BindingChanges["reweight"] = [];
    for (const c of keep) {
        const now = present.get(c.name);
        const wanted = facts.backendOf(c, b.pool);
        if (!now || (wanted && (now.address !== wanted.address || now.port !== wanted.port))) register.push(c);
        else if (now.weight !== b.weight) reweight.push({ container: c, from: now.weight });
    }
    return { pool: b.pool, weight: b.weight, register, reweight };
}

export function countsOf(plan: ServicePlan): PlanCounts {
    const sum = <T>(items: T[], n: (x: T) => number) => items.reduce((total, x) => total + n(x), 0);
    return {
        start: sum(plan.release.batches, (b) => b.start.length),
        retire: sum(plan.release.batches, (b) => b.retireBefore.length + b.retireAfter.length),
        resize: plan.resize.length,
        register: sum(plan.bindings, (b) => b.register.length),
        reweight: sum(plan.bindings, (b) => b.reweight.length),
        deregister: sum(plan.bindings, (b) => b.orphans.length + b.stranded.length) + sum(plan.leaving, (b) => b.drain.length + b.orphans.length),
    };
}

export const doesWork = (counts: PlanCounts): boolean => Object.values(counts).some((n) => n > 0);

/** Kept containers whose backends change somewhere: the only ones the release touches in the load balancers. */
export const keptToFix = (plan: ServicePlan): ContainerState[] => [
    ...new Map(plan.bindings.flatMap((b) => [...b.register, ...b.reweight.map((r) => r.container)]).map((c) => [c.id, c])).values(),
];
