// Preview fidelity, through the real `pulumi` CLI on the local hosts: for each kind of change, the step
// the preview shows and its plan (the slots and nodes it starts, the containers it retires, the backends
// it registers, re-weights and removes) are what the following `up` then does to containers and backends.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { Cluster, Service, SlbBinding } from "../../index";
import { ContainerState } from "../../provider/model";
import { destroyStack, openStack } from "../../scripts/lib/stack";
import { upKilledAt } from "../support/kill";
import { backendsIn, cleanSlate, containersOf, hosts, local, nodeSpecs } from "../support/world";
import { story } from "../support/story";

/** What the program is asked for: every field one kind of change touches. */
interface Spec {
    name: string;
    image: string;
    replicas: number;
    cpus?: number;
    memoryMb?: number;
    bindings: Array<{ pool: "fid-public" | "fid-internal"; weight?: number }>;
    restartTrigger?: string;
    cordon?: string;
    constraint?: string;
}

const POOLS = ["fid-public", "fid-internal"] as const;

function program() {
    const spec: Spec = JSON.parse(new pulumi.Config().require("spec"));
    const slb = local.slbs[0];
    const cluster = new Cluster("fid", { nodes: nodeSpecs().map((n) => ({ ...n, schedulable: n.name !== spec.cordon })) });
    const bindings = Object.fromEntries(
        POOLS.map((pool, i) => [
            pool,
            new SlbBinding(pool, {
                haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
                listen: { address: slb.address, port: 18380 + i },
                healthCheck: { httpPath: "/health", intervalMs: 500, rise: 2, fall: 2 },
            }),
        ]),
    );
    new Service("fid", {
        name: spec.name,
        cluster,
        image: spec.image,
        replicas: spec.replicas,
        cpus: spec.cpus,
        memoryMb: spec.memoryMb,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: 1, timeoutSeconds: 3, retries: 2 },
        stopGracePeriodSeconds: 2,
        bindings: spec.bindings.map((b) => ({ binding: bindings[b.pool], weight: b.weight })),
        restartTrigger: spec.restartTrigger,
        placement: spec.constraint ? { constraints: [spec.constraint] } : undefined,
        release: { healthyTimeoutSeconds: 30, lbHealthyTimeoutSeconds: 30, drainTimeoutSeconds: 10 },
    });
}

/** The Service's step ops and, in a preview, the plan its check computed. */
function serviceEvents() {
    const ops = new Set<string>();
    let plan: string[] | undefined;
    const onEvent = (e: EngineEvent) => {
        const m = e.resourcePreEvent?.metadata;
        if (!m || !m.type.endsWith("berth:Service")) return;
        ops.add(m.op);
        const p = m.new?.inputs?.plannedChange;
        if (typeof p === "string") plan = p.split("\n");
    };
    return { ops, onEvent, plan: () => plan };
}

/** The plan's lines read back: what starts and retires, and each binding's backend changes. */
function readPlan(lines: string[]) {
    const starts = new Set<string>();
    const retires = new Set<string>();
    const registers = new Map<string, Set<string>>();
    const reweights = new Map<string, Set<string>>();
    const removes = new Map<string, Set<string>>();
    const resized = new Set<string>();
    const add = (m: Map<string, Set<string>>, pool: string, names: string[]) => m.set(pool, new Set([...(m.get(pool) ?? []), ...names]));
    const list = (text: string) => text.split(", ").map((x) => x.trim());
    for (const line of lines) {
        // A batch's steps: on its own line ("batch i/n: <step>") or indented below it ("  <step>").
        const step = /^(?:batch \d+\/\d+: | {2})(retire first|start|then retire) (.*)$/.exec(line);
        if (step?.[1] === "start") list(step[2]).forEach((s) => starts.add(s));
        else if (step) list(step[2]).forEach((r) => retires.add(r.split(" on ")[0]));
        const register = /^binding (\S+): register at weight \d+ once healthy there: (.*)$/.exec(line);
        if (register)
            add(
                registers,
                register[1],
                list(register[2]).map((x) => x.split(" on ")[0]),
            );
        const reweight = /^binding (\S+): re-weight (.*)$/.exec(line);
        if (reweight)
            add(
                reweights,
                reweight[1],
                list(reweight[2]).map((x) => x.split(" ")[0]),
            );
        const left = /^binding (\S+) left, the containers stay: drain and deregister (.*)$/.exec(line);
        if (left) add(removes, left[1], list(left[2]));
        const orphan = /^binding (\S+): remove \(their containers are gone\): (.*)$/.exec(line);
        if (orphan) add(removes, orphan[1], list(orphan[2]));
        const stranded = /^binding (\S+): once the new revision serves, drain and remove \(their nodes do not answer\): (.*)$/.exec(line);
        if (stranded) add(removes, stranded[1], list(stranded[2]));
        const inPlace = /^in place, docker update \(no restart\): (.*)$/.exec(line);
        if (inPlace) list(inPlace[1]).forEach((x) => resized.add(x.split(" on ")[0]));
    }
    return { starts, retires, registers, reweights, removes, resized };
}

