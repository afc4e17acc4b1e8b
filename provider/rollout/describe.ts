// The release plan in words, for the preview: one line per batch with the slots and nodes it starts
// and the containers it retires, what changes in each binding, the fewest serving, the drain budget and
// an estimate of the time from the waits the settings force. Pure: the engine gathers the facts.
import { ContainerState } from "../model";
import { Batch, describe as named, isServing, ReleasePlan } from "./plan";
import { BindingNow, ServicePlan } from "./servicePlan";

/** The first line of a plan that changes nothing. */
export const NOTHING_TO_DO = "nothing to do: what runs matches the inputs";

export interface PlanFacts {
    /** What changed in the inputs, in words (changes.ts); none: the inputs are as the last up left them. */
    summary?: string;
    revision: string;
    replicas: number;
    plan: ServicePlan;
    /** Bindings the service serves through after the release. */
    bindings: BindingNow[];
    /** Bindings the service leaves: its backends there are drained and deregistered. */
    leaving: BindingNow[];
    /** Seconds Docker takes to call a new container healthy at best (its first check); 0 without a health check. */
    dockerHealthySeconds: number;
    drainTimeoutSeconds: number;
    pauseSeconds: number;
    /** Facts learned only by trying, and the nodes they concern (a host port held by a process outside Docker). */
    unknownUntilUp: Array<{ what: string; nodes: string[] }>;
}

/** Pulumi's display cuts lines at 150 characters: long lists go on as many lines as they need, each with its prefix. */
export const LINE_WIDTH = 140;

export function wrapList(prefix: string, items: string[], next = prefix): string[] {
    const lines: string[] = [];
    let line = "";
    for (const item of items) {
        const head = lines.length === 0 ? prefix : next;
        if (line && `${head} ${line}, ${item}`.length > LINE_WIDTH) {
            lines.push(`${head} ${line}`);
            line = item;
        } else line = line ? `${line}, ${item}` : item;
    }
    if (line || lines.length === 0) lines.push(`${lines.length === 0 ? prefix : next} ${line}`.trimEnd());
    return lines;
}

/** A batch with every slot and container named: its first step on the batch's line, the others indented below. */
function batchLines(b: Batch, index: number, total: number): string[] {
    const steps: Array<[string, string[]]> = [
        ["retire first", b.retireBefore.map(named)],
        ["start", b.start.map((p) => `slot ${p.slot} on ${p.node}`)],
        ["then retire", b.retireAfter.map(named)],
    ];
    const present = steps.filter(([, items]) => items.length > 0);
    if (present.length === 0) return [`batch ${index + 1}/${total}: nothing to do`];
    return present.flatMap(([verb, items], i) => wrapList(i === 0 ? `batch ${index + 1}/${total}: ${verb}` : `  ${verb}`, items, `  ${verb}`));
}

/** What a batch does to traffic, the same in every batch. */
function trafficLine(bindings: BindingNow[]): string {
    const weights = bindings.map((s) => `${s.weight} in ${s.pool}`).join(", ");
    return `each batch: new backends join at weight 0, get ${weights} once healthy there; old ones go to weight 0, drain, leave`;
}

/** Every container the plan retires, batch by batch. */
const retiredBy = (plan: ReleasePlan): ContainerState[] => plan.batches.flatMap((b) => [...b.retireBefore, ...b.retireAfter]);

/** What the plan changes in the bindings besides the batches' own backends: kept containers, orphans, stranded backends, bindings left. */
export function backendChangeLines(plan: ServicePlan): string[] {
    const lines: string[] = [];
    for (const b of plan.bindings) {
        if (b.register.length)
            lines.push(...wrapList(`binding ${b.pool}: register at weight ${b.weight} once healthy there:`, b.register.map(named)));
        if (b.reweight.length)
            lines.push(
                ...wrapList(
                    `binding ${b.pool}: re-weight`,
                    b.reweight.map((r) => `${r.container.name} ${r.from} -> ${b.weight}`),
                ),
            );
    }
    for (const b of [...plan.bindings, ...plan.leaving]) {
        if (b.orphans.length) lines.push(...wrapList(`binding ${b.pool}: remove (their containers are gone):`, b.orphans));
    }
    for (const b of plan.bindings) {
        if (b.stranded.length)
            lines.push(...wrapList(`binding ${b.pool}: once the new revision serves, drain and remove (their nodes do not answer):`, b.stranded));
    }
    for (const b of plan.leaving) {
        if (b.drain.length) lines.push(...wrapList(`binding ${b.pool} left, the containers stay: drain and deregister`, b.drain));
    }
    return lines;
}

