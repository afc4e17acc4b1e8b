// The narrow interface every load balancer driver offers the release engine.
import { SlbBindingArgs } from "../model";

export interface Backend {
    name: string;
    address: string;
    port: number;
}

export interface BackendStatus extends Backend {
    weight: number;
    /** UP, DOWN, DRAIN, MAINT, ... as the load balancer says */
    status: string;
    /** Result of the last health check (HAProxy: L4OK, L7OK, L7STS, ...). */
    checkStatus: string;
    /** Sessions in flight. */
    sessions: number;
    /** Requests queued. */
    queued: number;
}

export interface SlbDriver {
    /** Fails with a clear message when the load balancer does not answer. */
    ping(): Promise<void>;
    ensureListener(binding: SlbBindingArgs): Promise<void>;
    removeListener(name: string): Promise<void>;
    backends(pool: string): Promise<BackendStatus[]>;
    /** Adds backends at weight 0 with health checks on: they take no traffic until their weight is raised. */
    addBackends(pool: string, backends: Backend[]): Promise<void>;
    setWeights(pool: string, weights: Array<{ name: string; weight: number }>): Promise<void>;
    /** Removes backends; callers drain them first. */
    removeBackends(pool: string, names: string[]): Promise<void>;
}

/** A backend the load balancer itself has seen pass its last health check. */
export function isLbHealthy(b: BackendStatus): boolean {
    return (b.status === "UP" || b.status === "DRAIN") && /OK$/.test(b.checkStatus);
}

export function isDrained(b: BackendStatus): boolean {
    return b.sessions === 0 && b.queued === 0;
}
