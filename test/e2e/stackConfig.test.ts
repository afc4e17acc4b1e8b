// The stack's berth: configuration through the real CLI: `pulumi config set berth:release` gives every
// Service its default release settings (the Service's own win per field), a change of it previews as
// an update of the services it reaches (never a replacement), and a bad value fails the preview naming the key.
import * as assert from "node:assert/strict";
import { Stack } from "@pulumi/pulumi/automation";
import { Cluster, Service } from "../../index";
import { destroyStack, openStack, resourceOutputs } from "../../scripts/lib/stack";
import { cleanSlate, containersOf, local, nodeSpecs } from "../support/world";

describe("berth: stack configuration (real CLI)", function () {
    this.timeout(300_000);
    let stack: Stack;
    const onOutput = () => undefined;

    before(async () => {
        cleanSlate();
        stack = await openStack("berth-config", `config-${Date.now()}`, async () => {
            const cluster = new Cluster("cfg", { nodes: nodeSpecs() });
            new Service("cfg-web", { cluster, image: local.images.v1, replicas: 1, ports: [{ containerPort: 80 }], release: { pauseSeconds: 0 } });
        });
    });
    after(async () => {
        await destroyStack(stack);
        cleanSlate();
    });

    it("gives every Service the stack's release defaults; a change is an update, never a replacement", async () => {
        await stack.setConfig("berth:release", { value: JSON.stringify({ drainTimeoutSeconds: 7, pauseSeconds: 3 }) });
        await stack.up({ onOutput });
        const service = await resourceOutputs(stack, "pulumi-nodejs:dynamic/berth:Service", "cfg-web");
        assert.deepEqual(service.release, { drainTimeoutSeconds: 7, pauseSeconds: 0 }, "the Service's own pauseSeconds wins");
        const ids = (await containersOf("cfg-web")).map((c) => c.id);

        await stack.setConfig("berth:release", { value: JSON.stringify({ drainTimeoutSeconds: 9 }) });
        const preview = await stack.preview({ onOutput });
        assert.equal(preview.changeSummary.update, 1, JSON.stringify(preview.changeSummary));
        assert.equal(preview.changeSummary.replace ?? 0, 0);
        await stack.up({ onOutput });
        assert.equal((await resourceOutputs(stack, "pulumi-nodejs:dynamic/berth:Service", "cfg-web")).release.drainTimeoutSeconds, 9);
        assert.deepEqual(
            (await containersOf("cfg-web")).map((c) => c.id),
            ids,
            "release settings restart nothing",
        );
    });

    it("a berth:release that is not a JSON object fails the preview, naming the key", async () => {
        await stack.setConfig("berth:release", { value: "30" });
        await assert.rejects(stack.preview({ onOutput }), /berth:release must be a JSON object of release settings, got 30/);
    });
});
