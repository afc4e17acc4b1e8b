// Waiting on conditions with a deadline, never on fixed sleeps, and cancelling the waits that move
// a release forward.
import { setTimeout as delay } from "timers/promises";

export class DeadlineError extends Error {}

/** Thrown by a probe to stop waiting at once: what it saw will not get better by waiting. */
export class FatalError extends Error {}

/** A cancellable wait ended because the operation was cancelled. */
export class CancelledError extends FatalError {}

// Process-wide: Pulumi cancels all of a provider's operations at once (its Cancel RPC, sent on Ctrl-C).
const cancellation = new AbortController();

/**
 * Ends every cancellable wait at once, now and later in this process. Only the waits that move a
 * release forward are cancellable; undoing (rollback, drain, stop) runs to its own bounds, so a
 * cancelled release leaves the previous revision serving.
 */
export function cancelWaits(): void {
    cancellation.abort();
}

/** Whether the operation was cancelled: long operations stop at their next safe point. */
export const cancelled = (): boolean => cancellation.signal.aborted;

const cancelledWhile = (what: string) => new CancelledError(`cancelled (Ctrl-C or pulumi cancel) while waiting for ${what}`);

/** A configured pause that a cancellation ends early. */
export async function cancellablePause(seconds: number, what: string): Promise<void> {
    try {
        await delay(seconds * 1000, undefined, { signal: cancellation.signal });
    } catch (e: any) {
        if (e?.name === "AbortError") throw cancelledWhile(what);
        throw e;
    }
}

export interface WaitOptions {
    /** Seconds until giving up. */
    timeoutSeconds: number;
    /** What is awaited, for the error message. */
    what: string;
    intervalMs?: number;
    /** Called once per poll with the latest observation, e.g. to print progress. */
    onPoll?: (elapsedSeconds: number) => void;
    /** Ends with CancelledError once the operation is cancelled (see cancelWaits). */
    cancellable?: boolean;
}

/**
 * Polls `probe` until it returns a value other than undefined; throws DeadlineError with `what` and
 * the last detail. A probe's error counts as "not yet" unless it is a FatalError.
 */
export async function waitUntil<T>(probe: () => Promise<T | undefined>, opts: WaitOptions): Promise<T> {
    const started = Date.now();
    const deadline = started + opts.timeoutSeconds * 1000;
    let lastError: unknown;
    for (;;) {
        if (opts.cancellable && cancellation.signal.aborted) throw cancelledWhile(opts.what);
        try {
            const value = await probe();
            if (value !== undefined) return value;
            lastError = undefined;
        } catch (e) {
            if (e instanceof FatalError) throw e;
            lastError = e;
        }
        opts.onPoll?.((Date.now() - started) / 1000);
        if (Date.now() >= deadline) {
            const detail = lastError instanceof Error ? `: ${lastError.message}` : "";
            throw new DeadlineError(`timed out after ${opts.timeoutSeconds}s waiting for ${opts.what}${detail}`);
        }
        await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
    }
}
