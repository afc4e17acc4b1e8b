import { ContainerState } from "../../provider/model";
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
