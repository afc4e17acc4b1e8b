// Pure placement: which node each new container goes to. Spreads a service's containers
// across nodes (fewest of this service first), never onto a cordoned or unreachable node,
// and never where a fixed host port it needs is already held.

export interface NodeView {
    name: string;
    zone?: string;
    schedulable: boolean;
    reachable: boolean;
}

/** What is already on a node, as far as placement cares. */
export interface NodeLoad {
    /** Containers of the service being placed. */
    serviceContainers: number;
    /** Host ports held on the node by anything (this service, other services, unmanaged containers). */
    hostPorts: Set<number>;
}

export interface Exclusion {
    node: string;
    reason: string;
}

export interface PlacementResult {
    nodes: string[];
    /** Why each node could take no (more) containers. */
    exclusions: Exclusion[];
}

export function emptyLoad(): NodeLoad {
    return { serviceContainers: 0, hostPorts: new Set() };
}

function exclusionReason(node: NodeView, load: NodeLoad, fixedHostPorts: number[]): string | undefined {
    if (!node.reachable) return "its Docker engine does not answer";
    if (!node.schedulable) return "it is cordoned (schedulable: false)";
    const held = fixedHostPorts.filter((p) => load.hostPorts.has(p));
    if (held.length > 0) return `host port ${held.join(", ")} is already held there`;
    return undefined;
}

/**
 * Places `count` containers. `loads` is updated in place so consecutive calls see earlier placements.
 * Places fewer than `count` when the nodes cannot take them; `exclusions` says why.
 */
export function place(count: number, nodes: NodeView[], loads: Map<string, NodeLoad>, fixedHostPorts: number[]): PlacementResult {
    const placed: string[] = [];
    for (let i = 0; i < count; i++) {
        const candidates = nodes
            .map((n, order) => ({ n, order, load: loads.get(n.name) ?? emptyLoad() }))
            .filter(({ n, load }) => exclusionReason(n, load, fixedHostPorts) === undefined)
            .sort((a, b) => a.load.serviceContainers - b.load.serviceContainers || a.order - b.order);
        if (candidates.length === 0) break;
        const { n, load } = candidates[0];
        load.serviceContainers++;
        fixedHostPorts.forEach((p) => load.hostPorts.add(p));
        loads.set(n.name, load);
        placed.push(n.name);
    }
    const exclusions = nodes.flatMap((n) => {
        const reason = exclusionReason(n, loads.get(n.name) ?? emptyLoad(), fixedHostPorts);
        return reason ? [{ node: n.name, reason }] : [];
    });
    return { nodes: placed, exclusions };
}
