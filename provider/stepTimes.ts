// How long each named step of a release took, summed over its batches and passes, on the
// operation's clock: the release report's last line, so `lastRelease` (and the rollout benchmark)
// shows where a release's time went and the next regression is visible.
import { surroundings } from "./surroundings";

export class StepTimes {
    private readonly ms = new Map<string, number>();

    /** Runs one step, adding its duration to the step's total (also when it fails). */
    async time<T>(step: string, run: () => Promise<T>): Promise<T> {
        const clock = surroundings().clock;
        const started = clock.now();
        try {
            return await run();
        } finally {
            this.ms.set(step, (this.ms.get(step) ?? 0) + clock.now() - started);
        }
    }

    has(step: string): boolean {
        return this.ms.has(step);
    }

    /** Seconds per step, in the order the steps first ran. */
    seconds(): Record<string, number> {
        return Object.fromEntries([...this.ms].map(([step, ms]) => [step, Math.round(ms / 10) / 100]));
    }

    line(): string {
        return `${STEP_TIMES}${Object.entries(this.seconds())
            .map(([step, s]) => `${step} ${s.toFixed(2)} s`)
            .join(", ")}`;
    }
}

/** How the release report's step-times line starts. */
export const STEP_TIMES = "step times: ";

/** The step times a release report's line gives, in seconds (empty when it has none). */
export function stepTimesIn(report: string[]): Record<string, number> {
    const line = report.find((l) => l.startsWith(STEP_TIMES));
    if (!line) return {};
    return Object.fromEntries(
        line
            .slice(STEP_TIMES.length)
            .split(", ")
            .map((part) => {
                const m = /^(.*) ([\d.]+) s$/.exec(part);
                if (!m) throw new Error(`not a step time: ${part}`);
                return [m[1], Number(m[2])];
            }),
    );
}
