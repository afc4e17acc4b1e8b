// The README's walk-through ("What the demo shows"), run as a user would: each step through the
// demo CLI (dist/scripts/demo.js, what `npm run demo` runs) on the suite's own cluster, asserting
// what the README says the step shows. scripts/test.sh runs it after the other tests.
import * as assert from "node:assert/strict";
import { spawn } from "child_process";
import { rmSync } from "fs";
import * as path from "path";
import { quickstart } from "../../examples/quickstart/program";
import { ContainerState } from "../../provider/model";
import { demoWorkspace, openStack, removeStack } from "../../scripts/lib/stack";
import { backendsIn, cleanSlate, containersOf, httpGet, listenerUrl, local, waitForBody } from "../support/world";

const URL = listenerUrl(18080);
const demoScript = path.join(__dirname, "../../scripts/demo.js");

/** `npm run demo -- ARGS` without the set-up: the exit status and everything it printed. */
function demo(...args: string[]): Promise<{ status: number | null; output: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [demoScript, ...args], { stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (d) => (output += d));
        child.stderr.on("data", (d) => (output += d));
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, output }));
    });
}

async function succeeds(...args: string[]): Promise<string> {
    const r = await demo(...args);
    assert.equal(r.status, 0, `npm run demo -- ${args.join(" ")} failed:\n${r.output}`);
    return r.output;
}

const ids = (cs: ContainerState[]) => cs.map((c) => c.id).sort();

/** A few requests in a row all answer `version`. */
async function serves(version: string): Promise<void> {
    await waitForBody(URL, new RegExp(`berth-demo ${version}`));
    for (let i = 0; i < 6; i++) assert.equal((await httpGet(URL)).body.trim(), `berth-demo ${version}`);
}

describe("the README's walk-through through the demo CLI", function () {
    this.timeout(600_000);

    // A fresh stack "demo" and fresh options on this cluster, whatever an interrupted run left.
    async function forgetDemo(): Promise<void> {
        const workDir = demoWorkspace(local.cluster);
        await removeStack(await openStack("berth-quickstart", "demo", async () => quickstart(), {}, workDir));
        rmSync(workDir, { recursive: true, force: true });
        cleanSlate();
    }
    before(forgetDemo);
    after(forgetDemo);

    it("npm run demo: deploys v1 on three hosts and prints the URL, which answers berth-demo v1", async () => {
        const output = await succeeds();
        assert.ok(output.includes(`berth demo is serving at ${URL}`), output);
        assert.ok(output.includes("answers: berth-demo v1"), output);
        await serves("v1");
        const containers = await containersOf("web");
        assert.equal(new Set(containers.map((c) => c.node)).size, 3, "one container per host");
    });

    it("preview --image v2: shows ~ Service web (update), image v1 => v2, and what the release will do; changes nothing", async () => {
        const before = await containersOf("web");
        const output = await succeeds("preview", "--image", "v2");
        assert.match(output, /~ pulumi-nodejs:dynamic\/berth:Service: \(update\)/);
        assert.match(output, /~ image\s*: ".*berth-demo:v1" => ".*berth-demo:v2"/);
        assert.match(output, /\+ blue-green release of a new revision \(image changed\)\n/);
        assert.match(
            output,
            /batch 1\/1: start slot 0 on h1, slot 1 on h2, slot 2 on h3\n\s*\+\s+then retire web-\S+ on h\d, /,
            "the plan names each slot and node",
        );
        assert.deepEqual(ids(await containersOf("web")), ids(before));
        await serves("v1");
    });

    it("--image v2: a blue-green release with [berth] progress lines; the URL then answers v2 from new containers", async () => {
        const before = await containersOf("web");
        const output = await succeeds("--image", "v2");
        assert.match(output, /\[berth\] web: .*batch/);
        await serves("v2");
        const after = await containersOf("web");
        assert.equal(after.length, 3);
        assert.ok(
            after.every((c) => !before.some((b) => b.id === c.id)),
            "every v1 container is replaced",
        );
    });

    it("--replicas 5: scales out without touching the existing containers", async () => {
        const three = await containersOf("web");
        await succeeds("--replicas", "5");
        const five = await containersOf("web");
        assert.equal(five.length, 5);
        assert.ok(
            three.every((c) => five.some((f) => f.id === c.id)),
            "the three running containers stay",
        );
        assert.equal((await backendsIn("web-public")).length, 5);
        await serves("v2");
    });

    it("--image unhealthy: fails fast, saying why; v2 keeps serving on the same containers", async () => {
        const before = await containersOf("web");
        const r = await demo("--image", "unhealthy");
        assert.notEqual(r.status, 0, "the release of an unhealthy image fails");
        assert.match(r.output, /demo failed: /);
        // The batch's label (what it starts and retires) comes between "failed in" and the reason.
        assert.match(
            r.output,
            /release of web failed in batch [\s\S]*container web-o[0-9a-f]{7}-\d+-[0-9a-f]{10}-[0-9a-f]{4} on h\d+ is unhealthy[\s\S]*The previous revision keeps serving/,
            `the error names the service, the container and its health, and says the old revision keeps serving:\n${r.output}`,
        );
        await serves("v2");
        assert.deepEqual(ids(await containersOf("web")), ids(before), "rolled back: only the v2 containers are left");
        assert.deepEqual((await backendsIn("web-public")).map((b) => b.name).sort(), before.map((c) => c.name).sort());
    });

    it("preview --image v2 after the failed release: no change (the rollback left the last state true)", async () => {
        const output = await succeeds("preview", "--image", "v2");
        assert.doesNotMatch(output, /\(update\)|to update/, output);
        assert.match(output, /4 unchanged/);
    });

    it("--image v2: back to v2, the stack keeps the other options (5 replicas)", async () => {
        await succeeds("--image", "v2");
        await serves("v2");
        assert.equal((await containersOf("web")).length, 5);
    });

    it("destroy: no container, no backend, the URL no longer answers", async () => {
        await succeeds("destroy");
        assert.deepEqual(await containersOf(), []);
        assert.deepEqual(await backendsIn("web-public"), []);
        await assert.rejects(httpGet(URL));
    });
});
