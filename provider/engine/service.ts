// Service: containers of one image on a cluster's nodes, serving through its SLB bindings. This file
// holds the resource's hooks; a release is the named steps in release/ (reconcile.ts reads as the
// list of them): observe, pin the revision, plan, then the plan's steps and batches.
import type * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../canonical";
import { DEFAULTS, ServiceArgs, ServiceBinding, ServiceState } from "../model";
import { progressFor, warnFor } from "../progress";
import { retire } from "../rollout/execute";
import { isServing, PlanError } from "../rollout/plan";
import { doesWork, isOrphan, liveNames } from "../rollout/servicePlan";
import { Failure, formatFailures, validatePlacement, validateService } from "../validate";
import { changedInputs, replacedInputs } from "../changes";
import { storedProviderChanged } from "./storedProvider";
import { hostsFor, nodeViews, reachOf } from "./world";
import { OutOfReachError, reachVerdict } from "../reach";
import { ownerFrom, ownerOfState } from "./release/owner";
import { bindingRef, containerBindings, listBackends } from "./release/bindings";
import { listContainers } from "./release/observe";
import { removeOrphans, retireTarget } from "./release/steps";
import { reconcile, withoutCredentials } from "./release/reconcile";
import { previewRelease } from "./release/preview";

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
    const verdict = reachVerdict("plan", await reachOf("plan", state.cluster.nodes, hostsFor(state.cluster.nodes), containerBindings(state)));
    if (verdict.kind === "unknown") {
        warnFor(`service ${state.name}`)(`what runs is not compared with the last state: ${verdict.reason}`);
        return false;
    }
    try {
        return runningShape(await stateNow(state)) !== runningShape(state);
    } catch (e: any) {
        warnFor(`service ${state.name}`)(`what runs is not compared with the last state: ${e?.message ?? e}`);
        return false;
    }
}

async function stateNow(args: ServiceState): Promise<ServiceState> {
    const hosts = hostsFor(args.cluster.nodes);
    const { reachable } = await nodeViews(args.cluster.nodes, hosts);
    const owner = ownerOfState(args);
    return {
        ...withoutCredentials(args),
        containers: await listContainers(args, owner, hosts, reachable),
        backends: await listBackends(args, containerBindings(args), owner).catch((e) => {
            warnFor(`service ${args.name}`)(`backends not read, the last known kept: ${e?.message ?? e}`);
            return args.backends ?? {};
        }),
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

/** What `diff` tells the preview: which inputs changed, and whether what runs drifted from what was deployed. */
export function changedProperties(olds: ServiceState, news: ServiceArgs): string[] {
    const changed: string[] = changedInputs(olds, news);
    const serving = (olds.containers ?? []).filter((c) => c.revision === olds.revision && isServing(c)).length;
    const stale = (olds.containers ?? []).some((c) => c.revision !== olds.revision);
    if (serving !== (olds.replicas ?? DEFAULTS.replicas) || stale) changed.push("containers");
    return changed;
}

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
        const { reachable, errors } = await nodeViews(args.cluster.nodes, hosts);
        for (const [node, error] of errors) progress(`node ${node} does not answer; its containers of ${args.name} stay until it returns: ${error}`);
        const owner = ownerOfState(args);
        const containers = await listContainers(args, owner, hosts, reachable);
        const target = retireTarget(args, hosts, progress);
        progress(`removing ${containers.length} container(s)`);
        const backends = await listBackends(args, target.bindings, owner);
        const live = liveNames(containers);
        const unreachable = new Set(args.cluster.nodes.filter((n) => !reachable.has(n.name)).map((n) => n.address));
        const orphans = target.bindings.map((binding) => ({
            pool: binding.pool,
            orphans: backends[binding.pool].filter((b) => isOrphan(b, live, unreachable)).map((b) => b.name),
        }));
        await removeOrphans(orphans, target.bindings, progress);
        await retire(target, containers);
    },
};