interface World {
    containers: ContainerState[];
    backends: Record<string, Map<string, number>>;
}

async function world(): Promise<World> {
    const backends: Record<string, Map<string, number>> = {};
    for (const pool of POOLS) backends[pool] = new Map((await backendsIn(pool)).map((b) => [b.name, b.weight]));
    return { containers: await containersOf(), backends };
}

const sorted = (s: Iterable<string>) => [...s].sort();

/**
 * What `up` did, from the world before and after, compared with what the plan said it would do. A
 * replacement's plan is the new service's (Pulumi checks a replacement without the old inputs): the
 * delete of `replaced` then removes all of the old service's containers.
 */
function assertPlanWasRun(lines: string[], before: World, after: World, replaced?: string) {
    const plan = readPlan(lines);
    const text = lines.join("\n");
    const beforeIds = new Set(before.containers.map((c) => c.id));
    const afterIds = new Set(after.containers.map((c) => c.id));
    const started = after.containers.filter((c) => !beforeIds.has(c.id));
    const removed = before.containers.filter((c) => !afterIds.has(c.id));
    assert.deepEqual(sorted(started.map((c) => `slot ${c.slot} on ${c.node}`)), sorted(plan.starts), `started containers vs the plan:\n${text}`);
    const oldService = before.containers.filter((c) => c.name.startsWith(`${replaced}-`)).map((c) => c.name);
    assert.deepEqual(sorted(removed.map((c) => c.name)), sorted([...plan.retires, ...oldService]), `removed containers vs the plan:\n${text}`);
    const startedNames = new Set(started.map((c) => c.name));
    const removedNames = new Set(removed.map((c) => c.name));
    for (const pool of POOLS) {
        const was = before.backends[pool];
        const is = after.backends[pool];
        const added = [...is.keys()].filter((n) => !was.has(n));
        const gone = [...was.keys()].filter((n) => !is.has(n));
        const reweighted = [...is.keys()].filter((n) => was.has(n) && was.get(n) !== is.get(n));
        assert.deepEqual(
            sorted(added),
            sorted(new Set([...started.map((c) => c.name).filter((n) => is.has(n)), ...(plan.registers.get(pool) ?? [])])),
            `backends added to ${pool} vs the plan:\n${text}`,
        );
        assert.ok(
            added.every((n) => startedNames.has(n) || plan.registers.get(pool)?.has(n)),
            `${pool}: a backend the plan did not announce`,
        );
        assert.deepEqual(
            sorted(gone),
            sorted(new Set([...[...was.keys()].filter((n) => removedNames.has(n)), ...(plan.removes.get(pool) ?? [])])),
            `backends removed from ${pool} vs the plan:\n${text}`,
        );
        assert.deepEqual(sorted(reweighted), sorted(plan.reweights.get(pool) ?? []), `backends re-weighted in ${pool} vs the plan:\n${text}`);
    }
    return plan;
}

