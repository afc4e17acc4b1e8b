// The narrow interface every load balancer driver offers the release engine.
import { SlbBindingArgs } from "../model";

export interface Backend {
    name: string;
    address: string;
    port: number;
}

/** Who made a listener: the stack and the SlbBinding resource's owner id. */
export interface ListenerOwner {
    stack?: string;
    ownerId: string;
}

/** Why a binding cannot be this stack's listener, as a failure of the input at fault. */
export interface ListenerClash {
    property: "name" | "listen.port";
    reason: string;
}

/** A listener as the load balancer shows it: its name, where it listens, and its owner if it records one. */
export interface RecordedListener {
    name: string;
    listen: string;
    owner?: ListenerOwner;
}

/** The owner listener `name` records (on any of its listeners, where one name has several). */
export const ownerOf = (listeners: RecordedListener[], name: string) => listeners.find((l) => l.name === name && l.owner)?.owner;

const whose = (owner: ListenerOwner | undefined) => (owner?.stack ? `stack ${owner.stack}` : "no stack (made before owners, or not by berth)");

/**
 * Why the listener `wanted` cannot be this stack's, the same rule for every load balancer: its name is
 * another stack's listener, or another listener listens where it would. A listener that records no
 * owner (made before owners) is adopted by the binding whose state lists it.
 */
export function clashAmong(listeners: RecordedListener[], wanted: Omit<RecordedListener, "owner">, stack?: string): ListenerClash | undefined {
    const owner = ownerOf(listeners, wanted.name);
    if (owner && owner.stack !== stack) {
        return { property: "name", reason: `listener ${wanted.name} belongs to ${whose(owner)}: give this stack's binding another name` };
    }
    const other = listeners.find((l) => l.name !== wanted.name && l.listen === wanted.listen);
    if (other) return { property: "listen.port", reason: `${wanted.listen} is already the listener ${other.name} of ${whose(other.owner)}` };
    return undefined;
}

/** Why removing listener `name` must leave it in place (another owner's: a replacement took it), or undefined. */
export function keptListener(name: string, found: ListenerOwner | undefined, owner: ListenerOwner | undefined): string | undefined {
    if (!owner || !found || found.ownerId === owner.ownerId) return undefined;
    return `listener ${name} now belongs to ${found.stack ? `stack ${found.stack}` : "another stack"} (owner ${found.ownerId}): left in place`;
}

export interface BackendStatus extends Backend {
    weight: number;
    /** UP, DOWN, DRAIN, MAINT, ... as the load balancer says */
    status: string;
    /** Result of the last health check (HAProxy: L4OK, L7OK, L7STS, ...; Aliyun CLB: normal, abnormal, unavailable). */
    checkStatus: string;
    /** Sessions in flight. */
    sessions: number;
    /** Requests queued. */
    queued: number;
}

export interface SlbDriver {
    /**
     * Whether `backends()` reports requests in flight (HAProxy does). When not (Aliyun CLB), a traffic
     * shift drains by time: it waits the drain timeout (a Service's release.drainTimeoutSeconds, a
     * rotation's drainTimeoutSeconds) after weight 0 before removing.
     */
    readonly countsInFlight: boolean;
    /** Fails with a clear message when the load balancer does not answer. */
    ping(): Promise<void>;
    /** Makes or updates the listener, recording its owner where the load balancer can hold it; fails on a clash (see listenerClash). */
    ensureListener(binding: SlbBindingArgs, owner?: ListenerOwner): Promise<void>;
    /** Whether the listener and pool ensureListener made for `binding` are still there (read-only). */
    hasListener(binding: SlbBindingArgs): Promise<boolean>;
    /** Why `binding` cannot be this stack's listener (another stack's name or address), or undefined (read-only). */
    listenerClash(binding: SlbBindingArgs, stack: string | undefined): Promise<ListenerClash | undefined>;
    /** Removes the listener unless another owner's: then leaves it and says whose it is. */
    removeListener(name: string, owner?: ListenerOwner): Promise<string | undefined>;
    backends(pool: string): Promise<BackendStatus[]>;
    /**
     * Adds backends with health checks on, at weight 0 (HAProxy) or at the smallest weight where a load
     * balancer checks no weight-0 backend (Aliyun CLB): no traffic until healthy, little until raised.
     */
    addBackends(pool: string, backends: Backend[]): Promise<void>;
    setWeights(pool: string, weights: Array<{ name: string; weight: number }>): Promise<void>;
    /** Removes backends; callers drain them first. */
    removeBackends(pool: string, names: string[]): Promise<void>;
}

/** A backend the load balancer itself has seen pass its last health check. */
export function isLbHealthy(b: BackendStatus): boolean {
    return (b.status === "UP" || b.status === "DRAIN") && (/OK$/.test(b.checkStatus) || b.checkStatus === "normal");
}

export function isDrained(b: BackendStatus): boolean {
    return b.sessions === 0 && b.queued === 0;
}
