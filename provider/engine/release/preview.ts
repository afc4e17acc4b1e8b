// The preview: the plan the next up runs, made by the same steps on what runs now, changing nothing,
// in words.
import { lookupDigest } from "../../docker/pull";
import { DEFAULTS, PlanCounts, ServiceArgs, ServiceState } from "../../model";
import { Progress, warnFor } from "../../progress";
import { describePlan } from "../../rollout/describe";
import { PlanInput, ReleasePlan } from "../../rollout/plan";
import { countsOf } from "../../rollout/servicePlan";
import { holdsUnknown } from "../../validate";
import { changedInputs, describeChange, replacedInputs, SERVICE_CHANGES, SERVICE_FIELDS } from "../../changes";
import { hostsFor, reachOf } from "../world";
import { reachVerdict } from "../../reach";
import { ownerFrom } from "./owner";
import { containerBindings, bindingsLeft } from "./bindings";
import { nodesOf, observe } from "./observe";
import { keptDigest, revisionWith } from "./revision";
import { planFor, reading } from "./plan";

/** The inputs the plan needs that are not known yet. */
export const unknownInputs = (args: ServiceArgs): string[] =>
    SERVICE_FIELDS.filter((k) => SERVICE_CHANGES[k].kind !== "nothing" && holdsUnknown(args[k]));

export const quiet: Progress = () => undefined;

/** Host ports held by a process outside Docker show only when a container tries to bind them. */
export function heldPortsUnknown(input: PlanInput, plan: ReleasePlan): Array<{ what: string; nodes: string[] }> {
    const nodes = [...new Set(plan.batches.flatMap((b) => b.start.map((p) => p.node)))];
    if (input.rules.fixedHostPorts.length === 0 || nodes.length === 0) return [];
    return [{ what: `whether something outside Docker holds host port ${input.rules.fixedHostPorts.join(", ")} (up re-plans if so) on`, nodes }];
}

/** At best, Docker calls a new container healthy at its first check; without a health check, once it runs. */
export const dockerHealthySeconds = (h: ServiceArgs["healthCheck"]) =>
    h && (h.httpPath || h.command) ? (h.intervalSeconds ?? DEFAULTS.healthIntervalSeconds) : 0;

/**
 * The plan the next `up` runs, computed by the same planner on what runs now, changing nothing: the
 * digest comes from a registry manifest lookup, in-place changes are found by inspecting, not applied.
 * Returns the digest (up then runs that one) and the plan's lines; throws PlanError when `up` would.
 */
export async function previewRelease(
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
    const serving = containerBindings(args);
    const left = bindingsLeft(args, previous);
    // A plan made without a node or load balancer would not be the one up runs: none, and why (reach.ts).
    const verdict = reachVerdict("plan", await reachOf("plan", specs, hosts, [...serving, ...left]));
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
    const { input, plan, bindings, leaving } = await planFor(args, rev, seen, serving, left, { held: new Map(), replace: new Set() });
    const lines = describePlan({
        summary,
        revision: rev.revision,
        replicas: input.replicas,
        plan,
        bindings,
        leaving,
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

/** Where check could not plan (an input not known until up): diff then compares what runs with the last state. */
export const PLAN_AT_UP = "the plan is made at up";

/** Where check could not reach a node or load balancer: up plans with what it reaches then. */
export const PLAN_UNREACHED = "the plan is unknown";
