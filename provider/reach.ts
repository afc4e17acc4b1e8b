// What berth does with nodes and load balancers it cannot reach from where it runs. A dynamic
// provider's check and diff cannot tell a preview from an `up` (a pull-request runner often has no
// route to production), so one rule decides for every step: planning (check, diff) shows the input
// diff and says the plan is unknown; acting (update, and the agent's node-loss handling) goes on
// with what it reaches, unless a load balancer or every schedulable node is out of reach.
import { NodeConnectionError } from "./docker/faults";

/** How long one step (a check, a diff, the start of an update) waits for all its probes together. */
export const REACH_DEADLINE_MS = 5000;

/** A probe still waiting when its step's deadline passed. */
export class NoAnswerError extends Error {}

// Errors that say nothing answered there: no route, nothing listening, no such socket, a name that
// does not resolve from here. An answer that refused us (TLS, SSH key, permissions) is not one of them.
const NO_ANSWER = new Set([
    "ETIMEDOUT",
    "ECONNABORTED",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "EHOSTDOWN",
    "ECONNRESET",
    "EPIPE",
    "ECONNREFUSED",
    "ENOENT",
    "ENOTFOUND",
    "EAI_AGAIN",
]);

/** Whether an error means the node or load balancer could not be reached (rather than that it answered no). */
export function noAnswer(e: any): boolean {
    if (e instanceof NoAnswerError) return true;
    if (e instanceof NodeConnectionError) return e.noAnswer;
    return NO_ANSWER.has(e?.code) || e?.level === "client-timeout" || /timeout|timed out|socket hang up/i.test(e?.message ?? "");
}

/**
 * Runs every probe of one step at once under one deadline: however many nodes hang, the step waits
 * `deadlineMs` at most, not one connection timeout each. A probe still waiting then fails with NoAnswerError.
 */
export async function settleWithin<T, R>(
    items: T[],
    probe: (item: T) => Promise<R>,
    deadlineMs = REACH_DEADLINE_MS,
): Promise<PromiseSettledResult<R>[]> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new NoAnswerError(`did not answer within ${deadlineMs / 1000} s`)), deadlineMs);
    });
    try {
        return await Promise.allSettled(items.map((item) => Promise.race([probe(item), deadline])));
    } finally {
        clearTimeout(timer);
    }
}

/**
 * How long planning remembers an endpoint that gave no answer within the deadline: the next planning
 * step of the same run (the Service's check after its Cluster's, a diff after a check) reports it at
 * once instead of waiting for it again. Acting never uses this memory: it asks again.
 */
export const SILENCE_MEMORY_MS = 60_000;
const silent = new Map<string, { message: string; until: number }>();

/**
 * settleWithin for a planning step: what did not answer an earlier planning step of this run, within
 * SILENCE_MEMORY_MS, fails at once (NoAnswerError); what does not answer now is remembered. `endpoint`
 * names where a probe goes (a node's Docker URL, a load balancer).
 */
export async function settleForPlan<T, R>(
    items: T[],
    endpoint: (item: T) => string,
    probe: (item: T) => Promise<R>,
    deadlineMs = REACH_DEADLINE_MS,
): Promise<PromiseSettledResult<R>[]> {
    const started = Date.now();
    const remembered = (item: T) => {
        const s = silent.get(endpoint(item));
        return s && s.until > started ? s : undefined;
    };
    const settled = await settleWithin(
        items,
        (item) => {
            const s = remembered(item);
            return s ? Promise.reject(new NoAnswerError(`${s.message} (earlier in this run)`)) : probe(item);
        },
        deadlineMs,
    );
    settled.forEach((r, i) => {
        if (r.status === "rejected" && r.reason instanceof NoAnswerError && !remembered(items[i])) {
            silent.set(endpoint(items[i]), { message: r.reason.message, until: Date.now() + SILENCE_MEMORY_MS });
        }
    });
    return settled;
}

/** An update that stopped before changing anything, because of what it could not reach. */
export class OutOfReachError extends Error {}

/** What one step's probes found. `error` is set on what could not be reached. */
export interface Reach {
    nodes: Array<{ name: string; schedulable: boolean; error?: string }>;
    slbs: Array<{ name: string; error?: string }>;
}

export type ReachVerdict =
    /** Go on with what answers; `leftOut` names the nodes that did not. */
    | { kind: "go"; leftOut: string[] }
    /** Planning: the plan is unknown, because these could not be reached. */
    | { kind: "unknown"; nodes: string[]; slbs: string[]; reason: string }
    /** Acting: stop before changing anything. */
    | { kind: "fail"; reason: string };

const named = (what: string, items: Array<{ name: string; error?: string }>) =>
    `${what}${items.length > 1 ? "s" : ""} ${items.map((i) => i.name).join(", ")}`;
const why = (items: Array<{ name: string; error?: string }>) => items.map((i) => `${i.name}: ${i.error}`).join("; ");

/**
 * The rule. Planning needs every schedulable node and every load balancer: a plan made without one
 * of them would not be the plan `up` runs (a cordoned or leaving node may be down: it takes nothing).
 * Acting needs every load balancer (backends cannot be registered or drained blind) and at least
 * one schedulable node; a node that does not answer is left out, its share placed elsewhere.
 */
export function reachVerdict(step: "plan" | "act", reach: Reach): ReachVerdict {
    const lostNodes = reach.nodes.filter((n) => n.error !== undefined);
    const lostSlbs = reach.slbs.filter((s) => s.error !== undefined);
    if (step === "plan") {
        const missing = [...lostNodes.filter((n) => n.schedulable), ...lostSlbs];
        if (missing.length === 0) return { kind: "go", leftOut: lostNodes.map((n) => n.name) };
        const nodes = lostNodes.filter((n) => n.schedulable);
        const what = [nodes.length ? named("node", nodes) : "", lostSlbs.length ? named("load balancer", lostSlbs) : ""]
            .filter(Boolean)
            .join(" and ");
        return {
            kind: "unknown",
            nodes: nodes.map((n) => n.name),
            slbs: lostSlbs.map((s) => s.name),
            reason: `${what} could not be reached from here (${why(missing)})`,
        };
    }
    if (lostSlbs.length)
        return { kind: "fail", reason: `${named("load balancer", lostSlbs)} could not be reached (${why(lostSlbs)}): nothing was changed` };
    const schedulable = reach.nodes.filter((n) => n.schedulable);
    if (schedulable.length > 0 && schedulable.every((n) => n.error !== undefined)) {
        return { kind: "fail", reason: `no schedulable node answers (${why(schedulable)}): nothing was changed` };
    }
    return { kind: "go", leftOut: lostNodes.map((n) => n.name) };
}
