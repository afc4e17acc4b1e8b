// Preview and up share one plan: for every kind of change, the counts check's plan gives diff are
// what the following update does in the fake world, read from the calls it records.
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { serviceProvider } from "../../provider/engine/service";
import { PlanCounts, ServiceArgs, ServiceState } from "../../provider/model";
import { Backend } from "../../provider/slb/driver";
import { FakeWorld } from "../support/fakeWorld";

const ID = "c/web";

/** What an update did, counted the way the plan counts: from the calls the world recorded. */
function recorder(w: FakeWorld) {
    const started = new Set<string>();
    const removed = new Set<string>();
    // Backend calls per binding, as "pool name".
    const added = new Set<string>();
    const weighted: Array<{ key: string; name: string; weight: number }> = [];
    const deregistered = new Set<string>();
    let resized = 0;
    w.onCall = (call, args) => {
        const [where, method] = call.split(".");
        if (method === "run") started.add((args[0] as { name: string }).name);
        if (method === "remove") removed.add(w.containers().find((c) => c.id === args[0])!.name);
        if (method === "resize") resized++;
        if (method === "addBackends") (args[0] as Backend[]).forEach((b) => added.add(`${where} ${b.name}`));
        if (method === "setWeights")
            weighted.push(...(args[0] as Array<{ name: string; weight: number }>).map((x) => ({ ...x, key: `${where} ${x.name}` })));
        if (method === "removeBackends") (args[0] as string[]).forEach((n) => deregistered.add(`${where} ${n}`));
    };
    const kept = (key: string) => {
        const name = key.split(" ")[1];
        return !started.has(name) && !removed.has(name);
    };
    return (): PlanCounts => ({
        start: started.size,
        retire: removed.size,
        resize: resized,
        // Kept containers' backend changes: those of containers the update neither started nor removed.
        register: [...added].filter(kept).length,
        // Raised weights of kept containers' backends that were there already (a registration raises its own).
        reweight: weighted.filter((x) => kept(x.key) && !added.has(x.key) && x.weight > 0).length,
        deregister: [...deregistered].filter(kept).length,
    });
}

/**
 * Deploys v1 in a fresh world, lets `change` alter the world and the inputs, then previews (check)
 * and runs (update) the change: returns the plan's counts and what the update did.
 */
async function previewThenUp(change: (w: FakeWorld, args: ServiceArgs) => ServiceArgs | void, nodes = 3, first: Partial<ServiceArgs> = {}) {
    const w = new FakeWorld(nodes);
    const args = w.serviceArgs({
        release: { drainTimeoutSeconds: 5 },
        // As the resource sets it: check gets no owner id, so the preview knows the containers by their stack.
        stack: "org/infra/dev",
        ...first,
    });
    const state: ServiceState = (await w.run(() => serviceProvider.create(args))).outs;
    const news = change(w, args) ?? args;
    const checked = await w.run(() => serviceProvider.check!(args, news));
    if (checked.failures?.length) return { failures: checked.failures };
    const planned = checked.inputs.plannedCounts as PlanCounts;
    assert.ok(planned, `check made no plan:\n${checked.inputs.plannedChange}`);
    const done = recorder(w);
    await w.run(() => serviceProvider.update!(ID, state, checked.inputs));
    return { planned, done: done(), text: checked.inputs.plannedChange as string, failures: [] };
}

const none: PlanCounts = { start: 0, retire: 0, resize: 0, register: 0, reweight: 0, deregister: 0 };

