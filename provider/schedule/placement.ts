// Pure placement: which node each new container goes to. Spreads a service's containers across
// zones, then nodes (fewest of this service first); never onto a cordoned or unreachable node, a
// node a constraint or affinity rules out, a node at maxPerNode, or where a fixed host port it
// needs is already held.

export interface NodeView {
    name: string;
    zone?: string;
    labels?: Record<string, string>;
    schedulable: boolean;
    reachable: boolean;
}

/** What is already on a node, as far as placement cares. */
export interface NodeLoad {
    /** Containers of the service being placed. */
    serviceContainers: number;
    /** Host ports held on the node by anything (this service, other services, unmanaged containers, other processes). */
    hostPorts: Set<number>;
    /** Who holds a port, where known from outside this service: named in the exclusion reason. */
    holders?: Map<number, string>;
}

/** `node.name|node.zone|node.labels.<key>` `==|!=` value */
export interface Constraint {
    key: string;
    op: "==" | "!=";
    value: string;
    text: string;
}

/** `service == cache` (run beside it) or `service != mysql` (never beside it). */
export interface Affinity {
    service: string;
    op: "==" | "!=";
    text: string;
}

export interface PlacementRules {
    fixedHostPorts: number[];
    constraints?: Constraint[];
    affinity?: Affinity[];
    maxPerNode?: number;
    /** Services running on each node now (judged from what really runs). */
    servicesOnNode?: Map<string, Set<string>>;
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

const EXPRESSION = /^\s*([\w.\-/]+)\s*(==|!=)\s*(\S+)\s*$/;
/** Node label keys a constraint `node.labels.<key>` can name (the key part of EXPRESSION). */
export const LABEL_KEY = /^[\w.\-/]+$/;

export function parseConstraint(text: string): Constraint {
    const m = EXPRESSION.exec(text);
    if (!m || !/^node\.(name|zone|labels\.[\w.\-/]+)$/.test(m[1])) {
        throw new Error(`"${text}" is not "node.name|node.zone|node.labels.<key> ==|!= <value>"`);
    }
    return { key: m[1], op: m[2] as "==" | "!=", value: m[3], text: text.trim() };
}

export function parseAffinity(text: string): Affinity {
    const m = EXPRESSION.exec(text);
    if (!m || m[1] !== "service") throw new Error(`"${text}" is not "service ==|!= <name>"`);
    return { service: m[3], op: m[2] as "==" | "!=", text: text.trim() };
}

function nodeValue(node: NodeView, key: string): string | undefined {
    if (key === "node.name") return node.name;
    if (key === "node.zone") return node.zone;
    return node.labels?.[key.slice("node.labels.".length)];
}

/** Why a node can never take this service (cordon, constraints, affinity), whatever runs on it. */
export function staticExclusion(node: NodeView, rules: PlacementRules): string | undefined {
    if (!node.reachable) return "its Docker engine does not answer";
    if (!node.schedulable) return "it is cordoned (schedulable: false)";
    for (const c of rules.constraints ?? []) {
        const v = nodeValue(node, c.key);
        if ((c.op === "==") !== (v === c.value)) return `constraint ${c.text} (it has ${v === undefined ? "none" : JSON.stringify(v)})`;
    }
    for (const a of rules.affinity ?? []) {
        const present = rules.servicesOnNode?.get(node.name)?.has(a.service) ?? false;
        if (a.op === "==" && !present) return `affinity ${a.text} (no ${a.service} runs there)`;
        if (a.op === "!=" && present) return `anti-affinity ${a.text} (${a.service} runs there)`;
    }
    return undefined;
}

function exclusionReason(node: NodeView, load: NodeLoad, rules: PlacementRules): string | undefined {
    const fixed = staticExclusion(node, rules);
    if (fixed) return fixed;
    if (rules.maxPerNode !== undefined && load.serviceContainers >= rules.maxPerNode) return `it already runs maxPerNode=${rules.maxPerNode}`;
    const held = rules.fixedHostPorts.filter((p) => load.hostPorts.has(p));
    if (held.length > 0) {
        const by = held.flatMap((p) => (load.holders?.has(p) ? [`${p} by ${load.holders.get(p)}`] : []));
        return `host port ${held.join(", ")} is already held there${by.length ? ` (${by.join(", ")})` : ""}`;
    }
    return undefined;
}

export function exclusions(nodes: NodeView[], loads: Map<string, NodeLoad>, rules: PlacementRules): Exclusion[] {
    return nodes.flatMap((n) => {
        const reason = exclusionReason(n, loads.get(n.name) ?? emptyLoad(), rules);
        return reason ? [{ node: n.name, reason }] : [];
    });
}

/**
 * Places `count` containers. `loads` is updated in place so consecutive calls see earlier placements.
 * Places fewer than `count` when the nodes cannot take them; `exclusions` says why.
 */
export function place(count: number, nodes: NodeView[], loads: Map<string, NodeLoad>, rules: PlacementRules): PlacementResult {
    const placed: string[] = [];
    const zoneLoad = (zone: string | undefined) =>
        nodes.filter((n) => n.zone === zone).reduce((sum, n) => sum + (loads.get(n.name)?.serviceContainers ?? 0), 0);
    for (let i = 0; i < count; i++) {
        const candidates = nodes
            .map((n, order) => ({ n, order, load: loads.get(n.name) ?? emptyLoad() }))
            .filter(({ n, load }) => exclusionReason(n, load, rules) === undefined)
            .sort((a, b) => zoneLoad(a.n.zone) - zoneLoad(b.n.zone) || a.load.serviceContainers - b.load.serviceContainers || a.order - b.order);
        if (candidates.length === 0) break;
        const { n, load } = candidates[0];
        load.serviceContainers++;
        rules.fixedHostPorts.forEach((p) => load.hostPorts.add(p));
        loads.set(n.name, load);
        placed.push(n.name);
    }
    return { nodes: placed, exclusions: exclusions(nodes, loads, rules) };
}

/** Zones the service's containers span, given the nodes they run on. */
export function zonesSpanned(nodes: NodeView[], nodeNames: string[]): string[] {
    const zoneOf = new Map(nodes.map((n) => [n.name, n.zone ?? n.name]));
    return [...new Set(nodeNames.map((n) => zoneOf.get(n) ?? n))].sort();
}
