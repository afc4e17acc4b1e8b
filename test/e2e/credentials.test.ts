// Registry credentials through the real `pulumi` CLI: kept once on the Cluster as a secret, used by
// the nodes' pulls, and never in plain state, a diff, a progress line or a container label.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/automation";
import { readFileSync } from "fs";
import { Cluster, Service } from "../../index";
import { NodeConnection } from "../../provider/docker/connection";
import { destroyStack, openStack } from "../../scripts/lib/stack";
import { TestRegistry } from "../support/registry";
import { cleanSlate, containersOf, nodeSpecs } from "../support/world";
import { story } from "../support/story";

const PASSWORD = "e2e-Pa55-w0rd-never-shown";

describe("registry credentials through the pulumi CLI", function () {
    this.timeout(300_000);
    const step = story();
    const registry = new TestRegistry(5002, { username: "deploy", password: PASSWORD });
    let stack: Stack;
    let output = "";
    const onOutput = (s: string) => (output += s);

    before(async () => {
        cleanSlate();
        await registry.start();
        const image = registry.copyIn("v1");
        await registry.forgetImages();
        stack = await openStack("berth-credentials", `e2e-${Date.now()}`, async () => {
            const plain = new pulumi.Config().getBoolean("plain");
            const password = plain ? PASSWORD : pulumi.secret(PASSWORD);
            const cluster = new Cluster("cred", { nodes: nodeSpecs(), registries: [{ server: registry.address, username: "deploy", password }] });
            const svc = new Service("cred", {
                cluster,
                image,
                replicas: 3,
                ports: [{ containerPort: 80 }],
                healthCheck: { httpPath: "/health", intervalSeconds: 0.5 },
            });
            return { digest: svc.imageDigest };
        });
    });
    after(async () => {
        await destroyStack(stack, onOutput);
        await registry.remove();
    });

    step("pulls on every node with the cluster's secret credentials; the password is nowhere in clear", async () => {
        const up = await stack.up({ onOutput, diff: true });
        assert.match(up.outputs.digest.value, /@sha256:/);
        const containers = await containersOf("cred");
        assert.equal(new Set(containers.map((c) => c.node)).size, 3, "pulled and running on every node");
        // The file backend's own file (the Automation API's export decrypts secrets).
        const state = readFileSync(
            `${process.env.PULUMI_BACKEND_URL!.replace("file://", "")}/.pulumi/stacks/berth-credentials/${stack.name}.json`,
            "utf8",
        );
        assert.ok(!state.includes(PASSWORD), "state holds the password only encrypted");
        const resources: any[] = JSON.parse(state).checkpoint.latest.resources;
        for (const type of ["Cluster", "Service"]) {
            const r = resources.find((x) => x.type.endsWith(`berth:${type}`));
            assert.ok(r.inputs.registries.ciphertext, `${type} inputs hold the credentials as a secret`);
        }
        const cluster = resources.find((x) => x.type.endsWith("berth:Cluster"));
        assert.ok(cluster.outputs.registries.ciphertext, "the cluster's output is a secret");
        assert.equal(
            resources.find((x) => x.type.endsWith("berth:Service")).outputs.registries,
            undefined,
            "the service keeps no copy in its outputs",
        );
        assert.ok(!output.includes(PASSWORD), "not in the up output, diff or progress lines");
        for (const c of containers) {
            const node = nodeSpecs().find((n) => n.name === c.node)!;
            const inspected = await new NodeConnection(node).docker(30_000).getContainer(c.id).inspect();
            assert.ok(!JSON.stringify(inspected).includes(PASSWORD), `not in container ${c.name}`);
        }
    });

    step("warns when the password is given as a plain string, and still stores it encrypted", async () => {
        await stack.setConfig("plain", { value: "true" });
        const preview = await stack.preview({ diff: true });
        assert.match(preview.stderr, /registries\[0\]\.password is not a secret/);
        assert.ok(!(preview.stdout + preview.stderr).includes(PASSWORD));
    });
});
