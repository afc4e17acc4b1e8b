// A preview from where the nodes or the load balancer cannot be reached (a pull-request runner outside
// the production network), through the real `pulumi` CLI on the local hosts: it finishes within
// seconds with rc 0, shows the input diff and says why the plan is unknown, naming what it could not
// reach, with a warning. `up` from there stops at once and changes nothing (provider/reach.ts).
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { Cluster, Service, SlbBinding } from "../../index";
import { destroyStack, openStack } from "../../scripts/lib/stack";
import { freezeDocker, hideSocket } from "../support/faults";
import { cleanSlate, containersOf, listenerUrl, local, nodeSpecs, waitForBody } from "../support/world";

const PORT = 18391;

function program() {
    const slb = local.slbs[0];
    const cluster = new Cluster("far", { nodes: nodeSpecs() });
    const binding = new SlbBinding("far-public", {
        haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
        listen: { address: slb.address, port: PORT },
        healthCheck: { httpPath: "/health", intervalMs: 500, rise: 2, fall: 2 },
    });
    new Service("far", {
        cluster,
        image: new pulumi.Config().require("image"),
        replicas: 3,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: 1, timeoutSeconds: 3, retries: 2 },
        stopGracePeriodSeconds: 2,
        bindings: [binding],
        release: { healthyTimeoutSeconds: 30, lbHealthyTimeoutSeconds: 30, drainTimeoutSeconds: 10 },
    });
}

/** The Service's step ops, the plan its check computed, and the run's warnings. */
function watch() {
    const ops = new Set<string>();
    const warnings: string[] = [];
    let plan: string[] = [];
    const onEvent = (e: EngineEvent) => {
        if (e.diagnosticEvent?.severity === "warning") warnings.push(e.diagnosticEvent.message);
        const m = e.resourcePreEvent?.metadata;
        if (!m || !m.type.endsWith("berth:Service")) return;
        ops.add(m.op);
        const p = m.new?.inputs?.plannedChange;
        if (typeof p === "string") plan = p.split("\n");
    };
    return { ops, warnings, onEvent, plan: () => plan };
}

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; seconds: number }> {
    const started = Date.now();
    const result = await run();
    return { result, seconds: (Date.now() - started) / 1000 };
}

const ids = async () => (await containersOf("far")).map((c) => c.id).sort();

describe("preview without the production network", function () {
    this.timeout(600_000);
    let stack: Stack;
    let running: string[];
    const url = listenerUrl(PORT);

    before(async () => {
        cleanSlate();
        stack = await openStack("berth-far", `e2e-${Date.now()}`, async () => program());
        await stack.setConfig("image", { value: local.images.v1 });
        await stack.up();
        running = await ids();
        await waitForBody(url, /berth-demo v1/);
        await stack.setConfig("image", { value: local.images.v2 });
    });
    after(async () => destroyStack(stack));

    /** Runs `fn` with every node's Docker frozen (SIGSTOP), thawing them whatever happens. */
    async function allFrozen<T>(fn: () => Promise<T>): Promise<T> {
        const thaws: Array<() => void> = [];
        try {
            for (let i = 0; i < local.hosts.length; i++) thaws.push(freezeDocker(i));
            return await fn();
        } finally {
            for (const thaw of thaws) thaw();
        }
    }

    it("previews an image change with every node's Docker frozen in seconds: rc 0, the input diff, why the plan is unknown", async () => {
        const w = watch();
        const { result, seconds } = await allFrozen(() => timed(() => stack.preview({ onEvent: w.onEvent })));
        console.error(`    preview with all ${local.hosts.length} nodes frozen: ${seconds.toFixed(1)} s`);
        assert.deepEqual([...w.ops], ["update"], result.stdout);
        const plan = w.plan().join("\n");
        assert.match(plan, /image/, "the input diff");
        assert.match(
            plan,
            /^the plan is unknown: nodes h1, h2, h3 could not be reached from here \(h1: did not answer within 5 s( \(earlier in this run\))?; h2: .*; h3: .*\); up plans with what it reaches then$/m,
            plan,
        );
        for (const who of ["cluster far", "service far"]) {
            assert.ok(
                w.warnings.some((m) => m.includes(`[berth] ${who}: `) && /nodes h1, h2, h3 could not be reached from here/.test(m)),
                `a warning from ${who}:\n${w.warnings.join("\n")}`,
            );
        }
        assert.ok(seconds < 25, `took ${seconds} s`);
    });

    it("previews unchanged inputs with every node's Docker frozen as no change", async () => {
        await stack.setConfig("image", { value: local.images.v1 });
        try {
            const w = watch();
            await allFrozen(() => stack.preview({ onEvent: w.onEvent }));
            assert.deepEqual([...w.ops], ["same"], w.plan().join("\n"));
            assert.ok(
                w.warnings.some((m) => m.includes("[berth] service far: the plan is unknown: nodes h1, h2, h3")),
                w.warnings.join("\n"),
            );
        } finally {
            await stack.setConfig("image", { value: local.images.v2 });
        }
    });

    it("up with every node's Docker frozen stops at once, saying why, and changes nothing", async () => {
        const { result: error, seconds } = await allFrozen(() =>
            timed(() =>
                stack.up().then(
                    () => undefined,
                    (e: Error) => e,
                ),
            ),
        );
        console.error(`    up with all nodes frozen failed after ${seconds.toFixed(1)} s`);
        assert.ok(error, "up fails");
        assert.match(
            error.message,
            /service far: no schedulable node answers \(h1: did not answer within 5 s; h2: .*; h3: .*\): nothing was changed/,
        );
        assert.deepEqual(await ids(), running, "no container started or removed");
        await waitForBody(url, /berth-demo v1/);
        // The state is still true: with the nodes back, the preview plans the release again.
        const w = watch();
        await stack.preview({ onEvent: w.onEvent });
        assert.ok(
            w.plan().some((l) => /^batch 1\/1: start slot 0 on/.test(l)),
            w.plan().join("\n"),
        );
    });

    it("a load balancer out of reach: the preview names it, up stops before changing anything", async () => {
        const restore = hideSocket(local.slbs[0].adminSocket);
        try {
            const w = watch();
            await stack.preview({ onEvent: w.onEvent });
            assert.match(
                w.plan().join("\n"),
                /^the plan is unknown: load balancer far-public could not be reached from here \(far-public: HAProxy socket .* does not answer/m,
            );
            assert.ok(
                w.warnings.some((m) => m.includes("[berth] slb binding far-public: load balancer far-public could not be reached from here")),
                w.warnings.join("\n"),
            );
            await assert.rejects(
                stack.up(),
                /service far: load balancer far-public could not be reached \(far-public: HAProxy socket .* does not answer.*\): nothing was changed/,
            );
        } finally {
            restore();
        }
        assert.deepEqual(await ids(), running, "no container started or removed");
        await waitForBody(url, /berth-demo v1/);
    });
});
