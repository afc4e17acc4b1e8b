// RegistryBucketRotation from Python through the provider plugin and the real `pulumi` CLI
// (examples/python-registry): the quarter's bucket registry answers behind its stable address, the
// next quarter previews as a rotation and runs one, destroy removes the buckets' registries. They
// serve HTTPS only, to the user the stack names.
import * as assert from "node:assert/strict";
import { Stack } from "@pulumi/pulumi/automation";
import { NodeConnection } from "../../provider/docker/connection";
import { ROTATION_LABEL } from "../../provider/rotation/bucketStore";
import { openProgramStack, removeProgramStack } from "../support/programStack";
import { RegistryClient } from "../../provider/registry/client";
import { bridgeAddress, removeRotation, rotationAccess, storedState } from "../support/registry";
import { cleanSlate, nodeSpecs } from "../support/world";
import { story } from "../support/story";

const PORT = 5111;
const ACCESS = rotationAccess();
const docker = () => new NodeConnection(nodeSpecs()[0]).docker(30_000);

/** The rotation's registries running on the node: bucket -> its mode (rw, ro). */
async function bucketRegistries(): Promise<Record<string, string>> {
    const list = await docker().listContainers({ filters: { label: [`${ROTATION_LABEL.rotation}=py-images`] } });
    return Object.fromEntries(list.map((c) => [c.Labels[ROTATION_LABEL.bucket], c.Labels[ROTATION_LABEL.mode]]));
}

describe("RegistryBucketRotation from Python through the provider plugin", function () {
    this.timeout(600_000);
    const step = story();
    let stack: Stack;

    before(async () => {
        cleanSlate();
        await removeRotation("py-images");
        stack = await openProgramStack("python-registry", { now: "2026-11-23T10:00:00Z", port: String(PORT) });
        await stack.setConfig("registryPassword", { value: ACCESS.users[0].password, secret: true });
    });
    after(async () => {
        await removeProgramStack(stack);
        await removeRotation("py-images");
    });

    step("creates the quarter's bucket, answering the registry API behind the stable address", async () => {
        const up = await stack.up();
        assert.equal(up.outputs.currentBucket.value, "images-2026q4");
        assert.equal(up.outputs.address.value, `${bridgeAddress}:${PORT}`);
        const stable = `${bridgeAddress}:${PORT}`;
        assert.deepEqual(await new RegistryClient(stable, ACCESS.users[0], ACCESS.tls.ca).repositories(), []);
        await assert.rejects(new RegistryClient(stable, undefined, ACCESS.tls.ca).repositories(), /answered 401/);
        const state = storedState("berth-python-registry", stack.name);
        assert.ok(!state.includes(ACCESS.users[0].password) && !state.includes("PRIVATE KEY"), "no password or key in plain state");
        assert.deepEqual(await bucketRegistries(), { "images-2026q4": "rw" });
    });

    step("previews the next quarter as a rotation of that resource alone, then runs it", async () => {
        await stack.setConfig("now", { value: "2027-01-05T10:00:00Z" });
        const preview = await stack.preview({ diff: true });
        assert.deepEqual(preview.changeSummary, { same: 3, update: 1 });
        assert.match(preview.stdout, /currentBucket\s*: "images-2026q4" => "images-2027q1"/);
        const up = await stack.up();
        assert.equal(up.outputs.currentBucket.value, "images-2027q1");
        assert.deepEqual(up.outputs.buckets.value, ["images-2027q1", "images-2026q4 (read-only)"]);
        assert.deepEqual(await bucketRegistries(), { "images-2027q1": "rw", "images-2026q4": "ro" });
    });

    step("destroys the buckets' registries", async () => {
        await stack.destroy();
        assert.deepEqual(await bucketRegistries(), {});
    });
});
