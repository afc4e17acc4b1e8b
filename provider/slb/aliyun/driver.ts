// Aliyun Classic Load Balancer (CLB/SLB) driver. berth owns one vServer group per binding (named
// after it) on an existing CLB instance, and the listener that forwards to it. A backend is a
// (server id, port) pair: the node's ECS instance or ENI and the container's host port, so several
// containers of one node are separate backends.
// Actions used (API reference: https://www.alibabacloud.com/help/en/slb/classic-load-balancer/developer-reference/api-slb-2014-05-15-dir-vserver-groups):
// CreateVServerGroup, DescribeVServerGroups, DescribeVServerGroupAttribute, AddVServerGroupBackendServers,
// SetVServerGroupAttribute (weights of servers already in the group), RemoveVServerGroupBackendServers,
// DeleteVServerGroup, CreateLoadBalancerTCPListener / CreateLoadBalancerHTTPListener,
// SetLoadBalancerTCPListenerAttribute / SetLoadBalancerHTTPListenerAttribute (a health check changed),
// StartLoadBalancerListener, DeleteLoadBalancerListener, DescribeLoadBalancerAttribute, DescribeHealthStatus.
// A listener records its owner in its Description (see ownerDescription), read back from
// DescribeLoadBalancerAttribute's ListenerPortsAndProtocol; DescribeVServerGroups (IncludeListener)
// says which group, so which binding, each listener forwards to.
import { createHash } from "crypto";
import { DEFAULTS, NodeSpec, SlbBindingArgs } from "../../model";
import { Backend, BackendStatus, clashAmong, keptListener, ListenerClash, ListenerOwner, ownerOf, RecordedListener, SlbDriver } from "../driver";
import { AliyunClient } from "./client";

/** The Add/Remove/SetVServerGroup* actions take at most 20 servers per call. */
export const BATCH = 20;

/**
 * CLB does not health-check a backend whose weight is 0 (CLB health check FAQ, "What happens if I set
 * the weight of an ECS instance to zero?": https://www.alibabacloud.com/help/doc-detail/55205.htm), so
 * new backends join at the smallest weight: CLB sends them nothing while they are abnormal, and from
 * the first passed check until the release raises their weight they take 1/(sum of weights) of traffic.
 */
export const GATE_WEIGHT = 1;

export function batches<T>(items: T[], size = BATCH): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
    return out;
}

/**
 * A listener's Description is 1-80 characters of letters, digits, -, /, . and _ (CreateLoadBalancerTCPListener
 * reference), so the owner is written as `berth/<ownerId>/<stack>`, not JSON. Owner ids are 8 characters
 * (mintOwnerId), which leaves 65 for the stack.
 */
const STACK_ROOM = 80 - "berth//".length - 8;
const OWNER_DESCRIPTION = /^berth\/([\w-]+)\/([\w./-]*)$/;

/**
 * The stack as a listener records it: as it is when it fits; else its tail and a hash of the whole,
 * so that two stacks stay apart and the clash still names a recognizable stack.
 */
export function recordedStack(stack: string | undefined): string | undefined {
    if (stack === undefined || (stack.length <= STACK_ROOM && /^[\w./-]*$/.test(stack))) return stack;
    const hash = createHash("sha256").update(stack).digest("hex").slice(0, 8);
    return `..${stack.replace(/[^\w./-]/g, "_").slice(-(STACK_ROOM - 11))}.${hash}`;
}

export const ownerDescription = (owner: ListenerOwner) => `berth/${owner.ownerId}/${recordedStack(owner.stack) ?? ""}`;

/** The owner a Description records; none for any other text (a listener made before owners, or by hand). */
export function ownerInDescription(description: string | undefined): ListenerOwner | undefined {
    const m = OWNER_DESCRIPTION.exec(description ?? "");
    return m ? { ownerId: m[1], ...(m[2] ? { stack: m[2] } : {}) } : undefined;
}

