// Builds the real clients for the nodes and load balancers an input names. Kept in one place so
// tests can inject faults at these seams.
import { DockerHost, HostClient } from "../docker/host";
import { NodeSpec, RegistryCredentials, SlbBindingRef } from "../model";
import { NodeView } from "../schedule/placement";
import { HaproxyDriver } from "../slb/haproxy";
import { AliyunClient } from "../slb/aliyun/client";
import { AliyunSlbDriver } from "../slb/aliyun/driver";
import { SlbDriver } from "../slb/driver";

export function hostsFor(nodes: NodeSpec[], registries?: RegistryCredentials[]): Map<string, HostClient> {
    return new Map(nodes.map((n) => [n.name, new DockerHost(n, registries)]));
}

/** `nodes` give the cloud identity (instance or ENI) that cloud load balancers address backends by. */
export function driverFor(binding: SlbBindingRef, nodes: NodeSpec[] = []): SlbDriver {
    if (binding.driver === "aliyun") return new AliyunSlbDriver(new AliyunClient(binding.aliyun!), nodes);
    return new HaproxyDriver(binding.haproxy!);
}

/** Asks every node's Docker whether it answers; a node that does not is left out of placement. */
export async function nodeViews(nodes: NodeSpec[], hosts: Map<string, HostClient>): Promise<{ views: NodeView[]; reachable: Set<string>; errors: Map<string, string> }> {
    const errors = new Map<string, string>();
    const views = await Promise.all(
        nodes.map(async (n) => {
            let reachable = true;
            try {
                await hosts.get(n.name)!.ping();
            } catch (e: any) {
                reachable = false;
                errors.set(n.name, e?.message ?? String(e));
            }
            return { name: n.name, zone: n.zone, labels: n.labels, schedulable: n.schedulable !== false, reachable };
        }),
    );
    return { views, reachable: new Set(views.filter((v) => v.reachable).map((v) => v.name)), errors };
}
