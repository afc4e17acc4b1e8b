// berth from Go, end to end through the real `pulumi` CLI: the Go SDK is generated from schema.json and
// checked with go build and go vet, then examples/go (that SDK, berth's Go language host, the provider
// plugin) deploys a service behind a public and a private binding on the local hosts, releases a new
// image under load, refuses bad input in preview, and destroys.
import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { Load, summarize } from "../support/load";
import { openProgramStack, removeProgramStack } from "../support/programStack";
import { backendsIn, cleanSlate, containersOf, listenerUrl, local, waitForBody } from "../support/world";
import { story } from "../support/story";

const PUBLIC = listenerUrl(18182);
const PRIVATE = listenerUrl(18183);
const REPO = path.resolve(__dirname, "..", "..", "..");

describe("berth from Go through the provider plugin", function () {
    this.timeout(600_000);
    const step = story();
    let stack: Stack;
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);

    before(async () => {
        cleanSlate();
        stack = await openProgramStack("go", { image: local.images.v1, replicas: "2", publicPort: "18182", privatePort: "18183" });
    });
    after(async () => removeProgramStack(stack));
    afterEach(function () {
        if (this.currentTest?.state === "failed") console.log(log.join(""));
        log.length = 0;
    });

    it("generates the Go SDK from schema.json: go build and go vet pass", () => {
        execFileSync("bash", [path.join(REPO, "scripts", "go-sdk.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    });

    step("deploys v1 behind both bindings", async () => {
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.publicUrl.value, PUBLIC);
        assert.equal(up.outputs.privateUrl.value, PRIVATE);
        await waitForBody(PUBLIC, /berth-demo v1/);
        await waitForBody(PRIVATE, /berth-demo v1/);
        const containers = await containersOf("go-web");
        assert.equal(containers.length, 2);
        assert.deepEqual(up.outputs.containers.value.sort(), containers.map((c) => c.name).sort());
        for (const [pool, weight] of [
            ["go-public", 100],
            ["go-private", 50],
        ] as const) {
            const backends = await backendsIn(pool);
            assert.deepEqual(backends.map((b) => b.name).sort(), containers.map((c) => c.name).sort(), pool);
            assert.ok(
                backends.every((b) => b.weight === weight),
                `${pool} weights ${JSON.stringify(backends)}`,
            );
        }
    });

    step("releases v2 under load with zero failed requests", async () => {
        const before = await containersOf("go-web");
        await stack.setConfig("image", { value: local.images.v2 });
        const load = new Load({ url: PUBLIC, ratePerSecond: 50, slowShare: 0, maxSeconds: 240 }).start();
        await stack.up({ onOutput });
        await waitForBody(PUBLIC, /berth-demo v2/);
        const s = summarize(await load.stop());
        console.log(`      ${s.total} requests, ${s.failed} failed; versions ${JSON.stringify(s.versions)}`);
        assert.equal(s.failed, 0, `failed requests: ${JSON.stringify(s.errors)}`);
        const after = await containersOf("go-web");
        assert.equal(after.length, 2);
        assert.ok(
            after.every((c) => !before.some((b) => b.id === c.id)),
            "no v1 container left",
        );
        assert.match(await waitForBody(PRIVATE, /berth-demo/), /berth-demo v2/);
    });

    step("refuses replicas -1 in preview, naming the property, and changes nothing", async () => {
        const before = await containersOf("go-web");
        await stack.setConfig("replicas", { value: "-1" });
        await assert.rejects(stack.preview({ onOutput }), (e: Error) => {
            assert.match(e.message, /property replicas value \{-1\} has a problem: must be a whole number from 0 to 1000, got -1/);
            return true;
        });
        await stack.setConfig("replicas", { value: "2" });
        assert.deepEqual((await containersOf("go-web")).map((c) => c.id).sort(), before.map((c) => c.id).sort());
    });

    step("destroys: no container, backend or listener left", async () => {
        await stack.destroy({ onOutput });
        assert.deepEqual(await containersOf("go-web"), []);
        assert.deepEqual(await backendsIn("go-public"), []);
        assert.deepEqual(await backendsIn("go-private"), []);
        await assert.rejects(fetch(PUBLIC, { signal: AbortSignal.timeout(3000) }));
    });
});
