// Pulumi state in object storage, as a team keeps it: an S3-compatible server (moto), two checkouts
// of one infra repo at different paths running the same stack. While one `up` holds the stack's
// lock the other is refused, naming the lock; once it ends the other runs from its own checkout,
// and destroys.
import * as assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync } from "fs";
import * as os from "os";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { removeStack } from "../../scripts/lib/stack";
import { checkout, checkoutStack } from "../support/checkout";
import { S3Server, startS3 } from "../support/s3";
import { cleanSlate, containersOf } from "../support/world";
import { waitUntil } from "../../provider/wait";

const PROGRAM = `
const { Cluster, Service } = require("pulumi-berth");
const { readLocalCluster } = require("pulumi-berth/dist/examples/quickstart/program");
const local = readLocalCluster();
const cluster = new Cluster("s3", { nodes: local.hosts.map((h) => ({ name: h.name, docker: h.docker, address: h.address, zone: h.zone })) });
// Three batches with pauses: an up that holds the lock long enough for another to try.
new Service("s3-web", {
    cluster, image: local.images.v1, replicas: 3, ports: [{ containerPort: 80 }], stopGracePeriodSeconds: 2,
    healthCheck: { httpPath: "/health", intervalSeconds: 1, timeoutSeconds: 2, retries: 3 },
    release: { batchSize: 1, minAvailable: 0, pauseSeconds: 3 },
});
`;

describe("Pulumi state on an S3 server, two checkouts of one stack (real CLI)", function () {
    this.timeout(600_000);
    const root = mkdtempSync(path.join(os.tmpdir(), "berth-s3-"));
    let s3: S3Server;
    const stacks: Stack[] = [];
    const onOutput = () => undefined;

    before(async () => {
        cleanSlate();
        s3 = await startS3("berth-state");
    });
    after(async () => {
        for (const stack of stacks) {
            await stack.destroy({ onOutput }).catch(() => undefined);
            await removeStack(stack);
        }
        await s3?.stop();
        rmSync(root, { recursive: true, force: true });
        cleanSlate();
    });

    it("one up at a time: the other checkout is refused while the lock is held, then runs and destroys", async () => {
        const env = { PULUMI_BACKEND_URL: s3.backendUrl, ...s3.env };
        const name = `s3-${Date.now()}`;
        const [a, b] = [checkout(root, "job-a", PROGRAM), checkout(root, "job-b", PROGRAM)];
        const first = await checkoutStack(a, name, env);
        stacks.push(first);
        // The stack's settings file (its secrets salt) is committed in an infra repo.
        cpSync(path.join(a, `Pulumi.${name}.yaml`), path.join(b, `Pulumi.${name}.yaml`));
        const second = await checkoutStack(b, name, env);

        const running = first.up({ onOutput });
        const lock = await waitUntil(async () => (await s3.keys(`.pulumi/locks/`)).find((k) => k.includes(name)), {
            timeoutSeconds: 30,
            what: "the first up's lock in the bucket",
        });
        await assert.rejects(second.up({ onOutput }), (e: Error) => {
            assert.match(e.message, /locked/);
            return true;
        });
        const up = await running;
        assert.equal(up.summary.result, "succeeded");
        assert.equal((await containersOf("s3-web")).length, 3);
        assert.equal((await s3.keys(".pulumi/locks/")).includes(lock), false, "the lock is gone with the up");

        const again = await second.up({ onOutput });
        assert.deepEqual(again.summary.resourceChanges, { same: 3 }, "the other checkout sees the state the first one wrote");
        assert.ok(
            (await s3.keys(".pulumi/stacks/")).some((k) => k.endsWith(`/${name}.json`)),
            "the state is in the bucket",
        );
        await second.destroy({ onOutput });
        assert.equal((await containersOf("s3-web")).length, 0);
    });
});
