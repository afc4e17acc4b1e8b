// What an operation reaches below the engine through its world: the clock its waits run on, the
// cancellation that ends them, and the registries it asks for manifests. The engine's World
// (engine/world.ts) adds Docker hosts and load balancers. Real by default; tests run an operation in
// a fake world (virtual time, their own cancellation) so a drain timeout or a pause costs no wall time.
import { AsyncLocalStorage } from "async_hooks";
import { setTimeout as delay } from "timers/promises";
import { RegistryCredentials } from "./model";
import { RegistryClient } from "./registry/client";

export interface Clock {
    /** Milliseconds since the epoch. */
    now(): number;
    /** Resolves after `ms`, or as soon as `signal` aborts. */
    sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
    now: () => Date.now(),
    sleep: (ms, signal) =>
        delay(ms, undefined, { signal }).catch((e: any) => {
            if (e?.name !== "AbortError") throw e;
        }),
};

/** A registry as the engine asks it before any node pulls: the manifest (digest) of a tag. */
export type ManifestSource = Pick<RegistryClient, "manifest">;

export interface Surroundings {
    readonly clock: Clock;
    /** Aborted when this world's operations are cancelled: their cancellable waits end at once. */
    readonly cancellation: AbortSignal;
    registryFor(server: string, credentials?: RegistryCredentials): ManifestSource;
}

// Process-wide for the real world: Pulumi cancels all of a provider's operations at once (its Cancel RPC, sent on Ctrl-C).
const realCancellation = new AbortController();

export const realSurroundings: Surroundings = {
    clock: realClock,
    cancellation: realCancellation.signal,
    registryFor: (server, credentials) => new RegistryClient(server, credentials, credentials?.ca),
};

/**
 * Ends every cancellable wait of the real world at once, now and later in this process. Only the
 * waits that move a release forward are cancellable; undoing (rollback, drain, stop) runs to its own
 * bounds, so a cancelled release leaves the previous revision serving.
 */
export function cancelWaits(): void {
    realCancellation.abort();
}

const current = new AsyncLocalStorage<Surroundings>();

/** Runs `fn` (and everything it starts) in `surroundings`; engine/world.ts's withWorld is how the engine does. */
export function withSurroundings<T>(surroundings: Surroundings, fn: () => T): T {
    return current.run(surroundings, fn);
}

/** The surroundings of the running operation: the real ones unless it runs in another world. */
export const surroundings = (): Surroundings => current.getStore() ?? realSurroundings;
