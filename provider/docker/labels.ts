// How berth marks what it owns on a Docker host. State lives in the world: these labels let
// `read` rebuild a service's truth from Docker alone.
import { randomBytes } from "crypto";

export const LABEL = {
    managed: "berth.managed",
    cluster: "berth.cluster",
    service: "berth.service",
    revision: "berth.revision",
    slot: "berth.slot",
    specHash: "berth.spec-hash",
    /** The image tag, or the digest when the service pins one: what monitoring shows as the version. */
    version: "berth.version",
    /** The stack that owns the container: organization/project/stack. */
    stack: "berth.stack",
    /** The owner id of the resource that started it, minted at its create and kept in its state. */
    owner: "berth.owner",
} as const;

/** The labels that say whose a container is (none that are not known). */
export function ownerLabels(stack: string | undefined, owner: string | undefined): Record<string, string> {
    return { ...(stack ? { [LABEL.stack]: stack } : {}), ...(owner ? { [LABEL.owner]: owner } : {}) };
}

/**
 * A resource's owner id: `o` and 7 hex digits. The letter keeps container names of owners apart from
 * names made before owners (`<service>-<slot>-...`), whose second part is a number.
 */
export function mintOwnerId(): string {
    return `o${randomBytes(4).toString("hex").slice(0, 7)}`;
}

/**
 * `<service>-<owner>-<slot>-<revision>-<nonce>`: a load balancer names its backends after the
 * containers, so the owner keeps one service name of two stacks (or of a resource and its forced
 * replacement) apart in names, backends and their removal; the nonce keeps names unique when a slot
 * of the same revision moves to another node while the old container still serves.
 */
export function containerName(service: string, owner: string, slot: number, revision: string): string {
    return `${service}-${owner}-${slot}-${revision}-${randomBytes(2).toString("hex")}`;
}

/**
 * Matches the names (and so the backends) of one service's containers: of the given owner, or without
 * one of any owner (what a binding of the stack holds of the service); names made before owners match both.
 */
export function containerNamePattern(service: string, owner?: string): RegExp {
    const ownerPart = `(-${owner ?? "o[0-9a-f]{7}"})?`;
    return new RegExp(`^${service}${ownerPart}-\\d+-[0-9a-f]{10}-[0-9a-f]{4}$`);
}
