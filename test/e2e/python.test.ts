// berth from Python, end to end through the real `pulumi` CLI: examples/python (the generated SDK,
// berth's Python language host, the provider plugin) deploys a service behind a public and a
// private binding on the local hosts, previews and releases a new image under load, scales,
// refuses bad input in preview, and destroys.
import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { Load, summarize } from "../support/load";
import { pulumiCommand } from "../../scripts/lib/stack";
import { openProgramStack, removeProgramStack } from "../support/programStack";
import { backendsIn, cleanSlate, containersOf, listenerUrl, local, waitForBody } from "../support/world";
import { story } from "../support/story";

const PUBLIC = listenerUrl(18180);
const PRIVATE = listenerUrl(18181);

/** What a pull-request bot reads: `pulumi preview --json`, run by the CLI in the stack's program directory. */
async function previewJson(stack: Stack): Promise<{ steps: any[] }> {
    const args = ["preview", "--json", "--stack", stack.name];
    return JSON.parse(
        execFileSync((await pulumiCommand()).command, args, {
            cwd: stack.workspace.workDir,
            env: { ...process.env, ...stack.workspace.envVars },
            encoding: "utf8",
            maxBuffer: 64 << 20,
        }),
    );
}

const serviceStep = (preview: { steps: any[] }) => preview.steps.find((s) => s.urn.endsWith("berth:index:Service::py-web"));

