// Virtual time for the fake world: a sleep ends as soon as nothing runs (the event loop reaches its
// check phase), time jumping to the earliest sleeper's wake-up, so a 30 s drain timeout takes
// microseconds and concurrent sleepers still wake in the order real time would wake them.
import { Clock } from "../../provider/surroundings";

interface Sleeper {
    at: number;
    wake: () => void;
}

export class FakeClock implements Clock {
    /** Virtual milliseconds since the epoch. */
    private at = Date.parse("2026-12-01T00:00:00Z");
    private readonly sleepers: Sleeper[] = [];
    private advancing = false;

    now(): number {
        return this.at;
    }

    sleep(ms: number, signal?: AbortSignal): Promise<void> {
        if (signal?.aborted) return Promise.resolve();
        return new Promise((resolve) => {
            // A cancellation ends the sleep when it happens, not at its end.
            const cancel = () => {
                this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
                resolve();
            };
            const sleeper = {
                at: this.at + ms,
                wake: () => {
                    signal?.removeEventListener("abort", cancel);
                    resolve();
                },
            };
            this.sleepers.push(sleeper);
            signal?.addEventListener("abort", cancel, { once: true });
            this.advanceSoon();
        });
    }

    /** After the work now running settles (the fake world answers in promises), jumps to the earliest wake-up. */
    private advanceSoon(): void {
        if (this.advancing) return;
        this.advancing = true;
        setImmediate(() => {
            this.advancing = false;
            if (this.sleepers.length === 0) return;
            this.at = Math.max(this.at, Math.min(...this.sleepers.map((s) => s.at)));
            const due = this.sleepers.filter((s) => s.at <= this.at);
            due.forEach((s) => this.sleepers.splice(this.sleepers.indexOf(s), 1));
            due.forEach((s) => s.wake());
            if (this.sleepers.length) this.advanceSoon();
        });
    }
}