/** CLB listens on the instance's address: a listener is told apart by its port alone. */
const listenOn = (port: number) => `port ${port}`;

interface ClbListener extends RecordedListener {
    port: number;
    protocol: string;
}

interface ServerRef {
    ServerId: string;
    Port: number;
    Type: "ecs" | "eni";
}

interface GroupServer extends ServerRef {
    Weight: number;
    Description?: string;
}

export class AliyunSlbDriver implements SlbDriver {
    /** CLB reports no requests in flight per backend: the release drains by time. */
    readonly countsInFlight = false;
    private readonly groups = new Map<string, string>();

    constructor(
        private readonly client: AliyunClient,
        private readonly nodes: NodeSpec[] = [],
    ) {}

    private get loadBalancerId(): string {
        return this.client.endpoint.loadBalancerId;
    }

    /** The server id CLB knows a node by; fails naming the node when it has none. */
    private serverOf(address: string): Pick<ServerRef, "ServerId" | "Type"> {
        const node = this.nodes.find((n) => n.address === address);
        const id = node?.cloud?.instanceId ?? node?.cloud?.eniId;
        if (!node || !id) throw new Error(`aliyun: node ${node?.name ?? address} has no cloud.instanceId or cloud.eniId: CLB cannot address it`);
        return { ServerId: id, Type: node.cloud?.instanceId ? "ecs" : "eni" };
    }

    private addressOf(serverId: string): string {
        return this.nodes.find((n) => n.cloud?.instanceId === serverId || n.cloud?.eniId === serverId)?.address ?? serverId;
    }

    async ping(): Promise<void> {
        await this.client.call("DescribeLoadBalancerAttribute", { LoadBalancerId: this.loadBalancerId });
    }

    private async findGroup(pool: string): Promise<string | undefined> {
        if (this.groups.has(pool)) return this.groups.get(pool);
        const res = await this.client.call("DescribeVServerGroups", { LoadBalancerId: this.loadBalancerId });
        const id = (res.VServerGroups?.VServerGroup ?? []).find((g: any) => g.VServerGroupName === pool)?.VServerGroupId;
        if (id) this.groups.set(pool, id);
        return id;
    }

    private async group(pool: string): Promise<string> {
        const id = await this.findGroup(pool);
        if (!id) throw new Error(`aliyun: CLB ${this.loadBalancerId} has no vServer group ${pool}; create its SlbBinding first`);
        return id;
    }

    /** The instance's listeners, each named after the vServer group it forwards to, with the owner it records. */
    private async listeners(): Promise<ClbListener[]> {
        const LoadBalancerId = this.loadBalancerId;
        const [lb, groups] = await Promise.all([
            this.client.call("DescribeLoadBalancerAttribute", { LoadBalancerId }),
            this.client.call("DescribeVServerGroups", { LoadBalancerId, IncludeListener: "true" }),
        ]);
        const groupAt = new Map<number, string>();
        for (const g of groups.VServerGroups?.VServerGroup ?? []) {
            for (const l of g.AssociatedObjects?.Listeners?.Listener ?? []) groupAt.set(Number(l.Port), g.VServerGroupName);
        }
        return (lb.ListenerPortsAndProtocol?.ListenerPortAndProtocol ?? []).map((l: any) => {
            const port = Number(l.ListenerPort);
            // One without a vServer group is none of berth's: it goes by its protocol and port.
            const name = groupAt.get(port) ?? `${l.ListenerProtocol}:${port}`;
            return { name, port, protocol: l.ListenerProtocol, listen: listenOn(port), owner: ownerInDescription(l.Description) };
        });
    }

    private clash(listeners: ClbListener[], binding: SlbBindingArgs, stack: string | undefined): ListenerClash | undefined {
        const clash = clashAmong(listeners, { name: binding.name, listen: listenOn(binding.listen.port) }, recordedStack(stack));
        return clash && { ...clash, reason: `aliyun: CLB ${this.loadBalancerId}: ${clash.reason}` };
    }

