// End to end through the real `pulumi` CLI: the quickstart deployed to the local Docker hosts
// behind HAProxy, released v1 -> v2 under load with zero failed requests, scaled, repaired after
// drift, destroyed.
import * as assert from "node:assert/strict";
import { waitUntil } from "../../provider/wait";
import { Stack } from "@pulumi/pulumi/automation";
import { quickstart } from "../../examples/quickstart/program";
import { Load, summarize } from "../support/load";
import { destroyStack, openStack, resourceOutputs } from "../../scripts/lib/stack";
import { backendsIn, cleanSlate, containersOf, hosts, listenerUrl, local, waitForBody } from "../support/world";
import { story } from "../support/story";

const URL = listenerUrl(18080);

describe("quickstart through the pulumi CLI", function () {
    this.timeout(600_000);
    const step = story();
    let stack: Stack;
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);

    before(async () => {
        cleanSlate();
        stack = await openStack("berth-quickstart", `e2e-${Date.now()}`, async () => quickstart(), { image: local.images.v1, replicas: "3" });
    });
    after(async () => destroyStack(stack, onOutput));

    step("deploys v1: three containers behind HAProxy, spread over the hosts", async () => {
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.url.value, URL);
        await waitForBody(URL, /berth-demo v1/);
        const containers = await containersOf("web");
        assert.equal(containers.length, 3);
        assert.equal(new Set(containers.map((c) => c.node)).size, 3, "one per host");
        const backends = await backendsIn("web-public");
        assert.deepEqual(backends.map((b) => b.name).sort(), containers.map((c) => c.name).sort());
        assert.ok(backends.every((b) => b.weight === 100));
        assert.ok(log.join("").includes("[berth] web:"), "progress lines show in pulumi up output");
    });

    step("previews an image change as an update of the service, not a replacement", async () => {
        await stack.setConfig("image", { value: local.images.v2 });
        const preview = await stack.preview({ onOutput, diff: true });
        assert.equal(preview.changeSummary.update, 1, JSON.stringify(preview.changeSummary));
        assert.match(preview.stdout, /\+ blue-green release of a new revision \(image changed\)\n/, "the preview says what the release will do");
        assert.match(preview.stdout, /batch 1\/1: start slot 0 on h\d, slot 1 on h\d, slot 2 on h\d\n\s*\+\s+then retire web-/);
        assert.match(preview.stdout, /fewest serving at any moment: 3 \(serving now 3, minAvailable 2\)/);
        assert.equal(preview.changeSummary.replace ?? 0, 0);
        assert.equal(preview.changeSummary.create ?? 0, 0);
    });

    step("releases v2 under load, slow requests included, with zero failed requests", async () => {
        const before = await containersOf("web");
        const load = new Load({ url: URL, ratePerSecond: 100, slowShare: 0.1, maxSeconds: 300 }).start();
        const started = Date.now();
        await stack.up({ onOutput });
        const releaseSeconds = (Date.now() - started) / 1000;
        const releasedAt = load.elapsedMs;
        // Keep sending for a second after the release so late failures, and late v1 answers, show.
        await waitUntil(async () => (load.elapsedMs > releasedAt + 1000 ? true : undefined), {
            timeoutSeconds: 10,
            what: "a second of load after the release",
        });
        const samples = await load.stop();
        const s = summarize(samples);
        console.log(
            `      release took ${releaseSeconds.toFixed(1)}s; ${s.total} requests (${s.slow} slow), ${s.failed} failed; versions ${JSON.stringify(s.versions)}`,
        );
        assert.equal(s.failed, 0, `failed requests: ${JSON.stringify(s.errors)}`);
        assert.ok((s.versions.v1 ?? 0) > 0 && (s.versions.v2 ?? 0) > 0, "traffic moved from v1 to v2");
        // Once up has returned, the old containers are gone from the load balancer: every request sent after it gets v2.
        const late = samples.filter((x) => x.at > releasedAt);
        assert.ok(late.length > 0, "requests were sent after the release");
        assert.deepEqual(
            late.filter((x) => x.version !== "v2").map((x) => `${x.at} ms: ${x.version ?? x.error}`),
            [],
            "every request after up returned got v2",
        );

        const after = await containersOf("web");
        assert.equal(after.length, 3);
        assert.ok(
            after.every((c) => !before.some((b) => b.id === c.id)),
            "no v1 container left",
        );
        const backends = await backendsIn("web-public");
        assert.deepEqual(backends.map((b) => b.name).sort(), after.map((c) => c.name).sort(), "HAProxy holds exactly the new backends");
        for (let i = 0; i < 6; i++) assert.match(await waitForBody(URL, /berth-demo/), /berth-demo v2/);
    });

    step("scales 3 -> 5 -> 2 without touching the containers that stay", async () => {
        const three = await containersOf("web");
        await stack.setConfig("replicas", { value: "5" });
        await stack.up({ onOutput });
        const five = await containersOf("web");
        assert.equal(five.length, 5);
        assert.ok(
            three.every((c) => five.some((f) => f.id === c.id)),
            "scale out keeps the running containers",
        );
        assert.equal((await backendsIn("web-public")).length, 5);

        await stack.setConfig("replicas", { value: "2" });
        await stack.up({ onOutput });
        const two = await containersOf("web");
        assert.equal(two.length, 2);
        assert.ok(
            two.every((c) => five.some((f) => f.id === c.id)),
            "scale in keeps the survivors",
        );
        assert.deepEqual((await backendsIn("web-public")).map((b) => b.name).sort(), two.map((c) => c.name).sort());
    });

    step("sees a container removed by hand on refresh, and the next up replaces only it", async () => {
        const [victim, survivor] = await containersOf("web");
        const host = hosts().find((h) => h.node === victim.node)!;
        await host.remove(victim.id);
        const refresh = await stack.refresh({ onOutput });
        assert.equal(refresh.summary.resourceChanges?.update, 1, JSON.stringify(refresh.summary.resourceChanges));
        const outputs = await resourceOutputs(stack, "pulumi-nodejs:dynamic/berth:Service", "web");
        assert.deepEqual(
            outputs.containers.map((c: { id: string }) => c.id),
            [survivor.id],
        );
        const preview = await stack.preview({ onOutput });
        assert.equal(preview.changeSummary.update, 1);
        await stack.up({ onOutput });
        const now = await containersOf("web");
        assert.equal(now.length, 2);
        assert.ok(
            now.some((c) => c.id === survivor.id),
            "the healthy container keeps its ID",
        );
        assert.equal((await backendsIn("web-public")).length, 2);
    });

    step("without refresh, sees containers and the listener removed behind its back; up repairs both, then preview says no change", async () => {
        cleanSlate();
        const preview = await stack.preview({ onOutput });
        assert.equal(preview.changeSummary.update, 2, `the binding and the service: ${JSON.stringify(preview.changeSummary)}`);
        await stack.up({ onOutput });
        await waitForBody(URL, /berth-demo v2/);
        assert.equal((await containersOf("web")).length, 2);
        assert.equal((await backendsIn("web-public")).length, 2);
        const again = await stack.preview({ onOutput });
        assert.equal(again.changeSummary.update ?? 0, 0, JSON.stringify(again.changeSummary));
    });

    step("destroys: no container and no backend left on any host", async () => {
        await stack.destroy({ onOutput });
        assert.deepEqual(await containersOf(), []);
        assert.deepEqual(await backendsIn("web-public"), []);
    });
});