/** Seconds the plan takes at best: per batch that starts containers, Docker's first check, the slowest load balancer's rise, a time-based drain; pauses between batches. */
export function estimateSeconds(facts: PlanFacts): number {
    const release = facts.plan.release;
    const starting = release.batches.filter((b) => b.start.length > 0).length;
    const retiring = retiredBy(release).length > 0;
    const lb = Math.max(0, ...facts.bindings.map((b) => b.healthySeconds));
    const timedDrain = [...facts.bindings, ...facts.leaving].some((b) => b.drainsByTime) && retiring ? facts.drainTimeoutSeconds : 0;
    const perBatch = facts.dockerHealthySeconds + lb + timedDrain;
    return (
        Math.round((starting * perBatch + Math.max(0, release.batches.length - 1) * facts.pauseSeconds + (starting === 0 ? timedDrain : 0)) * 10) / 10
    );
}

export function describePlan(facts: PlanFacts): string[] {
    const plan = facts.plan.release;
    const backendChanges = backendChangeLines(facts.plan);
    // Nothing on the nodes or in the load balancers changes.
    if (plan.batches.length === 0 && facts.plan.resize.length === 0 && backendChanges.length === 0)
        return [facts.summary ?? NOTHING_TO_DO, ...plan.notes];
    const started = plan.batches.reduce((n, b) => n + b.start.length, 0);
    const retired = retiredBy(plan).length;
    const serving = [...plan.keep, ...retiredBy(plan)].filter(isServing).length;
    const lines = [
        facts.summary ?? "repair: what runs differs from what the inputs ask for",
        `revision ${facts.revision}, ${facts.replicas} replica(s): keep ${plan.keep.length}, start ${started}, retire ${retired}` +
            (plan.batches.length ? ` in ${plan.batches.length} batch(es)` : ""),
        ...plan.batches.flatMap((b, i) => batchLines(b, i, plan.batches.length)),
        ...(started > 0 && facts.bindings.length ? [trafficLine(facts.bindings)] : []),
        ...(facts.plan.resize.length ? wrapList("in place, docker update (no restart):", facts.plan.resize.map(named)) : []),
        ...backendChanges,
    ];
    if (started > 0 || retired > 0) {
        const lowest = Number.isFinite(plan.lowestServing) ? Math.min(plan.lowestServing, serving) : serving;
        lines.push(`fewest serving at any moment: ${lowest} (serving now ${serving}, minAvailable ${plan.minAvailable})`);
    }
    if (retired > 0 && facts.bindings.length + facts.leaving.length > 0) {
        const byTime = [...facts.bindings, ...facts.leaving].filter((b) => b.drainsByTime).map((b) => b.pool);
        lines.push(
            `drain budget: up to ${facts.drainTimeoutSeconds} s per batch (release.drainTimeoutSeconds)` +
                (byTime.length
                    ? `; ${byTime.join(", ")} drain by time, the whole ${facts.drainTimeoutSeconds} s`
                    : ", until no request is in flight"),
        );
    }
    if (started > 0 || retired > 0)
        lines.push(
            `estimate: about ${estimateSeconds(facts)} s from the forced waits (Docker health, load-balancer rise${facts.pauseSeconds ? ", pauses" : ""}), more while requests drain`,
        );
    for (const u of facts.unknownUntilUp) lines.push(...wrapList(`unknown until up: ${u.what}`, u.nodes));
    return [...lines, ...plan.notes];
}
