// Progress lines. The provider's output shows in `pulumi up`, so long operations say what they do.

export type Progress = (line: string) => void;

export function progressFor(scope: string, write: (line: string) => void = (l) => console.log(l)): Progress {
    return (line) => write(`[berth] ${scope}: ${line}`);
}

/** Prints a repeating status only when it changes, or every `everyMs` while it stays the same. */
export function throttled(progress: Progress, everyMs = 5000): Progress {
    let last = "";
    let at = 0;
    return (line) => {
        const now = Date.now();
        if (line !== last || now - at >= everyMs) {
            progress(line);
            last = line;
            at = now;
        }
    };
}

/** A list for a progress line: the first few, then how many more. */
export function few(items: string[], shown = 6): string {
    return items.length <= shown ? items.join(", ") : `${items.slice(0, shown).join(", ")} and ${items.length - shown} more`;
}
