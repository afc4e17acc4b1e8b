// berth from YAML, end to end through the real `pulumi` CLI: examples/yaml (Pulumi's YAML language
// host, berth's provider plugin) deploys a Cluster, an SlbBinding, a Service and a WebService
// component on the local hosts, releases a new image under load, scales, refuses bad input in
// preview with berth's own message, and destroys.
import * as assert from "node:assert/strict";
import { Stack } from "@pulumi/pulumi/automation";
import { Load, summarize } from "../support/load";
import { openProgramStack, removeProgramStack, setProgramConfig } from "../support/programStack";
import { backendsIn, cleanSlate, containersOf, listenerUrl, local, nodeSpecs, slbAddress, waitForBody } from "../support/world";
import { story } from "../support/story";

const PUBLIC = listenerUrl(18480);
const WEB = listenerUrl(18481);

/** The local cluster as the program's config: what an infra repo would write in its stack's config file. */
function localClusterConfig() {
    const { adminSocket, masterSocket, configPath } = local.slbs[0];
    return { nodes: nodeSpecs(), haproxy: { adminSocket, masterSocket, configPath }, listenAddress: slbAddress };
}

describe("berth from YAML through the provider plugin", function () {
    this.timeout(600_000);
    const step = story();
    let stack: Stack;

    before(async () => {
        cleanSlate();
        stack = await openProgramStack("yaml", { ...localClusterConfig(), image: local.images.v1, replicas: "2" });
    });
    after(async () => removeProgramStack(stack));

    step("deploys v1: a Service behind its binding, and a WebService the plugin builds", async () => {
        const up = await stack.up();
        assert.equal(up.outputs.publicUrl.value, PUBLIC);
        assert.equal(up.outputs.webUrl.value, WEB);
        await waitForBody(PUBLIC, /berth-demo v1/);
        await waitForBody(WEB, /berth-demo v1/);
        const api = await containersOf("yml-api");
        assert.equal(api.length, 2);
        assert.deepEqual(up.outputs.containers.value.map((c: { name: string }) => c.name).sort(), api.map((c) => c.name).sort());
        assert.deepEqual((await backendsIn("yml-public")).map((b) => b.name).sort(), api.map((c) => c.name).sort());
        assert.equal((await containersOf("yml-web")).length, 1);
        const types = (await stack.exportStack()).deployment.resources.map((r: { type: string }) => r.type);
        for (const type of ["berth:index:Cluster", "berth:index:SlbBinding", "berth:index:Service", "berth:components:WebService"]) {
            assert.ok(types.includes(type), `${type} in state: ${types}`);
        }
    });

    step("releases v2 under load with zero failed requests", async () => {
        const before = await containersOf("yml-api");
        const loads = [PUBLIC, WEB].map((url) => new Load({ url, ratePerSecond: 50, slowShare: 0, maxSeconds: 240 }).start());
        await setProgramConfig(stack, { image: local.images.v2 });
        await stack.up();
        await waitForBody(PUBLIC, /berth-demo v2/);
        await waitForBody(WEB, /berth-demo v2/);
        for (const [url, load] of [
            [PUBLIC, loads[0]],
            [WEB, loads[1]],
        ] as const) {
            const s = summarize(await load.stop());
            console.log(`      ${url}: ${s.total} requests, ${s.failed} failed; versions ${JSON.stringify(s.versions)}`);
            assert.equal(s.failed, 0, `failed requests at ${url}: ${JSON.stringify(s.errors)}`);
        }
        const after = await containersOf("yml-api");
        assert.equal(after.length, 2);
        assert.ok(
            after.every((c) => !before.some((b) => b.id === c.id)),
            "no v1 container left",
        );
    });

    step("scales 2 -> 3 keeping the running containers", async () => {
        const two = await containersOf("yml-api");
        await setProgramConfig(stack, { replicas: "3" });
        await stack.up();
        const three = await containersOf("yml-api");
        assert.equal(three.length, 3);
        assert.ok(two.every((c) => three.some((t) => t.id === c.id)));
        assert.equal((await backendsIn("yml-public")).length, 3);
    });

    // Both values are integers, so YAML's type checker lets them through: berth's checks refuse them.
    for (const [key, value, message, good] of [
        ["replicas", "-1", /property replicas .*must be a whole number from 0 to 1000, got -1/, "3"],
        ["publicPort", "70000", /property listen\.port .*must be a whole number from 1 to 65535, got 70000/, "18480"],
    ] as const) {
        step(`refuses ${key} ${value} in preview with berth's message naming the property`, async () => {
            const running = await containersOf("yml-api");
            await setProgramConfig(stack, { [key]: value });
            await assert.rejects(stack.preview(), (e: Error) => message.test(e.message));
            await setProgramConfig(stack, { [key]: good });
            assert.deepEqual((await containersOf("yml-api")).map((c) => c.id).sort(), running.map((c) => c.id).sort(), "the preview changed nothing");
        });
    }

    step("destroys: no container, backend or listener left", async () => {
        await stack.destroy();
        assert.deepEqual(await containersOf("yml-api"), []);
        assert.deepEqual(await containersOf("yml-web"), []);
        assert.deepEqual(await backendsIn("yml-public"), []);
        assert.deepEqual(await backendsIn("yml-web-public"), []);
        await assert.rejects(fetch(PUBLIC, { signal: AbortSignal.timeout(3000) }));
        await assert.rejects(fetch(WEB, { signal: AbortSignal.timeout(3000) }));
    });
});