    async ensureListener(binding: SlbBindingArgs, owner?: ListenerOwner): Promise<void> {
        const listeners = await this.listeners();
        // Checked again here, as near the change as CLB allows (it has no lock): another stack may have taken the name since check.
        const clash = this.clash(listeners, binding, owner?.stack);
        if (clash) throw new Error(clash.reason);
        const protocol = binding.protocol ?? "http";
        let groupId = await this.findGroup(binding.name);
        if (!groupId) {
            groupId = (await this.client.call("CreateVServerGroup", { LoadBalancerId: this.loadBalancerId, VServerGroupName: binding.name }))
                .VServerGroupId as string;
            this.groups.set(binding.name, groupId);
        }
        const port = binding.listen.port;
        const existing = listeners.find((l) => l.port === port);
        const h = binding.healthCheck ?? {};
        const listener = {
            LoadBalancerId: this.loadBalancerId,
            ListenerPort: port,
            VServerGroupId: groupId,
            // CLB counts the interval in whole seconds (1-50).
            HealthCheckInterval: Math.min(50, Math.max(1, Math.round((h.intervalMs ?? DEFAULTS.lbCheckIntervalMs) / 1000))),
            HealthyThreshold: Math.max(2, h.rise ?? DEFAULTS.lbRise),
            UnhealthyThreshold: Math.max(2, h.fall ?? DEFAULTS.lbFall),
            ...(protocol === "tcp"
                ? { HealthCheckType: h.httpPath ? "http" : "tcp", HealthCheckURI: h.httpPath }
                : { HealthCheck: "on", HealthCheckURI: h.httpPath ?? "/", StickySession: "off" }),
            // Written on every change: a listener made before owners is adopted by the binding whose state lists it.
            ...(owner ? { Description: ownerDescription(owner) } : {}),
        };
        const kind = protocol === "tcp" ? "TCP" : "HTTP";
        if (existing && existing.protocol === protocol) {
            // The same listener, maybe with another health check: set it in place, traffic keeps flowing.
            await this.client.call(`SetLoadBalancer${kind}ListenerAttribute`, { ...listener, VServerGroup: "on" });
        } else {
            // A protocol change needs a new listener: CLB cannot switch one between layer 4 and layer 7.
            if (existing) await this.client.call("DeleteLoadBalancerListener", { LoadBalancerId: this.loadBalancerId, ListenerPort: port });
            await this.client.call(`CreateLoadBalancer${kind}Listener`, { ...listener, Bandwidth: -1 });
            await this.client.call("StartLoadBalancerListener", { LoadBalancerId: this.loadBalancerId, ListenerPort: port });
        }
        // The binding moved to another port: its listener on the old one goes, as HAProxy's old bind does.
        for (const old of listeners.filter((l) => l.name === binding.name && l.port !== port)) {
            await this.client.call("DeleteLoadBalancerListener", { LoadBalancerId: this.loadBalancerId, ListenerPort: old.port });
        }
    }

    async hasListener(binding: SlbBindingArgs): Promise<boolean> {
        return (await this.listeners()).some((l) => l.name === binding.name && l.port === binding.listen.port);
    }

    async listenerClash(binding: SlbBindingArgs, stack: string | undefined): Promise<ListenerClash | undefined> {
        return this.clash(await this.listeners(), binding, stack);
    }

    async removeListener(name: string, owner?: ListenerOwner): Promise<string | undefined> {
        const groupId = await this.findGroup(name);
        if (!groupId) return undefined;
        const kept = keptListener(name, ownerOf(await this.listeners(), name), owner);
        if (kept) return kept;
        const attr = await this.client.call("DescribeVServerGroupAttribute", { VServerGroupId: groupId });
        for (const l of attr.AssociatedObjects?.Listeners?.Listener ?? []) {
            await this.client.call("DeleteLoadBalancerListener", { LoadBalancerId: this.loadBalancerId, ListenerPort: l.Port });
        }
        await this.client.call("DeleteVServerGroup", { VServerGroupId: groupId });
        this.groups.delete(name);
        return undefined;
    }

