// `pulumi up` killed (SIGKILL, with its plugins) in the middle of a release: the next `pulumi up`
// finishes it from what Docker and HAProxy really hold, leaving no orphan container and no backend
// pointing at a missing container.
import * as assert from "node:assert/strict";
import { Stack } from "@pulumi/pulumi/automation";
import { quickstart } from "../../examples/quickstart/program";
import { destroyStack, openStack } from "../../scripts/lib/stack";
import { upKilledAt } from "../support/kill";
import { Load, summarize } from "../support/load";
import { backendsIn, cleanSlate, containersOf, listenerUrl, local, waitForBody } from "../support/world";
import { story } from "../support/story";

const URL = listenerUrl(18080);

describe("pulumi up killed mid-release", function () {
    this.timeout(600_000);
    const step = story();
    let stack: Stack;

    before(async () => {
        cleanSlate();
        stack = await openStack("berth-quickstart", `e2e-kill-${Date.now()}`, async () => quickstart(), { image: local.images.v1, replicas: "3" });
        await stack.up();
    });
    after(async () => destroyStack(stack));

    for (const [moment, line, image, version] of [
        ["while new backends wait for load balancer health", /waiting for load balancer health/, "v2", "v2"],
        ["while old backends drain", /draining .* request\(s\) still in flight/, "v1", "v1"],
    ] as const) {
        step(`is finished by the next pulumi up when killed ${moment}`, async () => {
            await stack.setConfig("image", { value: local.images[image] });
            const load = new Load({ url: URL, ratePerSecond: 50, slowShare: 0.3, maxSeconds: 300 }).start();
            await upKilledAt(stack, line);
            const halfway = await containersOf("web");
            assert.ok(halfway.length > 3, `a half-done release leaves both revisions (${halfway.length} containers)`);

            const refresh = await stack.refresh();
            assert.ok((refresh.summary.resourceChanges?.update ?? 0) >= 1, "refresh sees what really runs");
            await stack.up();
            await waitForBody(URL, new RegExp(`berth-demo ${version}`));
            const s = summarize(await load.stop());
            assert.equal(s.failed, 0, `failed requests: ${JSON.stringify(s.errors)}`);

            const after = await containersOf("web");
            assert.equal(after.length, 3, "no orphan container");
            assert.equal(new Set(after.map((c) => c.revision)).size, 1);
            const backends = await backendsIn("web-public");
            assert.deepEqual(backends.map((b) => b.name).sort(), after.map((c) => c.name).sort(), "no backend without its container");
            assert.ok(backends.every((b) => b.weight === 100));
        });
    }
});
