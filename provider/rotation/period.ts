// Pure period arithmetic for bucket rotation: which period a moment falls in, the bucket name of a
// period, and the order of buckets. Weeks are ISO 8601 weeks (Monday first; week 1 holds 4 January).
/** How long one bucket lasts: a calendar quarter, a calendar month or an ISO week. */
export type PeriodKind = "quarter" | "month" | "week";
export const PERIOD_KINDS: PeriodKind[] = ["quarter", "month", "week"];

export interface Period {
    kind: PeriodKind;
    /** Calendar year (quarter, month) or ISO week-numbering year (week). */
    year: number;
    /** Quarter 1-4, month 1-12 or ISO week 1-53. */
    index: number;
}

const LETTER: Record<PeriodKind, string> = { quarter: "q", month: "m", week: "w" };
const DAY_MS = 86_400_000;

/** Thursday of the moment's ISO week decides the week's year. */
function isoWeek(d: Date): { year: number; week: number } {
    const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday 0
    const thursday = new Date(day + (3 - weekday) * DAY_MS);
    const year = thursday.getUTCFullYear();
    const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
    return { year, week };
}

/** The period a moment (UTC) falls in. */
export function periodOf(at: Date, kind: PeriodKind): Period {
    if (kind === "week") {
        const { year, week } = isoWeek(at);
        return { kind, year, index: week };
    }
    const month = at.getUTCMonth() + 1;
    return { kind, year: at.getUTCFullYear(), index: kind === "quarter" ? Math.ceil(month / 3) : month };
}

/** `2026q4`, `2026m11`, `2026w47`: months and weeks with two digits so names sort like time. */
export function periodLabel(p: Period): string {
    return `${p.year}${LETTER[p.kind]}${p.kind === "quarter" ? p.index : String(p.index).padStart(2, "0")}`;
}

export function bucketName(prefix: string, p: Period): string {
    return `${prefix}-${periodLabel(p)}`;
}

/** First moment (UTC) of a period. */
export function periodStart(p: Period): Date {
    if (p.kind === "quarter") return new Date(Date.UTC(p.year, (p.index - 1) * 3, 1));
    if (p.kind === "month") return new Date(Date.UTC(p.year, p.index - 1, 1));
    const jan4 = Date.UTC(p.year, 0, 4);
    const mondayOfWeek1 = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY_MS;
    return new Date(mondayOfWeek1 + (p.index - 1) * 7 * DAY_MS);
}

/** The period a bucket of this prefix holds, or undefined for a name that is not one of its buckets. */
export function parseBucket(prefix: string, name: string): Period | undefined {
    if (!name.startsWith(prefix + "-")) return undefined;
    const m = /^(\d{4})([qmw])(\d{1,2})$/.exec(name.slice(prefix.length + 1));
    if (!m) return undefined;
    const kind = PERIOD_KINDS.find((k) => LETTER[k] === m[2])!;
    const index = Number(m[3]);
    const max = kind === "quarter" ? 4 : kind === "month" ? 12 : 53;
    return index >= 1 && index <= max ? { kind, year: Number(m[1]), index } : undefined;
}

/** Newest first, by when each period starts (so a change of period kind still orders correctly). */
export function newestFirst(prefix: string, names: string[]): string[] {
    const start = (n: string) => periodStart(parseBucket(prefix, n)!).getTime();
    return names.filter((n) => parseBucket(prefix, n)).sort((a, b) => start(b) - start(a));
}

/** Which buckets stay (the current one and the `retain - 1` newest before it) and which go. */
export function retention(prefix: string, current: string, existing: string[], retain: number): { keep: string[]; purge: string[] } {
    const older = newestFirst(
        prefix,
        existing.filter((n) => n !== current),
    );
    return { keep: [current, ...older.slice(0, retain - 1)], purge: older.slice(retain - 1) };
}

/**
 * Whether a prefix makes valid S3 bucket names (3-63 characters, lowercase letters, digits, dots and
 * hyphens, starting and ending with a letter or digit, no "..", not an IP address). Returns the problem.
 */
export function prefixProblem(prefix: string): string | undefined {
    const longest = `${prefix}-2026m11`;
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(prefix))
        return "must start with a lowercase letter or digit and hold only lowercase letters, digits, '.' and '-' (S3 bucket name rules)";
    if (longest.length > 63) return `is too long: bucket names such as ${longest} must be at most 63 characters`;
    if (/\.\.|\.-|-\./.test(prefix) || prefix.endsWith(".")) return "must not contain '..', '.-' or '-.' (S3 bucket name rules)";
    if (prefix.startsWith("xn--")) return "must not start with 'xn--' (S3 bucket name rules)";
    if (/^\d+\.\d+\.\d+\.\d+$/.test(prefix)) return "must not look like an IP address (S3 bucket name rules)";
    return undefined;
}
