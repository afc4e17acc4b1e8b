// Step: observe. What runs on the nodes: the service's containers, and what else holds ports or runs
// beside it.
import { HostClient, RunningContainer } from "../../docker/host";
import { LABEL } from "../../docker/labels";
import { ContainerState, NodeSpec, ServiceArgs, ServiceState } from "../../model";
import { NodeView } from "../../schedule/placement";
import { nodeViews } from "../world";
import { Owner, ownership } from "./owner";

/** The labels that pick out the containers of this service name on a host, whichever stack owns them. */
export const selectorOf = (args: ServiceArgs) => ({ [LABEL.service]: args.name, [LABEL.cluster]: args.cluster.name });

/** The resource's containers of this service; with `predecessors`, also those of the resource it replaces (a release takes them over). */
export async function listContainers(
    args: ServiceArgs,
    owner: Owner,
    hosts: Map<string, HostClient>,
    reachable: Set<string>,
    predecessors = false,
): Promise<ContainerState[]> {
    const lists = await Promise.all([...hosts.values()].filter((h) => reachable.has(h.node)).map((h) => h.list(selectorOf(args))));
    return lists.flat().filter((c) => {
        const whose = ownership(owner, c);
        return whose === "own" || (predecessors && whose === "predecessor");
    });
}

/** The nodes a reconcile works on, and which of them answer now. */
export interface Nodes {
    specs: NodeSpec[];
    hosts: Map<string, HostClient>;
    views: NodeView[];
    reachable: Set<string>;
}

/** What one pass sees on the nodes: the service's containers, and what else holds ports or runs beside it. */
export interface Observed {
    nodes: Nodes;
    /** The resource's containers and its predecessor's. */
    containers: ContainerState[];
    /** Ids of the predecessor's containers: replaced whatever revision they run, as its delete removes them. */
    predecessors: Set<string>;
    foreignHostPorts: Map<string, Map<number, string>>;
    servicesOnNode: Map<string, Set<string>>;
}

/** The cluster's nodes, plus those that left it: drained like cordoned ones before berth forgets them. */
export function nodesOf(args: ServiceArgs, previous: ServiceState | undefined, progress: (l: string) => void): NodeSpec[] {
    const leaving = (previous?.cluster.nodes ?? []).filter((n) => !args.cluster.nodes.some((m) => m.name === n.name));
    for (const n of leaving) progress(`node ${n.name} left the cluster: moving its containers off it`);
    return [...args.cluster.nodes, ...leaving.map((n) => ({ ...n, schedulable: false }))];
}

/** Asks every node what runs: the service's containers, ports held by anything else (and what was learned to be held), services beside it. */
export async function observe(
    args: ServiceArgs,
    owner: Owner,
    specs: NodeSpec[],
    hosts: Map<string, HostClient>,
    held: Map<string, Map<number, string>>,
    progress: (l: string) => void,
): Promise<Observed> {
    const { views, reachable, errors } = await nodeViews(specs, hosts);
    for (const [node, error] of errors) progress(`node ${node} does not answer, leaving it out: ${error}`);
    const foreignHostPorts = new Map<string, Map<number, string>>();
    const servicesOnNode = new Map<string, Set<string>>();
    await Promise.all(
        [...reachable].map(async (node) => {
            // What other stacks own counts for host ports; affinity is to the same stack's services.
            const others = (await hosts.get(node)!.running()).filter((r) => r.service !== args.name || ownership(owner, r) === "foreign");
            const ports = new Map(held.get(node) ?? []);
            for (const r of others) for (const port of r.ports) ports.set(port, holderOf(r, owner));
            foreignHostPorts.set(node, ports);
            servicesOnNode.set(node, new Set(others.flatMap((r) => (r.service && (!r.stack || r.stack === owner.stack) ? [r.service] : []))));
        }),
    );
    const nodes = { specs, hosts, views, reachable };
    const containers = await listContainers(args, owner, hosts, reachable, true);
    const predecessors = new Set(containers.filter((c) => ownership(owner, c) === "predecessor").map((c) => c.id));
    for (const c of containers.filter((c) => predecessors.has(c.id)))
        progress(`${c.name} on ${c.node} belongs to the resource this one replaces (owner ${c.owner}): the release replaces it`);
    return { nodes, containers, predecessors, foreignHostPorts, servicesOnNode };
}

export const holderOf = (r: RunningContainer, owner: Owner) =>
    !r.service
        ? "a container berth does not manage"
        : `a container of service ${r.service}${r.stack && r.stack !== owner.stack ? ` of stack ${r.stack}` : ""}`;
