import * as assert from "node:assert/strict";
import { planRelease, PlanError } from "../../provider/rollout/plan";
import { parseConstraint } from "../../provider/schedule/placement";
import { container, nodes, planInput } from "./fixtures";

const input = planInput;

const old3 = () => [container("h1", 0, "old"), container("h2", 1, "old"), container("h3", 2, "old")];

describe("release planner", () => {
    it("creates: one batch starting every replica, spread", () => {
        const plan = planRelease(input([]));
        assert.equal(plan.batches.length, 1);
        assert.deepEqual(plan.batches[0].start, [
            { slot: 0, node: "h1" },
            { slot: 1, node: "h2" },
            { slot: 2, node: "h3" },
        ]);
    });

    it("version change with room: all new start, then all old retire (blue-green)", () => {
        const old = old3();
        const plan = planRelease(input(old));
        assert.equal(plan.batches.length, 1);
        assert.equal(plan.batches[0].start.length, 3);
        assert.deepEqual(plan.batches[0].retireBefore, []);
        assert.deepEqual(new Set(plan.batches[0].retireAfter), new Set(old));
    });

    it("fixed host port on every node: batches that keep minAvailable serving", () => {
        const old = old3();
        const plan = planRelease(input(old, { rules: { fixedHostPorts: [8080] }, minAvailable: 2 }));
        assert.equal(plan.batches.length, 3);
        for (const b of plan.batches) {
            assert.equal(b.retireBefore.length, 1);
            assert.equal(b.start.length, 1);
            // The new container goes where the old one freed the port.
            assert.equal(b.start[0].node, b.retireBefore[0].node);
        }
    });

    it("8 replicas with a fixed port on 10 nodes: first fills the 2 free nodes, then swaps within minAvailable", () => {
        const ten = nodes(10);
        const old = Array.from({ length: 8 }, (_, i) => container(`h${i + 1}`, i, "old"));
        const plan = planRelease(input(old, { nodes: ten, replicas: 8, rules: { fixedHostPorts: [80] }, minAvailable: 7 }));
        assert.deepEqual(
            plan.batches[0].start.map((p) => p.node),
            ["h9", "h10"],
        );
        assert.deepEqual(plan.batches[0].retireBefore, []);
        const started = plan.batches.flatMap((b) => b.start).length;
        const retired = plan.batches.flatMap((b) => [...b.retireBefore, ...b.retireAfter]).length;
        assert.equal(started, 8);
        assert.equal(retired, 8);
        // Serving never drops below minAvailable: count before each batch's start.
        let serving = 8;
        for (const b of plan.batches) {
            serving -= b.retireBefore.length;
            assert.ok(serving >= 7, `serving ${serving} < 7`);
            serving += b.start.length - b.retireAfter.length;
        }
    });

    it("scale out keeps every running container and starts only the missing slots", () => {
        const current = [container("h1", 0, "new"), container("h2", 1, "new"), container("h3", 2, "new")];
        const plan = planRelease(input(current, { replicas: 5 }));
        assert.equal(plan.keep.length, 3);
        assert.deepEqual(
            plan.batches[0].start.map((p) => p.slot),
            [3, 4],
        );
        assert.deepEqual(plan.batches[0].retireAfter, []);
    });

    it("scale in retires the highest slots and starts nothing", () => {
        const current = [0, 1, 2, 3, 4].map((s) => container(`h${(s % 3) + 1}`, s, "new"));
        const plan = planRelease(input(current, { replicas: 2 }));
        assert.deepEqual(
            plan.keep.map((c) => c.slot),
            [0, 1],
        );
        assert.equal(plan.batches.length, 1);
        assert.deepEqual(
            plan.batches[0].retireAfter.map((c) => c.slot),
            [4, 3, 2],
        );
    });

    it("repairs: an exited container is retired first and its slot started again", () => {
        const current = [container("h1", 0, "new"), container("h2", 1, "new", { state: "exited", health: "none" }), container("h3", 2, "new")];
        const plan = planRelease(input(current));
        assert.deepEqual(
            plan.keep.map((c) => c.slot),
            [0, 2],
        );
        assert.deepEqual(
            plan.batches[0].retireBefore.map((c) => c.slot),
            [1],
        );
        assert.deepEqual(plan.batches[0].start, [{ slot: 1, node: "h2" }]);
    });

    it("nothing to do when everything serves at the wanted revision", () => {
        const current = [container("h1", 0, "new"), container("h2", 1, "new"), container("h3", 2, "new")];
        assert.deepEqual(planRelease(input(current)).batches, []);
    });

    it("moves containers off a cordoned node", () => {
        const current = [container("h1", 0, "new"), container("h2", 1, "new"), container("h3", 2, "new")];
        const plan = planRelease(input(current, { nodes: nodes(3, [{}, {}, { schedulable: false }]) }));
        assert.deepEqual(plan.batches[0].start, [{ slot: 2, node: "h1" }]);
        assert.deepEqual(
            plan.batches[0].retireAfter.map((c) => c.node),
            ["h3"],
        );
    });

    it("refuses a plan that would go below minAvailable, naming the nodes", () => {
        const old = old3();
        assert.throws(
            () => planRelease(input(old, { rules: { fixedHostPorts: [8080] }, minAvailable: 3 })),
            (e: unknown) => e instanceof PlanError && /minAvailable=3/.test(e.message) && /node h1: host port 8080/.test(e.message),
        );
    });
});

