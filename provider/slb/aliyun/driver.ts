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
import { DEFAULTS, NodeSpec, SlbBindingArgs } from "../../model";
import { Backend, BackendStatus, ListenerClash, SlbDriver } from "../driver";
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

    private async listeners(): Promise<Array<{ ListenerPort: number; ListenerProtocol: string }>> {
        const res = await this.client.call("DescribeLoadBalancerAttribute", { LoadBalancerId: this.loadBalancerId });
        return res.ListenerPortsAndProtocol?.ListenerPortAndProtocol ?? [];
    }

    async ensureListener(binding: SlbBindingArgs): Promise<void> {
        const protocol = binding.protocol ?? "http";
        let groupId = await this.findGroup(binding.name);
        if (!groupId) {
            groupId = (await this.client.call("CreateVServerGroup", { LoadBalancerId: this.loadBalancerId, VServerGroupName: binding.name })).VServerGroupId as string;
            this.groups.set(binding.name, groupId);
        }
        const port = binding.listen.port;
        const existing = (await this.listeners()).find((l) => Number(l.ListenerPort) === port);
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
        };
        const kind = protocol === "tcp" ? "TCP" : "HTTP";
        if (existing && existing.ListenerProtocol === protocol) {
            // The same listener, maybe with another health check: set it in place, traffic keeps flowing.
            await this.client.call(`SetLoadBalancer${kind}ListenerAttribute`, { ...listener, VServerGroup: "on" });
            return;
        }
        // A protocol change needs a new listener: CLB cannot switch one between layer 4 and layer 7.
        if (existing) await this.client.call("DeleteLoadBalancerListener", { LoadBalancerId: this.loadBalancerId, ListenerPort: port });
        await this.client.call(`CreateLoadBalancer${kind}Listener`, { ...listener, Bandwidth: -1 });
        await this.client.call("StartLoadBalancerListener", { LoadBalancerId: this.loadBalancerId, ListenerPort: port });
    }

    async hasListener(binding: SlbBindingArgs): Promise<boolean> {
        this.groups.delete(binding.name);
        const group = await this.findGroup(binding.name);
        return group !== undefined && (await this.listeners()).some((l) => Number(l.ListenerPort) === binding.listen.port);
    }

    /** CLB listeners record no owner (a vServer group's name is its only identity): no clash is known. */
    async listenerClash(): Promise<ListenerClash | undefined> {
        return undefined;
    }

    async removeListener(name: string): Promise<string | undefined> {
        const groupId = await this.findGroup(name);
        if (!groupId) return undefined;
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
                if (weight > DEFAULTS.aliyunMaxWeight) throw new Error(`aliyun: weight ${weight} for ${s.Description} is above CLB's maximum of ${DEFAULTS.aliyunMaxWeight}`);
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
        const refs = servers.filter((s) => s.Description && gone.has(s.Description)).map((s) => ({ ServerId: s.ServerId, Port: s.Port, Type: s.Type }));
        for (const batch of batches(refs)) {
            await this.client.call("RemoveVServerGroupBackendServers", { VServerGroupId: groupId, BackendServers: JSON.stringify(batch) });
        }
    }
}
