// Whom a Service resource acts for, and which containers of its name are its own.
import { mintOwnerId } from "../../docker/labels";
import { ContainerState, ServiceArgs, ServiceState } from "../../model";

/**
 * Whom a Service resource acts for: its stack and the owner id minted at its create. It also owns the
 * containers of its last state made before owners (no labels say whose they are; the state does).
 */
export interface Owner {
    stack?: string;
    id: string;
    adopted: Set<string>;
}

export function ownerFrom(args: Pick<ServiceArgs, "stack">, ownerId: string | undefined, lastContainers: ContainerState[] = []): Owner {
    return { stack: args.stack, id: ownerId ?? mintOwnerId(), adopted: new Set(lastContainers.filter((c) => !c.owner).map((c) => c.id)) };
}

/**
 * A container of this service name is the resource's own, a predecessor's (the same stack's, of another
 * owner: the resource this one replaces), or another stack's, which it never changes.
 */
export function ownership(owner: Owner, c: Pick<ContainerState, "id" | "stack" | "owner">): "own" | "predecessor" | "foreign" {
    if (c.owner === owner.id || (!c.owner && !c.stack && owner.adopted.has(c.id))) return "own";
    if (c.owner && owner.stack !== undefined && c.stack === owner.stack) return "predecessor";
    return "foreign";
}

/** The owner a state records (state written before owners has no id: it owns only the containers it lists). */
export const ownerOfState = (state: ServiceState) => ownerFrom(state, state.ownerId, state.containers);
