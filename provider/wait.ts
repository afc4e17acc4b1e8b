// Waiting on conditions with a deadline, never on fixed sleeps, and cancelling the waits that move
// a release forward. Time and cancellation are the running operation's world's (surroundings.ts).
import { AsyncLocalStorage } from "async_hooks";
import { surroundings } from "./surroundings";

export class DeadlineError extends Error {}

/** Thrown by a probe to stop waiting at once: what it saw will not get better by waiting. */
export class FatalError extends Error {}

/** A cancellable wait ended because the operation was cancelled. */
export class CancelledError extends FatalError {}

// Per operation: the deadline a resource's customTimeouts gives its create or update (the plugin sets it).
const deadlines = new AsyncLocalStorage<{ at: number; what: string }>();

/** Runs `fn` (a create or an update) with a deadline: its cancellable waits end once it passes, as at Ctrl-C. */
export function withDeadline<T>(seconds: number, what: string, fn: () => T): T {
    return deadlines.run({ at: surroundings().clock.now() + seconds * 1000, what }, fn);
}

/** Why waits that move the operation forward must stop now, if they must: a cancellation or the operation's deadline. */
function stopping(what: string): CancelledError | undefined {
    const { clock, cancellation } = surroundings();
    if (cancellation.aborted) return new CancelledError(`cancelled (Ctrl-C or pulumi cancel) while waiting for ${what}`);
    const d = deadlines.getStore();
    if (d && clock.now() >= d.at) return new CancelledError(`${d.what} passed while waiting for ${what}`);
    return undefined;
}

/** Whether the operation was cancelled or ran past its deadline: long operations stop at their next safe point. */
export const cancelled = (): boolean => stopping("") !== undefined;

/** A configured pause that a cancellation or the operation's deadline ends early. */
export async function cancellablePause(seconds: number, what: string): Promise<void> {
    const { clock, cancellation } = surroundings();
    const d = deadlines.getStore();
    await clock.sleep(Math.min(seconds * 1000, d ? Math.max(0, d.at - clock.now()) : Infinity), cancellation);
    const stop = stopping(what);
    if (stop) throw stop;
}

export interface WaitOptions {
    /** Seconds until giving up. */
    timeoutSeconds: number;
    /** What is awaited, for the error message. */
    what: string;
    intervalMs?: number;
    /** Called once per poll with the latest observation, e.g. to print progress. */
    onPoll?: (elapsedSeconds: number) => void;
    /** Ends with CancelledError once the operation is cancelled (see surroundings.ts's cancelWaits) or past its deadline. */
    cancellable?: boolean;
}

/**
 * Polls `probe` until it returns a value other than undefined; throws DeadlineError with `what` and
 * the last detail. A probe's error counts as "not yet" unless it is a FatalError.
 */
export async function waitUntil<T>(probe: () => Promise<T | undefined>, opts: WaitOptions): Promise<T> {
    const { clock, cancellation } = surroundings();
    const started = clock.now();
    const deadline = started + opts.timeoutSeconds * 1000;
    let lastError: unknown;
    for (;;) {
        const stop = opts.cancellable ? stopping(opts.what) : undefined;
        if (stop) throw stop;
        try {
            const value = await probe();
            if (value !== undefined) return value;
            lastError = undefined;
        } catch (e) {
            if (e instanceof FatalError) throw e;
            lastError = e;
        }
        opts.onPoll?.((clock.now() - started) / 1000);
        if (clock.now() >= deadline) {
            const detail = lastError instanceof Error ? `: ${lastError.message}` : "";
            throw new DeadlineError(`timed out after ${opts.timeoutSeconds}s waiting for ${opts.what}${detail}`);
        }
        await clock.sleep(opts.intervalMs ?? 250, opts.cancellable ? cancellation : undefined);
    }
}

/** A fixed wait on the operation's clock that no cancellation ends: for undoing, which runs to its own bounds. */
export const sleep = (ms: number): Promise<void> => surroundings().clock.sleep(ms);
