// RegistryBucketRotation through the real `pulumi` CLI: bad input fails preview naming the property;
// a new period shows in preview as the rotation it will run.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/automation";
import { Cluster, RegistryBucketRotation, SlbBinding } from "../../index";
import { destroyStack, openStack } from "../../scripts/lib/stack";
import { bridgeAddress, removeRotation, rotationAccess, storedState } from "../support/registry";
import { cleanSlate, local, nodeSpecs } from "../support/world";

const ACCESS = rotationAccess();

function program() {
    const config = new pulumi.Config();
    const which = config.get("case") ?? "good";
    const slb = local.slbs[0];
    const cluster = new Cluster("rot-e2e", { nodes: nodeSpecs() });
    const binding = new SlbBinding("rot-e2e", {
        haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
        listen: { address: bridgeAddress, port: 5101 },
        protocol: which === "bad" ? "http" : "tcp",
    });
    const rotation = new RegistryBucketRotation("rot-e2e", {
        cluster,
        binding,
        node: which === "bad" ? "h9" : "h1",
        prefix: which === "bad" ? "Images_Prod" : "images",
        period: (which === "bad" ? "year" : "quarter") as "quarter",
        retain: which === "bad" ? 0 : 2,
        storage: which === "plain-key" ? { kind: "s3", region: "us-east-1", accessKey: "AKID", secretKey: "plain-secret-key" } : undefined,
        tls:
            which === "bad"
                ? { certificate: ACCESS.tls.certificate, key: pulumi.secret("not a key") }
                : { ...ACCESS.tls, key: pulumi.secret(ACCESS.tls.key) },
        users:
            which === "bad"
                ? [{ username: "a:b", password: pulumi.secret("x") }]
                : which === "plain-key"
                  ? [{ username: "ci", password: "plain-password" }]
                  : [{ username: "ci", password: pulumi.secret(ACCESS.users[0].password) }],
        now: config.require("now"),
    });
    return { bucket: rotation.currentBucket, address: rotation.address };
}

// One preview reports every problem of the resource at once.
const problems: RegExp[] = [
    /property retain value \{0\} has a problem: must be a whole number from 1 to 1000, got 0/,
    /property period value .* has a problem: must be one of quarter, month, week, got "year"/,
    /property prefix value .* has a problem: must start with a lowercase letter or digit .*S3 bucket name rules.*"Images_Prod"/,
    /property node value .* has a problem: "h9" is not a node of cluster rot-e2e \(nodes: h1, h2, h3\)/,
    /property binding value .* has a problem: must forward connections \(protocol "tcp"\)/,
    /property tls.key value .* has a problem: is not an unencrypted PEM private key/,
    /property users\[0\].username value .* has a problem: must be a non-empty name without ':'/,
];

describe("RegistryBucketRotation through the pulumi CLI", function () {
    this.timeout(300_000);
    let stack: Stack;

    before(async () => {
        cleanSlate();
        await removeRotation("rot-e2e");
        stack = await openStack("berth-rotation", `e2e-${Date.now()}`, async () => program(), { now: "2026-11-23T10:00:00Z" });
    });
    after(async () => {
        await destroyStack(stack);
        await removeRotation("rot-e2e");
    });

    it("rejects retain < 1, an unknown period, a prefix invalid as an S3 bucket name and a node not in the cluster, in preview", async () => {
        await stack.setConfig("case", { value: "bad" });
        await assert.rejects(stack.preview(), (e: Error) => {
            for (const problem of problems) assert.match(e.message, problem);
            return true;
        });
    });

    it("warns about an S3 secret key and a password given as plain strings, never printing them", async () => {
        await stack.setConfig("case", { value: "plain-key" });
        const preview = await stack.preview({ diff: true });
        assert.match(preview.stderr, /storage\.secretKey is not a secret/);
        assert.match(preview.stderr, /users\[0\]\.password is not a secret/);
        assert.ok(!(preview.stdout + preview.stderr).includes("plain-secret-key"));
        assert.ok(!(preview.stdout + preview.stderr).includes("plain-password"));
    });

    it("creates the quarter's bucket, and previews the next quarter as a rotation", async () => {
        await stack.setConfig("case", { value: "good" });
        const up = await stack.up();
        assert.equal(up.outputs.bucket.value, "images-2026q4");
        assert.equal(up.outputs.address.value, `${bridgeAddress}:5101`);
        // The TLS key and the password are secrets in the state, never in its plain text.
        const state = storedState("berth-rotation", stack.name);
        assert.ok(!state.includes(ACCESS.users[0].password) && !state.includes("PRIVATE KEY"), "no password or key in plain state");
        const rotation = JSON.parse(state).checkpoint.latest.resources.find((r: any) => r.type.endsWith("RegistryBucketRotation"));
        for (const key of ["tls", "users"])
            assert.ok(rotation.inputs[key].ciphertext && rotation.outputs[key].ciphertext, `${key} is a secret in inputs and outputs`);
        assert.ok(!(up.stdout + up.stderr).includes(ACCESS.users[0].password));
        await stack.setConfig("now", { value: "2027-01-05T10:00:00Z" });
        const preview = await stack.preview({ diff: true });
        assert.equal(preview.changeSummary.update, 1, JSON.stringify(preview.changeSummary));
        assert.match(preview.stdout, /currentBucket\s*: "images-2026q4" => "images-2027q1"/);
    });
});
