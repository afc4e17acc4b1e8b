// The world an operation acts on: Docker hosts, load balancers, registries, time and cancellation.
// The real one is the default; a test runs an operation in another (withWorld), and the engine
// reaches it through hostsFor and driverFor without knowing which.
import { AsyncLocalStorage } from "async_hooks";
import { dockerEndpoint } from "../docker/credentials";
import { DockerHost, HostClient } from "../docker/host";
import { NodeSpec, RegistryCredentials, SlbBindingRef } from "../model";
import { NodeView } from "../schedule/placement";
import { HaproxyDriver } from "../slb/haproxy";
import { AliyunClient } from "../slb/aliyun/client";
import { AliyunSlbDriver } from "../slb/aliyun/driver";
import { SlbDriver } from "../slb/driver";
import { Reach, settleForPlan, settleWithin } from "../reach";
import { realSurroundings, Surroundings, withSurroundings } from "../surroundings";

export interface World extends Surroundings {
    hostsFor(nodes: NodeSpec[], registries?: RegistryCredentials[]): Map<string, HostClient>;
    /** `nodes` give the cloud identity (instance or ENI) that cloud load balancers address backends by. */
    driverFor(binding: SlbBindingRef, nodes: NodeSpec[]): SlbDriver;
}

export const realWorld: World = {
    ...realSurroundings,
    hostsFor: (nodes, registries) => new Map(nodes.map((n) => [n.name, new DockerHost(n, registries)])),
    driverFor: (binding, nodes) =>
        binding.driver === "aliyun" ? new AliyunSlbDriver(new AliyunClient(binding.aliyun!), nodes) : new HaproxyDriver(binding.haproxy!),
};

const worlds = new AsyncLocalStorage<World>();

/** Runs `fn` (an operation, and everything it starts) in `world`: its hosts, load balancers, registries, clock and cancellation. */
export function withWorld<T>(world: World, fn: () => T): T {
    return worlds.run(world, () => withSurroundings(world, fn));
}

const currentWorld = (): World => worlds.getStore() ?? realWorld;

export function hostsFor(nodes: NodeSpec[], registries?: RegistryCredentials[]): Map<string, HostClient> {
    return currentWorld().hostsFor(nodes, registries);
}

/** `nodes` give the cloud identity (instance or ENI) that cloud load balancers address backends by. */
export function driverFor(binding: SlbBindingRef, nodes: NodeSpec[] = []): SlbDriver {
    return currentWorld().driverFor(binding, nodes);
}

/** Asks every node's Docker whether it answers, all within one deadline; a node that does not is left out of placement. */
export async function nodeViews(
    nodes: NodeSpec[],
    hosts: Map<string, HostClient>,
): Promise<{ views: NodeView[]; reachable: Set<string>; errors: Map<string, string> }> {
    const errors = new Map<string, string>();
    const pings = await settleWithin(nodes, (n) => hosts.get(n.name)!.ping());
    const views = nodes.map((n, i) => {
        const ping = pings[i];
        if (ping.status === "rejected") errors.set(n.name, ping.reason?.message ?? String(ping.reason));
        return { name: n.name, zone: n.zone, labels: n.labels, schedulable: n.schedulable !== false, reachable: ping.status === "fulfilled" };
    });
    return { views, reachable: new Set(views.filter((v) => v.reachable).map((v) => v.name)), errors };
}

/**
 * Which nodes and load balancers answer, asked all at once within one deadline: what reach.ts's rule
 * decides on. Planning does not wait again for what gave no answer earlier in the run.
 */
export async function reachOf(
    step: "plan" | "act",
    nodes: NodeSpec[],
    hosts: Map<string, HostClient>,
    slbs: Array<{ pool: string; driver: SlbDriver }>,
): Promise<Reach> {
    const probes = [
        ...nodes.map((n) => ({ endpoint: dockerEndpoint(n), ask: () => hosts.get(n.name)!.ping() })),
        ...slbs.map((s) => ({ endpoint: `load balancer ${s.pool}`, ask: () => s.driver.ping() })),
    ];
    const settled =
        step === "plan"
            ? await settleForPlan(
                  probes,
                  (p) => p.endpoint,
                  (p) => p.ask(),
              )
            : await settleWithin(probes, (p) => p.ask());
    const error = (r: PromiseSettledResult<void>) => (r.status === "rejected" ? (r.reason?.message ?? String(r.reason)) : undefined);
    return {
        nodes: nodes.map((n, i) => ({ name: n.name, schedulable: n.schedulable !== false, error: error(settled[i]) })),
        slbs: slbs.map((s, i) => ({ name: s.pool, error: error(settled[nodes.length + i]) })),
    };
}
