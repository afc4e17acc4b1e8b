// The plan's steps before and after the batches (rollout/execute.ts runs the batches): remove orphans,
// leave bindings, resize in place, drain stranded backends.
import { ContainerLimits, HostClient } from "../../docker/host";
import { DEFAULTS, ServiceArgs } from "../../model";
import { few, Progress } from "../../progress";
import { StepTimes } from "../../stepTimes";
import { ContainerBinding, drain, nothingLearned, RefusedResize, ReleaseTarget, Replan, RetireTarget } from "../../rollout/execute";
import { deregister } from "../../rollout/shift";
import { ServicePlan } from "../../rollout/servicePlan";
import { bindingNamed, containerBindings } from "./bindings";
import { Nodes, selectorOf } from "./observe";
import { Owner } from "./owner";
import { containerSpecFor, Revision } from "./revision";

/** Limits as a progress line names them. */
export const describeLimits = (l: ContainerLimits) =>
    `cpus ${l.nanoCpus ? l.nanoCpus / 1e9 : "unlimited"}, memory ${l.memoryBytes ? `${l.memoryBytes / 1048576} MiB` : "unlimited"}, restart ${l.restartPolicy.Name}${l.restartPolicy.MaximumRetryCount ? `:${l.restartPolicy.MaximumRetryCount}` : ""}`;

/**
 * The plan's in-place changes of cpu, memory and restart policy. Containers whose engine refuses are
 * reported as a re-plan: the next plan replaces them.
 */
export async function resizeInPlace(
    hosts: Map<string, HostClient>,
    plan: ServicePlan,
    wanted: ContainerLimits,
    current: Map<string, ContainerLimits>,
    progress: Progress,
): Promise<Replan | undefined> {
    const refused: RefusedResize[] = [];
    for (const c of plan.resize) {
        try {
            await hosts.get(c.node)!.resize(c.id, wanted);
            progress(`resized ${c.name} on ${c.node} in place (no restart): ${describeLimits(current.get(c.id)!)} -> ${describeLimits(wanted)}`);
        } catch (e: any) {
            refused.push({ container: c, reason: String(e?.json?.message ?? e?.message ?? e).trim() });
        }
    }
    if (refused.length === 0) return undefined;
    return {
        why: `Docker refused to resize ${few(refused.map((r) => r.container.name))} in place`,
        learned: { ...nothingLearned(), refusedResizes: refused },
    };
}

/** What retiring this service's containers takes: its bindings, its nodes' Docker, its drain and stop bounds. */
export function retireTarget(args: ServiceArgs, hosts: Map<string, HostClient>, progress: Progress, times = new StepTimes()): RetireTarget {
    return {
        service: args.name,
        hosts,
        bindings: containerBindings(args),
        drainTimeoutSeconds: args.release?.drainTimeoutSeconds ?? DEFAULTS.drainTimeoutSeconds,
        stopGracePeriodSeconds: args.stopGracePeriodSeconds ?? DEFAULTS.stopGracePeriodSeconds,
        minAvailable: 0,
        progress,
        times,
    };
}

/** A release's target but for what each pass plans anew: the nodes as observed, placement rules, minAvailable. */
export type ReleaseBase = Omit<ReleaseTarget, "nodes" | "rules" | "minAvailable">;

/** What releasing this service takes besides retiring: its selector, its nodes' addresses, the revision's containers, its waits. */
export function releaseBase(args: ServiceArgs, owner: Owner, rev: Revision, nodes: Nodes, progress: Progress, times: StepTimes): ReleaseBase {
    const release = args.release ?? {};
    return {
        ...retireTarget(args, nodes.hosts, progress, times),
        selector: selectorOf(args),
        addresses: new Map(nodes.specs.map((n) => [n.name, n.address])),
        containerSpec: containerSpecFor(args, owner, rev),
        healthyTimeoutSeconds: release.healthyTimeoutSeconds ?? DEFAULTS.healthyTimeoutSeconds,
        lbHealthyTimeoutSeconds: release.lbHealthyTimeoutSeconds ?? DEFAULTS.lbHealthyTimeoutSeconds,
        pauseSeconds: release.pauseSeconds ?? 0,
    };
}

/** Backends whose containers are gone (an interrupted run, a container removed by hand). */
export async function removeOrphans(
    changes: Array<{ pool: string; orphans: string[] }>,
    bindings: ContainerBinding[],
    progress: Progress,
): Promise<void> {
    for (const b of changes.filter((x) => x.orphans.length > 0)) {
        progress(`removing backend(s) ${b.orphans.join(", ")} from ${b.pool}: their containers are gone`);
        await bindingNamed(bindings, b.pool).driver.removeBackends(b.pool, b.orphans);
    }
}

/** Bindings the service left: its backends there drain and deregister; the containers stay. */
export async function leaveBindings(target: RetireTarget, plan: ServicePlan, left: ContainerBinding[], progress: Progress): Promise<void> {
    for (const b of plan.leaving.filter((x) => x.drain.length > 0)) {
        progress(`leaving ${b.pool}: draining and deregistering ${few(b.drain)}`);
        await takeOut(target, bindingNamed(left, b.pool), b.drain);
    }
}

/**
 * Backends of an older revision on nodes that do not answer: their containers cannot be stopped
 * (the next run does, once the node answers), but traffic leaves them once the new revision serves.
 */
export async function drainStranded(target: RetireTarget, plan: ServicePlan, progress: Progress): Promise<void> {
    for (const b of plan.bindings.filter((x) => x.stranded.length > 0)) {
        progress(`${few(b.stranded)} of an older revision sit on nodes that do not answer: taking them out of ${b.pool}`);
        await takeOut(target, bindingNamed(target.bindings, b.pool), b.stranded);
    }
}

/** Drains backends out of one binding and deregisters them, their containers left running. */
async function takeOut(target: RetireTarget, binding: ContainerBinding, names: string[]): Promise<void> {
    await drain(target, [binding], names);
    await deregister([binding], names);
}
