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
     * Whether `backends()` reports requests in flight (HAProxy does). When not (Aliyun CLB), the
     * release drains by time: it waits release.drainTimeoutSeconds after weight 0 before removing.
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