describe("berth from Python through the provider plugin", function () {
    this.timeout(600_000);
    const step = story();
    let stack: Stack;
    const log: string[] = [];
    const events: EngineEvent[] = [];
    const onOutput = (s: string) => log.push(s);
    const onEvent = (e: EngineEvent) => events.push(e);

    before(async () => {
        cleanSlate();
        stack = await openProgramStack("python", { image: local.images.v1, replicas: "2", publicPort: "18180", privatePort: "18181" });
    });
    after(async () => removeProgramStack(stack));

    it("previews the new stack: the service's plan names its slots and nodes, and nothing is created", async () => {
        const step = serviceStep(await previewJson(stack));
        assert.equal(step.op, "create");
        assert.match(step.newState.inputs.plannedChange, /^create py-web: 2 container\(s\)\n/);
        assert.match(step.newState.inputs.plannedChange, /\nbatch 1\/1: start slot 0 on h\d, slot 1 on h\d\n/);
        assert.match(step.newState.inputs.plannedChange, /new backends join at weight 0, get 100 in py-public, 50 in py-private once healthy there/);
        assert.deepEqual(await containersOf("py-web"), []);
        await assert.rejects(fetch(PUBLIC, { signal: AbortSignal.timeout(3000) }), "the preview made no listener");
    });

    step("deploys v1 behind both bindings, progress lines under the service", async () => {
        const up = await stack.up({ onOutput, onEvent });
        assert.equal(up.outputs.publicUrl.value, PUBLIC);
        assert.equal(up.outputs.privateUrl.value, PRIVATE);
        await waitForBody(PUBLIC, /berth-demo v1/);
        await waitForBody(PRIVATE, /berth-demo v1/);
        const containers = await containersOf("py-web");
        assert.equal(containers.length, 2);
        assert.deepEqual(up.outputs.containers.value.sort(), containers.map((c) => c.name).sort());
        for (const [pool, weight] of [
            ["py-public", 100],
            ["py-private", 50],
        ] as const) {
            const backends = await backendsIn(pool);
            assert.deepEqual(backends.map((b) => b.name).sort(), containers.map((c) => c.name).sort(), pool);
            assert.ok(
                backends.every((b) => b.weight === weight),
                `${pool} weights ${JSON.stringify(backends)}`,
            );
        }
        const underService = events.filter(
            (e) => e.diagnosticEvent?.urn?.endsWith("berth:index:Service::py-web") && e.diagnosticEvent.message.includes("[berth] py-web:"),
        );
        assert.ok(underService.length > 0, "the plugin logs progress against the service's URN");
        // Waits are statuses the next one replaces; decisions and outcomes last.
        const waits = underService.filter((e) => /waiting for (Docker|load balancer) health/.test(e.diagnosticEvent!.message));
        assert.ok(waits.length > 0 && waits.every((e) => e.diagnosticEvent!.ephemeral === true), JSON.stringify(waits.map((e) => e.diagnosticEvent)));
        const lasting = underService.filter((e) => /batch 1\/1: start|traffic on/.test(e.diagnosticEvent!.message));
        assert.ok(lasting.length > 0 && lasting.every((e) => !e.diagnosticEvent!.ephemeral), JSON.stringify(lasting.map((e) => e.diagnosticEvent)));
    });

    step("previews a new image as a detailed diff of the service alone", async () => {
        await stack.setConfig("image", { value: local.images.v2 });
        const preview = await stack.preview({ onOutput, diff: true });
        assert.deepEqual(preview.changeSummary, { same: 4, update: 1 });
        assert.match(preview.stdout, /~ image\s*: ".*berth-demo:v1" => ".*berth-demo:v2"/);
        assert.match(preview.stdout, /~ plannedChange\s*:\s*\n(.*\n)*?\s*\+ blue-green release of a new revision \(image changed\)\n/);
        assert.match(
            preview.stdout,
            /batch 1\/1: start slot 0 on h\d, slot 1 on h\d\n\s*\+\s+then retire py-web-/,
            "the plan names each slot and node",
        );
        // What a pull-request bot reads: the plan in the step's new inputs of `pulumi preview --json`.
        const step = serviceStep(await previewJson(stack));
        assert.equal(step.op, "update");
        assert.match(
            step.newState.inputs.plannedChange,
            /^blue-green release of a new revision \(image changed\)\n.*\nbatch 1\/1: start slot 0 on h\d, slot 1 on h\d\n/,
        );
        assert.doesNotMatch(preview.stdout, /~ (replicas|bindings|cluster)\s*:/, "only what changed is shown");
    });

    step("releases v2 under load with zero failed requests", async () => {
        const before = await containersOf("py-web");
        const load = new Load({ url: PUBLIC, ratePerSecond: 50, slowShare: 0, maxSeconds: 240 }).start();
        await stack.up({ onOutput });
        await waitForBody(PUBLIC, /berth-demo v2/);
        const s = summarize(await load.stop());
        console.log(`      ${s.total} requests, ${s.failed} failed; versions ${JSON.stringify(s.versions)}`);
        assert.equal(s.failed, 0, `failed requests: ${JSON.stringify(s.errors)}`);
        const after = await containersOf("py-web");
        assert.equal(after.length, 2);
        assert.ok(
            after.every((c) => !before.some((b) => b.id === c.id)),
            "no v1 container left",
        );
        assert.match(await waitForBody(PRIVATE, /berth-demo/), /berth-demo v2/);
    });

    step("scales 2 -> 3 keeping the running containers", async () => {
        const two = await containersOf("py-web");
        await stack.setConfig("replicas", { value: "3" });
        await stack.up({ onOutput });
        const three = await containersOf("py-web");
        assert.equal(three.length, 3);
        assert.ok(two.every((c) => three.some((t) => t.id === c.id)));
        assert.equal((await backendsIn("py-private")).length, 3);
    });

    step("refuses a bad image in preview, naming the property", async () => {
        await stack.setConfig("image", { value: "Not An Image!" });
        await assert.rejects(stack.preview({ onOutput }), (e: Error) => /image/.test(e.message) && /Not An Image!/.test(e.message));
        await stack.setConfig("image", { value: local.images.v2 });
    });

    step("stops a release at Ctrl-C: the plugin's Cancel ends the health wait, the batch rolls back, v2 keeps serving", async () => {
        const before = await containersOf("py-web");
        // Docker would call the image unhealthy only after 100 failed checks: without Ctrl-C the release waits minutes.
        await stack.setAllConfig({ image: { value: local.images.unhealthy }, healthRetries: { value: "100" }, healthyTimeout: { value: "300" } });
        const ctrlC = new AbortController();
        let cancelledAt = 0;
        const onWaiting = (e: EngineEvent) => {
            if (!cancelledAt && e.diagnosticEvent?.message.includes("waiting for Docker health")) {
                cancelledAt = Date.now();
                ctrlC.abort();
            }
        };
        await assert.rejects(stack.up({ onOutput, onEvent: onWaiting, signal: ctrlC.signal }), (e: Error) => {
            assert.match(e.message, /cancelled \(Ctrl-C or pulumi cancel\) while waiting for containers to be healthy in Docker/);
            assert.match(e.message, /The previous revision keeps serving/);
            return true;
        });
        const seconds = (Date.now() - cancelledAt) / 1000;
        console.log(`      pulumi up ended ${seconds.toFixed(1)} s after Ctrl-C`);
        assert.ok(cancelledAt > 0, "the release reached the health wait");
        assert.ok(seconds < 30, `ended ${seconds} s after Ctrl-C, not at the 300 s deadline`);
        assert.deepEqual(
            (await containersOf("py-web")).map((c) => c.id).sort(),
            before.map((c) => c.id).sort(),
            "the new containers are gone, the old untouched",
        );
        assert.match(await waitForBody(PUBLIC, /berth-demo/), /berth-demo v2/);
        await stack.setAllConfig({ image: { value: local.images.v2 }, healthRetries: { value: "5" }, healthyTimeout: { value: "60" } });
    });

    step("ends a release at its customTimeouts: the waits stop at the deadline, the batch rolls back, v2 keeps serving", async () => {
        const before = await containersOf("py-web");
        await stack.setAllConfig({
            image: { value: local.images.unhealthy },
            healthRetries: { value: "100" },
            healthyTimeout: { value: "300" },
            updateTimeout: { value: "8s" },
        });
        const started = Date.now();
        await assert.rejects(stack.up({ onOutput }), (e: Error) => {
            assert.match(e.message, /the update timeout of 8s \(customTimeouts\) passed while waiting for containers to be healthy in Docker/);
            assert.match(e.message, /The previous revision keeps serving/);
            return true;
        });
        const seconds = (Date.now() - started) / 1000;
        console.log(`      pulumi up with customTimeouts update 8s ended after ${seconds.toFixed(1)} s`);
        assert.ok(seconds < 60, `ended after ${seconds} s, not at the 300 s health deadline`);
        assert.deepEqual(
            (await containersOf("py-web")).map((c) => c.id).sort(),
            before.map((c) => c.id).sort(),
            "the new containers are gone, the old untouched",
        );
        assert.match(await waitForBody(PUBLIC, /berth-demo/), /berth-demo v2/);
        await stack.setAllConfig({ image: { value: local.images.v2 }, healthRetries: { value: "5" }, healthyTimeout: { value: "60" } });
        await stack.removeConfig("updateTimeout");
    });

    step("destroys: no container, backend or listener left", async () => {
        await stack.destroy({ onOutput });
        assert.deepEqual(await containersOf("py-web"), []);
        assert.deepEqual(await backendsIn("py-public"), []);
        await assert.rejects(fetch(PUBLIC, { signal: AbortSignal.timeout(3000) }));
    });
});