    private async members(pool: string): Promise<{ groupId: string; servers: GroupServer[]; listenerPorts: number[] }> {
        const groupId = await this.group(pool);
        const attr = await this.client.call("DescribeVServerGroupAttribute", { VServerGroupId: groupId });
        return {
            groupId,
            servers: attr.BackendServers?.BackendServer ?? [],
            listenerPorts: (attr.AssociatedObjects?.Listeners?.Listener ?? []).map((l: any) => Number(l.Port)),
        };
    }

    async backends(pool: string): Promise<BackendStatus[]> {
        const { servers, listenerPorts } = await this.members(pool);
        const health = new Map<string, string>();
        for (const port of listenerPorts) {
            const res = await this.client.call("DescribeHealthStatus", { LoadBalancerId: this.loadBalancerId, ListenerPort: port });
            for (const s of res.BackendServers?.BackendServer ?? []) health.set(`${s.ServerId}:${s.Port}`, s.ServerHealthStatus);
        }
        return servers.map((s) => {
            // normal | abnormal | unavailable (not checked, e.g. at weight 0), as DescribeHealthStatus says
            const check = health.get(`${s.ServerId}:${s.Port}`) ?? "unavailable";
            return {
                name: s.Description || `${s.ServerId}:${s.Port}`,
                address: this.addressOf(s.ServerId),
                port: Number(s.Port),
                weight: Number(s.Weight),
                status: check === "normal" ? "UP" : "DOWN",
                checkStatus: check,
                sessions: 0,
                queued: 0,
            };
        });
    }

    async addBackends(pool: string, backends: Backend[]): Promise<void> {
        if (backends.length === 0) return;
        const groupId = await this.group(pool);
        const servers = backends.map((b) => ({ ...this.serverOf(b.address), Port: b.port, Weight: GATE_WEIGHT, Description: b.name }));
        for (const batch of batches(servers)) {
            await this.client.call("AddVServerGroupBackendServers", { VServerGroupId: groupId, BackendServers: JSON.stringify(batch) });
        }
    }

    async setWeights(pool: string, weights: Array<{ name: string; weight: number }>): Promise<void> {
        if (weights.length === 0) return;
        const { groupId, servers } = await this.members(pool);
        const wanted = new Map(weights.map((w) => [w.name, w.weight]));
        const changes = servers
            .filter((s) => s.Description && wanted.has(s.Description))
            .map((s) => {
                const weight = wanted.get(s.Description!)!;
                if (weight > DEFAULTS.aliyunMaxWeight)
                    throw new Error(`aliyun: weight ${weight} for ${s.Description} is above CLB's maximum of ${DEFAULTS.aliyunMaxWeight}`);
                return { ServerId: s.ServerId, Port: s.Port, Type: s.Type, Weight: weight, Description: s.Description };
            });
        for (const batch of batches(changes)) {
            await this.client.call("SetVServerGroupAttribute", { VServerGroupId: groupId, BackendServers: JSON.stringify(batch) });
        }
    }

    async removeBackends(pool: string, names: string[]): Promise<void> {
        if (names.length === 0) return;
        const { groupId, servers } = await this.members(pool);
        const gone = new Set(names);
        const refs = servers
            .filter((s) => s.Description && gone.has(s.Description))
            .map((s) => ({ ServerId: s.ServerId, Port: s.Port, Type: s.Type }));
        for (const batch of batches(refs)) {
            await this.client.call("RemoveVServerGroupBackendServers", { VServerGroupId: groupId, BackendServers: JSON.stringify(batch) });
        }
    }
}