describe("release planner: strategies and batch size", () => {
    it("batchSize rolls a few at a time, retiring as many old as each batch started", () => {
        const old = [0, 1, 2, 3, 4, 5].map((s) => container(`h${(s % 3) + 1}`, s, "old"));
        const plan = planRelease(input(old, { replicas: 6, batchSize: 2, minAvailable: 5 }));
        assert.equal(plan.batches.length, 3);
        for (const b of plan.batches) {
            assert.equal(b.start.length, 2);
            assert.equal(b.retireAfter.length, 2);
            assert.deepEqual(b.retireBefore, []);
        }
        assert.equal(new Set(plan.batches.flatMap((b) => b.retireAfter)).size, 6);
    });

    it("stopFirst retires the old container before the new one starts (a singleton never runs twice)", () => {
        const old = [container("h1", 0, "old")];
        const plan = planRelease(input(old, { replicas: 1, strategy: "stopFirst", minAvailable: 0 }));
        assert.equal(plan.batches.length, 1);
        assert.deepEqual(plan.batches[0].retireBefore, old);
        assert.equal(plan.batches[0].start.length, 1);
        assert.deepEqual(plan.batches[0].retireAfter, []);
    });
});

describe("release planner: circuit breaker", () => {
    it("refuses to replace most containers when they fail health checks at once", () => {
        const sick = [
            container("h1", 0, "new", { health: "unhealthy" }),
            container("h2", 1, "new", { health: "unhealthy" }),
            container("h3", 2, "new"),
        ];
        assert.throws(() => planRelease(input(sick)), /circuit breaker: 2 of 3 running containers fail their health checks at once/);
    });

    it("replaces a lone unhealthy container", () => {
        const one = [container("h1", 0, "new", { health: "unhealthy" }), container("h2", 1, "new"), container("h3", 2, "new")];
        const plan = planRelease(input(one));
        assert.deepEqual(
            plan.batches[0].retireBefore.map((c) => c.slot),
            [0],
        );
        assert.deepEqual(
            plan.batches[0].start.map((p) => p.slot),
            [0],
        );
    });

    it("lets a release that fixes an unhealthy revision through, retiring the old only after the new serve", () => {
        const sickOld = [0, 1, 2].map((s) => container(`h${s + 1}`, s, "old", { health: "unhealthy" }));
        const plan = planRelease(input(sickOld));
        assert.deepEqual(plan.batches[0].retireBefore, []);
        assert.equal(plan.batches[0].start.length, 3);
        assert.equal(plan.batches[0].retireAfter.length, 3);
    });
});

