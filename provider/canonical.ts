// Pure: a value's canonical JSON (keys sorted, undefined left out) and the hashes made from it: the
// same value gives the same text whatever order its keys were built in, so diffs and revisions compare
// content, never construction order.
import { createHash } from "crypto";

/** JSON with object keys sorted, so equal specs hash equally whatever the key order. */
export function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value && typeof value === "object") {
        const entries = Object.entries(value as Record<string, unknown>)
            .filter(([, v]) => v !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
    }
    return JSON.stringify(value);
}

export function specHash(spec: unknown): string {
    return createHash("sha256").update(canonicalJson(spec)).digest("hex");
}

/** A revision is the short form of the spec hash: same spec, same revision. */
export function revisionOf(hash: string): string {
    return hash.slice(0, 10);
}
