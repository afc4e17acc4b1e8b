// Progress lines. The provider's output shows in `pulumi up`, so long operations say what they do.
import { AsyncLocalStorage } from "async_hooks";
import { logToEngine, Severity } from "./engineLog";
import { surroundings } from "./surroundings";

/** A progress line; `status`: a wait in progress, which the next status replaces (decisions and outcomes last). */
export type Progress = (line: string, status?: boolean) => void;

// The dynamic provider's stdout reaches `pulumi up` as is; the provider plugin handles several
// resources at once and sends each one's lines to the engine against that resource's URN.
const sinks = new AsyncLocalStorage<(line: string, severity?: Severity) => void>();

/** Runs `fn` with the progress lines of everything it calls going to `sink`. */
export function withProgressSink<T>(sink: (line: string, severity?: Severity) => void, fn: () => T): T {
    return sinks.run(sink, fn);
}

export function progressFor(scope: string, write?: (line: string) => void): Progress {
    return (line, status) => {
        const text = `[berth] ${scope}: ${line}`;
        const sink = sinks.getStore();
        if (write) write(text);
        else if (sink) sink(text, status ? "status" : "info");
        else console.log(text);
    };
}

/** A warning: among the run's warnings (the dynamic provider knows no URN: without one), else a progress line. */
export function warnFor(scope: string): Progress {
    return (line) => {
        const text = `[berth] ${scope}: ${line}`;
        const sink = sinks.getStore();
        if (sink) sink(text, "warning");
        else if (!logToEngine("", text, "warning")) console.log(text);
    };
}

/** Prints a repeating status (a wait in progress) only when it changes, or every `everyMs` while it stays the same. */
export function throttled(progress: Progress, everyMs = 5000): Progress {
    let last = "";
    let at = 0;
    return (line) => {
        const now = surroundings().clock.now();
        if (line !== last || now - at >= everyMs) {
            progress(line, true);
            last = line;
            at = now;
        }
    };
}

/** A list for a progress line: the first few, then how many more. */
export function few(items: string[], shown = 6): string {
    return items.length <= shown ? items.join(", ") : `${items.slice(0, shown).join(", ")} and ${items.length - shown} more`;
}
