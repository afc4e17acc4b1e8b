// Waiting on conditions with a deadline, never on fixed sleeps.

export class DeadlineError extends Error {}

/** Thrown by a probe to stop waiting at once: what it saw will not get better by waiting. */
export class FatalError extends Error {}

export interface WaitOptions {
    /** Seconds until giving up. */
    timeoutSeconds: number;
    /** What is awaited, for the error message. */
    what: string;
    intervalMs?: number;
    /** Called once per poll with the latest observation, e.g. to print progress. */
    onPoll?: (elapsedSeconds: number) => void;
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
