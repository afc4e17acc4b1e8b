// A service's bindings as the release reaches them: each binding's load balancer, pool, weight and
// backends.
import { containerNamePattern } from "../../docker/labels";
import { BackendState, DEFAULTS, lbRiseSeconds, ServiceArgs, ServiceBinding, ServiceState, slbRefOf } from "../../model";
import { ContainerBinding } from "../../rollout/execute";
import { isUnknown } from "../../validate";
import { driverFor } from "../world";
import { Owner } from "./owner";

/** The part of a binding the service needs (check keeps only this in the inputs); the rest is the listener's. */
export function bindingRef(b: ServiceBinding): ServiceBinding {
    if (isUnknown(b) || isUnknown(b.slb) || typeof b.slb !== "object") return b;
    return { ...b, slb: slbRefOf(b.slb) };
}

export function containerBindings(args: ServiceArgs): ContainerBinding[] {
    const firstPort = args.ports?.[0]?.containerPort ?? 80;
    return (args.bindings ?? []).map((b) => ({
        pool: b.slb.name,
        driver: driverFor(b.slb, args.cluster.nodes),
        weight: b.weight ?? DEFAULTS.weight,
        containerPort: b.containerPort ?? firstPort,
        healthySeconds: lbRiseSeconds(b.slb.healthCheck),
    }));
}

/** The load balancers of the bindings the service leaves: its backends there drain and deregister. */
export function bindingsLeft(args: ServiceArgs, previous: ServiceState | undefined): ContainerBinding[] {
    const kept = new Set(containerBindings(args).map((s) => s.pool));
    return previous ? containerBindings(previous).filter((s) => !kept.has(s.pool)) : [];
}

/** The binding of `pool` in a service's inputs. */
export const bindingIn = (args: ServiceArgs, pool: string) => args.bindings!.find((b) => b.slb.name === pool)!;

/** Backends of this service name: of the given owner (and made before owners), or without one, all the stack's binding holds. */
export async function listBackends(args: ServiceArgs, bindings: ContainerBinding[], owner?: Owner): Promise<Record<string, BackendState[]>> {
    const own = containerNamePattern(args.name, owner?.id);
    const result: Record<string, BackendState[]> = {};
    for (const binding of bindings) {
        result[binding.pool] = (await binding.driver.backends(binding.pool))
            .filter((b) => own.test(b.name))
            .map((b) => ({ name: b.name, address: b.address, port: b.port, weight: b.weight }));
    }
    return result;
}

export const bindingNamed = (bindings: ContainerBinding[], pool: string) => bindings.find((s) => s.pool === pool)!;