const CASES: Array<[string, (w: FakeWorld, args: ServiceArgs) => ServiceArgs | void, Partial<PlanCounts>]> = [
    ["no change", () => undefined, {}],
    ["an image change: every slot", (_w, a) => ({ ...a, image: "reg/web:v2" }), { start: 3, retire: 3 }],
    ["replicas up", (_w, a) => ({ ...a, replicas: 4 }), { start: 1 }],
    ["replicas down", (_w, a) => ({ ...a, replicas: 1 }), { retire: 2 }],
    ["cpus and memory: in place", (_w, a) => ({ ...a, cpus: 0.5, memoryMb: 128 }), { resize: 3 }],
    ["replicas down and memory: only the containers kept are resized", (_w, a) => ({ ...a, replicas: 1, memoryMb: 128 }), { retire: 2, resize: 1 }],
    ["a second binding", (w, a) => ({ ...a, bindings: [...a.bindings!, { slb: w.binding("internal") }] }), { register: 3 }],
    ["a binding's weight", (_w, a) => ({ ...a, bindings: [{ ...a.bindings![0], weight: 50 }] }), { reweight: 3 }],
    ["a binding left", (w, a) => ({ ...a, bindings: [{ slb: w.binding("internal") }] }), { register: 3, deregister: 3 }],
    [
        "a cordoned node: its container moves",
        (_w, a) => ({ ...a, cluster: { ...a.cluster, nodes: a.cluster.nodes.map((n) => (n.name === "h3" ? { ...n, schedulable: false } : n)) } }),
        { start: 1, retire: 1 },
    ],
    [
        "a node leaves the cluster: its container moves before berth forgets it",
        (_w, a) => ({ ...a, cluster: { ...a.cluster, nodes: a.cluster.nodes.filter((n) => n.name !== "h3") } }),
        { start: 1, retire: 1 },
    ],
    [
        "global mode with a node cordoned: one container on each other node",
        (_w, a) => ({
            ...a,
            mode: "global",
            cluster: { ...a.cluster, nodes: a.cluster.nodes.map((n) => (n.name === "h2" ? { ...n, schedulable: false } : n)) },
        }),
        { retire: 1 },
    ],
    [
        "a container removed by hand: its slot starts again, its backend goes",
        (w) => {
            const h1 = w.hosts.get("h1")!;
            h1.containers.delete([...h1.containers.keys()][0]);
        },
        { start: 1, deregister: 1 },
    ],
    [
        "a release while a cordoned node does not answer: its old backend is drained once the new serve",
        (w, a) => {
            w.hosts.get("h3")!.down = true;
            return {
                ...a,
                image: "reg/web:v2",
                cluster: { ...a.cluster, nodes: a.cluster.nodes.map((n) => (n.name === "h3" ? { ...n, schedulable: false } : n)) },
            };
        },
        { start: 3, retire: 2, deregister: 1 },
    ],
];

describe("preview and up share one plan (fake world)", () => {
    for (const [name, change, expected] of CASES) {
        it(`${name}: the plan's counts are what up did`, async () => {
            const { planned, done, text, failures } = await previewThenUp(change);
            assert.deepEqual(failures, []);
            assert.deepEqual(planned, { ...none, ...expected }, `the plan:\n${text}`);
            assert.deepEqual(done, planned, `up did other than the plan:\n${text}`);
        });
    }
});

describe("preview and up share one plan: any mix of changes (property, fake world)", () => {
    const scenario = fc.record({
        nodes: fc.integer({ min: 2, max: 5 }),
        replicas: fc.integer({ min: 1, max: 6 }),
        newReplicas: fc.integer({ min: 0, max: 7 }),
        image: fc.boolean(),
        memoryMb: fc.constantFrom(undefined, 128),
        weight: fc.constantFrom(undefined, 50),
        secondBinding: fc.boolean(),
        cordon: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
        removedByHand: fc.integer({ min: 0, max: 2 }),
    });
    it("the plan's counts are what up did, for every mix", async () => {
        await fc.assert(
            fc.asyncProperty(scenario, async (x) => {
                const outcome = await previewThenUp(
                    (w, a) => {
                        for (const c of w.containers().slice(0, x.removedByHand)) w.hosts.get(c.node)!.containers.delete(c.id);
                        const nodes = a.cluster.nodes.map((n) => (n.name === `h${x.cordon}` ? { ...n, schedulable: false } : n));
                        return {
                            ...a,
                            cluster: { ...a.cluster, nodes },
                            replicas: x.newReplicas,
                            image: x.image ? "reg/web:v2" : a.image,
                            memoryMb: x.memoryMb,
                            bindings: [{ ...a.bindings![0], weight: x.weight }, ...(x.secondBinding ? [{ slb: w.binding("internal") }] : [])],
                        };
                    },
                    x.nodes,
                    { replicas: x.replicas },
                );
                // A mix the planner refuses (every node cordoned) fails the preview: nothing to compare.
                fc.pre(outcome.failures.length === 0);
                assert.deepEqual(outcome.done, outcome.planned, `up did other than the plan:\n${outcome.text}`);
            }),
            { numRuns: 60 },
        );
    });
});