describe("release planner: zones and rules", () => {
    const zoned = () => nodes(3, [{ zone: "a" }, { zone: "a" }, { zone: "b" }]);

    it("fails a hard zone spread the nodes cannot give, naming the excluded nodes", () => {
        const cordoned = nodes(3, [{ zone: "a" }, { zone: "a" }, { zone: "b", schedulable: false }]);
        assert.throws(
            () => planRelease(input([], { nodes: cordoned, zones: { count: 2, mode: "hard" } })),
            (e: unknown) =>
                e instanceof PlanError &&
                /span 1 zone\(s\) \(a\), fewer than zones.count=2 \(mode hard\)/.test(e.message) &&
                /node h3: it is cordoned/.test(e.message),
        );
    });

    it("meets a zone spread when it can, and says so when a soft one cannot be met", () => {
        const plan = planRelease(input([], { nodes: zoned(), replicas: 2, zones: { count: 2, mode: "hard" } }));
        assert.deepEqual(
            plan.batches[0].start.map((p) => p.node),
            ["h1", "h3"],
        );
        const soft = planRelease(input([], { nodes: zoned(), replicas: 3, zones: { count: 3, mode: "soft" } }));
        assert.deepEqual(soft.notes, ["containers span 2 zone(s) (a, b), fewer than zones.count=3: best effort (mode soft)"]);
    });

    it("moves containers off nodes a new constraint excludes", () => {
        const current = [container("h1", 0, "new"), container("h2", 1, "new"), container("h3", 2, "new")];
        const plan = planRelease(input(current, { rules: { fixedHostPorts: [], constraints: [parseConstraint("node.name != h2")] } }));
        assert.deepEqual(
            plan.batches[0].start.map((p) => p.node),
            ["h1"],
        );
        assert.deepEqual(
            plan.batches[0].retireAfter.map((c) => c.node),
            ["h2"],
        );
    });
});

describe("release planner: scaling with a release", () => {
    it("judges minAvailable against what serves now when replicas and revision change together, and says the lowest count", () => {
        const old = old3();
        const plan = planRelease(input(old, { nodes: nodes(5), replicas: 5, rules: { fixedHostPorts: [8080] }, minAvailable: 4 }));
        assert.equal(plan.minAvailable, 3);
        assert.equal(plan.batches.flatMap((b) => b.start).length, 5);
        assert.equal(plan.batches.flatMap((b) => [...b.retireBefore, ...b.retireAfter]).length, 3);
        assert.deepEqual(
            plan.batches[0].start.map((p) => p.node),
            ["h4", "h5"],
        );
        let serving = 3;
        for (const b of plan.batches) {
            serving -= b.retireBefore.length;
            assert.ok(serving >= 3, `serving ${serving} < 3`);
            serving += b.start.length - b.retireAfter.length;
        }
        assert.equal(serving, 5);
        assert.ok(plan.notes.includes("minAvailable=4 is more than serve now; judged against the 3 that do"), plan.notes.join("\n"));
    });

    it("counts the lowest number serving when old containers make room in place", () => {
        const plan = planRelease(input(old3(), { rules: { fixedHostPorts: [8080] }, minAvailable: 2 }));
        assert.equal(plan.lowestServing, 2);
    });
});

describe("release planner: host ports held outside the service", () => {
    it("replaces in place when the only free nodes hold the port (the seed's 8 on 10)", () => {
        const old = Array.from({ length: 8 }, (_, i) => container(`h${i + 1}`, i, "old"));
        const held = new Map([
            ["h9", new Map([[80, "a process outside Docker"]])],
            ["h10", new Map([[80, "a process outside Docker"]])],
        ]);
        const plan = planRelease(
            input(old, { nodes: nodes(10), replicas: 8, rules: { fixedHostPorts: [80] }, minAvailable: 7, foreignHostPorts: held }),
        );
        assert.equal(plan.batches.length, 8);
        for (const b of plan.batches) {
            assert.equal(b.retireBefore.length, 1);
            assert.deepEqual(
                b.start.map((p) => p.node),
                [b.retireBefore[0].node],
            );
        }
        assert.ok(plan.batches.every((b) => !["h9", "h10"].includes(b.start[0].node)));
    });

    it("fails when no plan keeps minAvailable, naming each node, port and holder", () => {
        const current = [container("h2", 0, "new"), container("h3", 1, "new")];
        const held = new Map([["h1", new Map([[8081, "a process outside Docker"]])]]);
        assert.throws(
            () => planRelease(input(current, { rules: { fixedHostPorts: [8081] }, foreignHostPorts: held })),
            (e: unknown) =>
                e instanceof PlanError &&
                /node h1: host port 8081 is already held there \(8081 by a process outside Docker\)/.test(e.message) &&
                /node h2: host port 8081/.test(e.message),
        );
    });
});
