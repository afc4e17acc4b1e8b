import * as assert from "node:assert/strict";
import { BackendState, ContainerState } from "../../provider/model";
import { describePlan, estimateSeconds, backendChangeLines, LINE_WIDTH, NOTHING_TO_DO, PlanFacts, wrapList } from "../../provider/rollout/describe";
import { planRelease, PlanError, PlanInput } from "../../provider/rollout/plan";
import { BindingNow, planService } from "../../provider/rollout/servicePlan";
import { bindingNow, container, nodes, planInput } from "./fixtures";

const input = planInput;
const backend = (c: ContainerState, weight = 100): BackendState => ({
    name: c.name,
    address: `10.0.0.${c.node.slice(1)}`,
    port: c.hostPorts["80"],
    weight,
});

/** The preview's facts of a plan made on `containers`, each registered in binding pub unless `bindings` says otherwise. */
function facts(
    containers: ContainerState[],
    extra: Partial<PlanInput> = {},
    more: Partial<PlanFacts> = {},
    world: { bindings?: BindingNow[]; unreachable?: string[]; limitsDiffer?: string[] } = {},
): PlanFacts {
    const bindings = world.bindings ?? [
        bindingNow(
            "pub",
            containers.map((c) => backend(c)),
        ),
    ];
    const leaving = more.leaving ?? [];
    const plan = planService({
        release: input(containers, extra),
        bindings,
        leaving,
        backendOf: (c) => ({ address: `10.0.0.${c.node.slice(1)}`, port: c.hostPorts["80"] }),
        limitsDiffer: new Set(world.limitsDiffer ?? []),
        unreachableAddresses: new Set(world.unreachable ?? []),
    });
    return {
        summary: "blue-green release of a new revision (image changed)",
        revision: "new",
        replicas: 3,
        plan,
        bindings,
        leaving,
        dockerHealthySeconds: 2,
        drainTimeoutSeconds: 30,
        pauseSeconds: 0,
        unknownUntilUp: [],
        ...more,
    };
}

describe("the release plan in words (preview)", () => {
    it("a fixed host port on every node: each batch replaces one slot in place, naming it, its node and the container retired first; fewest serving; estimate", () => {
        const old = [container("h1", 0, "old"), container("h2", 1, "old"), container("h3", 2, "old")];
        const lines = describePlan(facts(old, { rules: { fixedHostPorts: [8080] } }));
        const at = lines.findIndex((l) => l.startsWith("batch 1/3"));
        const retiredFirst = [old[2], old[1], old[0]];
        assert.deepEqual(
            lines.slice(at, at + 6),
            retiredFirst.flatMap((c, i) => [`batch ${i + 1}/3: retire first ${c.name} on ${c.node}`, `  start slot ${c.slot} on ${c.node}`]),
        );
        assert.ok(
            lines.includes("each batch: new backends join at weight 0, get 100 in pub once healthy there; old ones go to weight 0, drain, leave"),
        );
        assert.ok(lines.includes("fewest serving at any moment: 2 (serving now 3, minAvailable 2)"), lines.join("\n"));
        assert.ok(lines.some((l) => l.startsWith("drain budget: up to 30 s per batch")));
        // 3 batches × (Docker's first check 2 s + the load balancer's rise 1 s)
        assert.equal(estimateSeconds(facts(old, { rules: { fixedHostPorts: [8080] } })), 9);
    });

    it("says nothing is to be done when what runs matches the inputs", () => {
        const now = [container("h1", 0, "new"), container("h2", 1, "new"), container("h3", 2, "new")];
        assert.deepEqual(describePlan(facts(now, {}, { summary: undefined })), [NOTHING_TO_DO]);
    });

    it("binding changes for kept containers: registered in a new binding, re-weighted, left", () => {
        const now = [container("h1", 0, "new"), container("h2", 1, "new"), container("h3", 2, "new")];
        const f = facts(
            now,
            {},
            { leaving: [bindingNow("old-lb", [backend(now[0])])] },
            {
                bindings: [
                    bindingNow(
                        "pub",
                        now.map((c) => backend(c, 100)),
                        50,
                    ),
                    bindingNow("internal", []),
                ],
            },
        );
        assert.deepEqual(backendChangeLines(f.plan), [
            `binding pub: re-weight ${now.map((c) => `${c.name} 100 -> 50`).join(", ")}`,
            `binding internal: register at weight 100 once healthy there: ${now.map((c) => `${c.name} on ${c.node}`).join(", ")}`,
            `binding old-lb left, the containers stay: drain and deregister ${now[0].name}`,
        ]);
        assert.equal(describePlan(f)[0], "blue-green release of a new revision (image changed)");
    });

    it("keeps every line short enough for Pulumi's display (it cuts at 150), however many containers", () => {
        const many = Array.from({ length: 40 }, (_, i) => `web-${i}-0123456789-abcd on node-${i}`);
        const lines = wrapList("  then retire", many);
        assert.ok(lines.length > 1 && lines.every((l) => l.length <= LINE_WIDTH && l.startsWith("  then retire ")));
        assert.deepEqual(
            lines.flatMap((l) => l.slice("  then retire ".length).split(", ")),
            many,
        );
        const old = Array.from({ length: 12 }, (_, i) => container(`h${(i % 3) + 1}`, i, "old"));
        assert.ok(describePlan(facts(old, { replicas: 12 })).every((l) => l.length <= LINE_WIDTH));
    });

    it("a plan that cannot be made names the input at fault", () => {
        const cordoned = nodes(3, [{}, {}, { schedulable: false }]);
        const zoned = cordoned.map((n, i) => ({ ...n, zone: "abc"[i] }));
        assert.throws(
            () => planRelease(input([], { nodes: zoned, zones: { count: 3, mode: "hard" } })),
            (e: PlanError) => e.property === "placement.zones" && /span 2 zone\(s\)/.test(e.message),
        );
        assert.throws(
            () => planRelease(input([], { nodes: cordoned, rules: { fixedHostPorts: [8080] } })),
            (e: PlanError) => e.property === "replicas" && /node h3: it is cordoned/.test(e.message),
        );
    });
});
