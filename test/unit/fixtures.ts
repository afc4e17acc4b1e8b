import { BackendState, ContainerState } from "../../provider/model";
import { PlanInput } from "../../provider/rollout/plan";
import { BindingNow } from "../../provider/rollout/servicePlan";
import { NodeView } from "../../provider/schedule/placement";

export function nodes(count: number, overrides: Partial<NodeView>[] = []): NodeView[] {
    return Array.from({ length: count }, (_, i) => ({ name: `h${i + 1}`, schedulable: true, reachable: true, ...overrides[i] }));
}

let seq = 0;
export function container(node: string, slot: number, revision: string, extra: Partial<ContainerState> = {}): ContainerState {
    seq++;
    return {
        id: `id${seq}`,
        name: `web-${slot}-${revision}`,
        node,
        slot,
        revision,
        state: "running",
        health: "healthy",
        hostPorts: { "80": 30000 + seq },
        ...extra,
    };
}

/** A planner input: three nodes, three replicas of revision "new", at least two serving; `extra` overrides. */
export function planInput(containers: ContainerState[], extra: Partial<PlanInput> = {}): PlanInput {
    return {
        revision: "new",
        replicas: 3,
        rules: { fixedHostPorts: [] },
        minAvailable: 2,
        nodes: nodes(3),
        containers,
        foreignHostPorts: new Map(),
        ...extra,
    };
}

/** A binding of `backends` on a load balancer that counts requests in flight and calls a backend healthy in a second. */
export const bindingNow = (pool: string, backends: BackendState[], weight = 100): BindingNow => ({
    pool,
    weight,
    backends,
    drainsByTime: false,
    healthySeconds: 1,
});
