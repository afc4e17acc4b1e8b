// The rule for nodes and load balancers out of reach (provider/reach.ts): what planning and acting
// do with them, which errors mean "nothing answered", and one deadline for a whole step's probes.
import * as assert from "node:assert/strict";
import { NodeConnectionError } from "../../provider/docker/faults";
import { NoAnswerError, noAnswer, Reach, reachVerdict, settleForPlan, settleWithin } from "../../provider/reach";

const node = (name: string, error?: string, schedulable = true) => ({ name, schedulable, error });
const reach = (nodes: Reach["nodes"], slbs: Reach["slbs"] = []): Reach => ({ nodes, slbs });

describe("reach: nodes and load balancers out of reach", () => {
    describe("planning (check, diff)", () => {
        it("plans when every schedulable node and load balancer answers; a cordoned node may be down", () => {
            assert.deepEqual(reachVerdict("plan", reach([node("h1"), node("h2", "did not answer within 5 s", false)], [{ name: "pub" }])), {
                kind: "go",
                leftOut: ["h2"],
            });
        });

        it("says the plan is unknown, naming every node and load balancer it could not reach and why", () => {
            const v = reachVerdict(
                "plan",
                reach([node("h1", "did not answer within 5 s"), node("h2"), node("h3", "connection refused")], [{ name: "pub", error: "no socket" }]),
            );
            assert.equal(v.kind, "unknown");
            if (v.kind !== "unknown") return;
            assert.deepEqual([v.nodes, v.slbs], [["h1", "h3"], ["pub"]]);
            assert.equal(
                v.reason,
                "nodes h1, h3 and load balancer pub could not be reached from here (h1: did not answer within 5 s; h3: connection refused; pub: no socket)",
            );
        });

        it("names a single node alone", () => {
            const v = reachVerdict("plan", reach([node("h1", "did not answer within 5 s"), node("h2")]));
            assert.equal(v.kind === "unknown" && v.reason, "node h1 could not be reached from here (h1: did not answer within 5 s)");
        });
    });

    describe("acting (update, node-loss handling)", () => {
        it("leaves out the nodes that do not answer while one schedulable node does", () => {
            assert.deepEqual(reachVerdict("act", reach([node("h1", "x"), node("h2"), node("h3", "y", false)])), {
                kind: "go",
                leftOut: ["h1", "h3"],
            });
        });

        it("fails naming a load balancer it cannot reach, even with every node answering", () => {
            const v = reachVerdict("act", reach([node("h1")], [{ name: "pub" }, { name: "internal", error: "no socket" }]));
            assert.deepEqual(v, { kind: "fail", reason: "load balancer internal could not be reached (internal: no socket): nothing was changed" });
        });

        it("fails when no schedulable node answers, though a cordoned one does", () => {
            const v = reachVerdict("act", reach([node("h1", "x"), node("h2", "y"), node("h3", undefined, false)]));
            assert.deepEqual(v, { kind: "fail", reason: "no schedulable node answers (h1: x; h2: y): nothing was changed" });
        });

        it("leaves a cluster with no schedulable node to the planner", () => {
            assert.deepEqual(reachVerdict("act", reach([node("h1", "x", false)])), { kind: "go", leftOut: ["h1"] });
        });
    });

    it("counts as no answer: a passed deadline, no route, nothing listening, no socket, no such name; not an answer that refused us", () => {
        for (const e of [
            new NoAnswerError("x"),
            { code: "ETIMEDOUT" },
            { code: "EHOSTUNREACH" },
            { code: "ECONNREFUSED" },
            { code: "ENOENT" },
            { code: "ENOTFOUND" },
            { level: "client-timeout", message: "Timed out while waiting for handshake" },
            new NodeConnectionError("h1", "docker", "x", true),
        ]) {
            assert.equal(noAnswer(e), true, JSON.stringify(e));
        }
        for (const e of [
            { code: "EACCES" },
            { code: "CERT_HAS_EXPIRED" },
            { level: "client-authentication", message: "All configured authentication methods failed" },
            new NodeConnectionError("h1", "tls.ca", "not signed by tls.ca"),
            new Error("HAProxy refused 'show stat': Unknown command"),
        ]) {
            assert.equal(noAnswer(e), false, JSON.stringify(e));
        }
    });

    it("bounds a whole step's probes by one deadline, however many hang", async () => {
        const hang = () => new Promise<never>(() => undefined);
        const settled = await settleWithin(
            [hang, hang, hang, async () => "h4", async () => Promise.reject(new Error("refused"))],
            (probe) => probe(),
            200,
        );
        assert.deepEqual(
            settled.map((s) => (s.status === "fulfilled" ? s.value : s.reason.message)),
            ["did not answer within 0.2 s", "did not answer within 0.2 s", "did not answer within 0.2 s", "h4", "refused"],
        );
        const silent = settled.slice(0, 3).map((s) => (s.status === "rejected" ? s.reason : undefined));
        assert.ok(silent.every((r) => r instanceof NoAnswerError));
        // One deadline for the step, not one per probe: every hanging probe ends by the same expiry.
        assert.ok(
            silent.every((r) => r === silent[0]),
            "the hanging probes share one deadline",
        );
    });

    it("planning does not wait again for an endpoint that gave no answer earlier in the run; a refusal is asked again", async () => {
        const asked: string[] = [];
        const probe = (endpoint: string) => {
            asked.push(endpoint);
            return endpoint.startsWith("hang") ? new Promise<never>(() => undefined) : Promise.reject(new Error(`${endpoint} refused`));
        };
        const endpoints = ["hang://a", "refuse://b"];
        const first = await settleForPlan(endpoints, (e) => e, probe, 100);
        const second = await settleForPlan([...endpoints, "hang://c"], (e) => e, probe, 100);
        assert.deepEqual(asked, ["hang://a", "refuse://b", "refuse://b", "hang://c"], "hang://a is not asked again");
        const reasons = (r: PromiseSettledResult<unknown>[]) => r.map((s) => (s.status === "rejected" ? s.reason.message : "answered"));
        assert.deepEqual(reasons(first), ["did not answer within 0.1 s", "refuse://b refused"]);
        assert.deepEqual(reasons(second), ["did not answer within 0.1 s (earlier in this run)", "refuse://b refused", "did not answer within 0.1 s"]);
        assert.ok(second[0].status === "rejected" && second[0].reason instanceof NoAnswerError);
    });

    it("returns as soon as every probe settled, and leaves no deadline timer behind", async () => {
        const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
        // (mocha arms this test's own timeout once the test function returns its promise: count after that)
        await Promise.resolve();
        const before = timers();
        // A deadline no test run outlasts: settling only when it fires would hang this test.
        const settled = await settleWithin([1, 2], async (n) => n, 2 ** 31 - 1);
        assert.deepEqual(
            settled.map((s) => s.status === "fulfilled" && s.value),
            [1, 2],
        );
        assert.equal(timers(), before, "the deadline timer was cleared");
    });
});