describe("preview fidelity: the plan is what up does", function () {
    this.timeout(900_000);
    const step = story();
    let stack: Stack;
    const spec: Spec = { name: "fid", image: local.images.v1, replicas: 3, bindings: [{ pool: "fid-public" }] };
    const setSpec = () => stack.setConfig("spec", { value: JSON.stringify(spec) });

    /** Preview, then up; asserts the same step kind in both and the plan against what up did. Returns the plan read back. */
    async function previewThenUp(expectedOp: string, replaced?: string) {
        await setSpec();
        const pre = serviceEvents();
        await stack.preview({ onEvent: pre.onEvent });
        const lines = pre.plan();
        assert.ok(pre.ops.has(expectedOp), `preview shows ${[...pre.ops]} for the service, expected ${expectedOp}; plan:\n${lines?.join("\n")}`);
        const before = await world();
        const up = serviceEvents();
        await stack.up({ onEvent: up.onEvent });
        assert.deepEqual(sorted(up.ops), sorted(pre.ops), "up takes the step the preview showed");
        assert.ok(lines, "the preview carries the plan");
        return assertPlanWasRun(lines, before, await world(), replaced);
    }

    before(async () => {
        cleanSlate();
        stack = await openStack("berth-fidelity", `e2e-${Date.now()}`, async () => program());
        await setSpec();
        await stack.up();
    });
    after(async () => destroyStack(stack));

    step("image: a blue-green release of every slot", async () => {
        spec.image = local.images.v2;
        const plan = await previewThenUp("update");
        assert.equal(plan.starts.size, 3);
        assert.equal(plan.retires.size, 3);
    });

    step("replicas up: one more slot, nothing retired", async () => {
        spec.replicas = 4;
        const plan = await previewThenUp("update");
        assert.deepEqual(
            sorted(plan.starts).map((s) => s.split(" on ")[0]),
            ["slot 3"],
        );
        assert.equal(plan.retires.size, 0);
    });

    step("replicas down: the highest slots retire", async () => {
        spec.replicas = 2;
        const plan = await previewThenUp("update");
        assert.equal(plan.starts.size, 0);
        assert.deepEqual(
            sorted(plan.retires).map((n) => /-(\d+)-[0-9a-f]{10}-[0-9a-f]{4}$/.exec(n)![1]),
            ["2", "3"],
        );
    });

    step("cpus and memory: docker update in place, no container replaced", async () => {
        Object.assign(spec, { cpus: 0.5, memoryMb: 64 });
        const before = await containersOf(spec.name);
        const plan = await previewThenUp("update");
        assert.deepEqual(sorted(plan.resized), sorted(before.map((c) => c.name)));
        for (const h of hosts()) {
            for (const c of before.filter((x) => x.node === h.node)) assert.equal((await h.inspect(c.id)).limits.nanoCpus, 0.5e9);
        }
    });

    step("a second binding: the kept containers are registered there", async () => {
        spec.bindings.push({ pool: "fid-internal" });
        const plan = await previewThenUp("update");
        assert.equal(plan.registers.get("fid-internal")?.size, 2);
    });

    step("a binding's weight: re-weighted in place", async () => {
        spec.bindings[1].weight = 50;
        const plan = await previewThenUp("update");
        assert.equal(plan.reweights.get("fid-internal")?.size, 2);
    });

    step("a binding removed: drained and deregistered there, containers stay", async () => {
        spec.bindings.pop();
        const plan = await previewThenUp("update");
        assert.equal(plan.removes.get("fid-internal")?.size, 2);
        assert.equal(plan.starts.size + plan.retires.size, 0);
    });

    step("restartTrigger: every container rolled without an image change", async () => {
        spec.restartTrigger = "r1";
        const plan = await previewThenUp("update");
        assert.equal(plan.starts.size, 2);
        assert.equal(plan.retires.size, 2);
    });

    step("a cordoned node: its container moves off it", async () => {
        const on = new Set((await containersOf(spec.name)).map((c) => c.node));
        spec.cordon = [...on][0];
        const plan = await previewThenUp("update");
        assert.equal(plan.retires.size, 1);
        assert.ok([...plan.starts].every((s) => !s.endsWith(` on ${spec.cordon}`)));
    });

    step("a placement constraint: containers that break it move", async () => {
        spec.cordon = undefined;
        await previewThenUp("update");
        spec.constraint = "node.name != h1";
        await previewThenUp("update");
        assert.ok((await containersOf(spec.name)).every((c) => c.node !== "h1"));
    });

    step("no change: preview and up both leave the service alone", async () => {
        const pre = serviceEvents();
        await stack.preview({ onEvent: pre.onEvent });
        assert.deepEqual([...pre.ops], ["same"]);
        assert.equal(pre.plan()?.[0], "nothing to do: what runs matches the inputs");
        const before = await world();
        await stack.up();
        assert.deepEqual(await world(), before);
    });

    step("containers removed by hand: the preview plans their slots back, up starts exactly those", async () => {
        const [gone] = await containersOf(spec.name);
        const host = hosts().find((h) => h.node === gone.node)!;
        await host.remove(gone.id);
        const plan = await previewThenUp("update");
        assert.deepEqual(
            sorted(plan.starts).map((s) => s.split(" on ")[0]),
            [`slot ${gone.slot}`],
        );
    });

    step("the revert after a failed release previews as no change", async () => {
        const previous = spec.image;
        spec.image = local.images.unhealthy;
        await setSpec();
        await assert.rejects(stack.up());
        spec.image = previous;
        const pre = serviceEvents();
        await setSpec();
        await stack.preview({ onEvent: pre.onEvent });
        assert.deepEqual([...pre.ops], ["same"], `plan: ${pre.plan()?.join("\n")}`);
    });

    step("after a killed up: the next preview plans the finish, and up does it", async () => {
        spec.image = local.images.v1;
        await setSpec();
        await upKilledAt(stack, /waiting for load balancer health/);
        await previewThenUp("update");
        const now = await containersOf(spec.name);
        assert.equal(now.length, 2);
        assert.equal(new Set(now.map((c) => c.revision)).size, 1);
        const pre = serviceEvents();
        await stack.preview({ onEvent: pre.onEvent });
        assert.deepEqual([...pre.ops], ["same"]);
    });

    step("rename: a replacement; the new service's slots start, the old one's containers go", async () => {
        spec.name = "fid2";
        const plan = await previewThenUp("replace", "fid");
        assert.equal(plan.starts.size, 2);
        assert.equal((await containersOf("fid")).length, 0);
    });
});
