// How berth marks what it owns on a Docker host. State lives in the world: these labels let
// `read` rebuild a service's truth from Docker alone.
import { createHash } from "crypto";

export const LABEL = {
    managed: "berth.managed",
    cluster: "berth.cluster",
    service: "berth.service",
    revision: "berth.revision",
    slot: "berth.slot",
    specHash: "berth.spec-hash",
} as const;

export function specHash(spec: unknown): string {
    return createHash("sha256").update(canonicalJson(spec)).digest("hex");
}

/** A revision is the short form of the spec hash: same spec, same revision. */
export function revisionOf(hash: string): string {
    return hash.slice(0, 10);
}

export function containerName(service: string, slot: number, revision: string): string {
    return `${service}-${slot}-${revision}`;
}

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
