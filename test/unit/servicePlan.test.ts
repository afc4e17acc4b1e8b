import * as assert from "node:assert/strict";
import { BackendState, ContainerState } from "../../provider/model";
import { backendChangeLines } from "../../provider/rollout/describe";
import { BindingNow, countsOf, doesWork, keptToFix, planService, ServiceFacts } from "../../provider/rollout/servicePlan";
import { bindingNow, container, planInput } from "./fixtures";

const address = (node: string) => `10.0.0.${node.slice(1)}`;
const backend = (c: ContainerState, weight = 100): BackendState => ({ name: c.name, address: address(c.node), port: c.hostPorts["80"], weight });
const pub = (backends: BackendState[], weight = 100): BindingNow => bindingNow("pub", backends, weight);

function facts(containers: ContainerState[], extra: Partial<ServiceFacts> = {}): ServiceFacts {
    return {
        release: planInput(containers),
        bindings: [pub(containers.map((c) => backend(c)))],
        leaving: [],
        backendOf: (c) => ({ address: address(c.node), port: c.hostPorts["80"] }),
        limitsDiffer: new Set(),
        unreachableAddresses: new Set(),
        ...extra,
    };
}

const serving = () => [container("h1", 0, "new"), container("h2", 1, "new"), container("h3", 2, "new")];
const none = { start: 0, retire: 0, resize: 0, register: 0, reweight: 0, deregister: 0 };

describe("the service plan (every change of a reconcile, counted)", () => {
    it("what runs matches the inputs: no change of any kind, and diff reads no work", () => {
        const plan = planService(facts(serving()));
        assert.deepEqual(countsOf(plan), none);
        assert.equal(doesWork(countsOf(plan)), false);
        assert.deepEqual(backendChangeLines(plan), []);
    });

    it("a backend whose container is gone is an orphan; one on a node that does not answer is not (its container may serve)", () => {
        const now = serving();
        const gone = container("h1", 5, "new");
        const away = { name: "web-7-new-ab12", address: "10.0.0.9", port: 31000, weight: 100 };
        const plan = planService(
            facts(now, {
                bindings: [pub([...now.map((c) => backend(c)), backend(gone), away])],
                unreachableAddresses: new Set(["10.0.0.9"]),
            }),
        );
        assert.deepEqual(plan.bindings[0].orphans, [gone.name]);
        // Of the wanted revision: it stays until its node answers.
        assert.deepEqual(plan.bindings[0].stranded, []);
        assert.deepEqual(countsOf(plan), { ...none, deregister: 1 });
    });

    it("a backend of an older revision on a node that does not answer is stranded: drained once the new serve, and said so", () => {
        const now = serving();
        const stranded = { name: "web-7-old-ab12", address: "10.0.0.9", port: 31000, weight: 100 };
        const plan = planService(
            facts(now, { bindings: [pub([...now.map((c) => backend(c)), stranded])], unreachableAddresses: new Set(["10.0.0.9"]) }),
        );
        assert.deepEqual(plan.bindings[0].stranded, [stranded.name]);
        assert.ok(doesWork(countsOf(plan)));
        assert.deepEqual(backendChangeLines(plan), [
            `binding pub: once the new revision serves, drain and remove (their nodes do not answer): ${stranded.name}`,
        ]);
    });

    it("kept containers: registered where missing or at another host port, re-weighted elsewhere, each fixed once", () => {
        const now = serving();
        const moved = { ...backend(now[0]), port: 39999 };
        const plan = planService(
            facts(now, {
                bindings: [pub([moved, backend(now[1]), backend(now[2])], 100), bindingNow("internal", [backend(now[0], 100)], 50)],
            }),
        );
        assert.deepEqual(
            plan.bindings.map((b) => [b.pool, b.register.map((c) => c.name), b.reweight.map((r) => `${r.container.name} ${r.from}`)]),
            [
                ["pub", [now[0].name], []],
                ["internal", [now[1].name, now[2].name], [`${now[0].name} 100`]],
            ],
        );
        assert.deepEqual(countsOf(plan), { ...none, register: 3, reweight: 1 });
        assert.deepEqual(
            keptToFix(plan).map((c) => c.name),
            now.map((c) => c.name),
        );
    });

    it("resizes in place only kept containers whose limits differ; a container retired by scale-in is not resized", () => {
        const now = serving();
        const plan = planService(facts(now, { release: planInput(now, { replicas: 2 }), limitsDiffer: new Set([now[0].id, now[2].id]) }));
        assert.deepEqual(
            plan.resize.map((c) => c.name),
            [now[0].name],
        );
        assert.deepEqual(countsOf(plan), { ...none, retire: 1, resize: 1 });
    });

    it("a binding left: live backends drain and deregister, orphans there go at once", () => {
        const now = serving();
        const gone = container("h2", 6, "new");
        const plan = planService(facts(now, { leaving: [bindingNow("old-lb", [backend(now[0]), backend(gone)])] }));
        assert.deepEqual(plan.leaving, [{ pool: "old-lb", drain: [now[0].name], orphans: [gone.name] }]);
        assert.deepEqual(countsOf(plan), { ...none, deregister: 2 });
    });

    it("counts a release's starts and retirements", () => {
        const old = [container("h1", 0, "old"), container("h2", 1, "old"), container("h3", 2, "old")];
        assert.deepEqual(countsOf(planService(facts(old))), { ...none, start: 3, retire: 3 });
    });
});
