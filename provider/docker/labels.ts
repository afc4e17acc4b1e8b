// How berth marks what it owns on a Docker host. State lives in the world: these labels let
// `read` rebuild a service's truth from Docker alone.
import { createHash, randomBytes } from "crypto";

export const LABEL = {
    managed: "berth.managed",
    cluster: "berth.cluster",
    service: "berth.service",
    revision: "berth.revision",
    slot: "berth.slot",
    specHash: "berth.spec-hash",
    /** The image tag, or the digest when the service pins one: what monitoring shows as the version. */
    version: "berth.version",
} as const;

export function specHash(spec: unknown): string {
    return createHash("sha256").update(canonicalJson(spec)).digest("hex");
}

/** A revision is the short form of the spec hash: same spec, same revision. */
export function revisionOf(hash: string): string {
    return hash.slice(0, 10);
}

/**
 * `<service>-<slot>-<revision>-<nonce>`: the nonce keeps names unique across the cluster when a slot
 * of the same revision moves to another node while the old container still serves (a load
 * balancer names its backends after the containers).
 */
export function containerName(service: string, slot: number, revision: string): string {
    return `${service}-${slot}-${revision}-${randomBytes(2).toString("hex")}`;
}

/** Matches the names (and so the backends) of one service's containers. */
export function containerNamePattern(service: string): RegExp {
    return new RegExp(`^${service}-\\d+-[0-9a-f]{10}-[0-9a-f]{4}$`);
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
