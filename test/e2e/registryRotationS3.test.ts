// RegistryBucketRotation with its buckets in an S3-compatible store (moto, on the cluster's bridge
// address, which the registries on the nodes reach), through the real `pulumi` CLI: push, rotate,
// copy forward the in-use image and the newest tag by the push times the store recorded, pull by
// digest from the new bucket, purge a bucket beyond `retain` from the store.
import * as assert from "node:assert/strict";
import { GetBucketTaggingCommand, ListBucketsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/automation";
import { Cluster, RegistryBucketRotation, Service, SlbBinding } from "../../index";
import { NodeConnection } from "../../provider/docker/connection";
import { ServiceState } from "../../provider/model";
import { BucketState } from "../../provider/rotation/rotationModel";
import { waitUntil } from "../../provider/wait";
import { destroyStack, openStack } from "../../scripts/lib/stack";
import { bridgeAddress, pushImage, removeRotation, rotationAccess } from "../support/registry";
import { S3Server, startS3 } from "../support/s3";
import { cleanSlate, containersOf, local, nodeSpecs } from "../support/world";
import { story } from "../support/story";

const ACCESS = rotationAccess();
const USER = ACCESS.users[0];
const STABLE = `${bridgeAddress}:5104`;

function program() {
    const config = new pulumi.Config();
    const slb = local.slbs[0];
    const cluster = new Cluster("rot-s3", {
        nodes: nodeSpecs(),
        // The nodes pull through the stable address with the rotation's user.
        registries: [{ server: STABLE, username: USER.username, password: pulumi.secret(USER.password), ca: ACCESS.tls.ca }],
    });
    const binding = new SlbBinding("rot-s3", {
        haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
        listen: { address: bridgeAddress, port: 5104 },
        protocol: "tcp",
        healthCheck: { intervalMs: 300, rise: 1, fall: 1 },
    });
    const rotation = new RegistryBucketRotation("rot-s3", {
        cluster,
        binding,
        node: "h1",
        prefix: "s3img",
        retain: 2,
        keepTags: 1,
        storage: pulumi.secret({
            kind: "s3" as const,
            region: "us-east-1",
            regionEndpoint: config.require("s3"),
            forcePathStyle: true,
            secure: false,
            accessKey: "berth-test",
            secretKey: "berth-test",
        }),
        tls: { ...ACCESS.tls, key: pulumi.secret(ACCESS.tls.key) },
        users: [{ username: USER.username, password: pulumi.secret(USER.password) }],
        now: config.require("now"),
    });
    const tag = config.get("tag");
    const service = tag
        ? new Service("rot-s3-app", {
              cluster,
              image: pulumi.interpolate`${rotation.address}/app:${tag}`,
              replicas: 2,
              ports: [{ containerPort: 80 }],
              stopGracePeriodSeconds: 2,
          })
        : undefined;
    return { buckets: rotation.buckets, lastRotation: rotation.lastRotation, purged: rotation.purged, imageDigest: service?.imageDigest };
}

describe("RegistryBucketRotation on an S3 server, through the pulumi CLI", function () {
    this.timeout(600_000);
    const step = story();
    let s3: S3Server;
    let store: S3Client;
    let stack: Stack;
    const bucketsInStore = async () =>
        ((await store.send(new ListBucketsCommand({}))).Buckets ?? [])
            .map((b) => b.Name!)
            .filter((n) => n.startsWith("s3img-"))
            .sort();
    const tagsIn = (buckets: BucketState[], name: string) => buckets.find((b) => b.name === name)?.repositories.find((r) => r.name === "app")?.tags;

    before(async () => {
        cleanSlate();
        await removeRotation("rot-s3");
        // On the bridge: the registry containers on the nodes write to it; its bucket holds nothing of the test's.
        s3 = await startS3("unused", bridgeAddress);
        store = new S3Client({
            region: "us-east-1",
            endpoint: s3.endpoint,
            forcePathStyle: true,
            credentials: { accessKeyId: "berth-test", secretAccessKey: "berth-test" },
        });
        stack = await openStack("berth-rotation-s3", `e2e-${Date.now()}`, async () => program(), { s3: s3.endpoint, now: "2026-11-23T10:00:00Z" });
    });
    after(async () => {
        if (stack) await destroyStack(stack);
        await removeRotation("rot-s3");
        await s3?.stop();
        cleanSlate();
    });

    step("creates the quarter's bucket in the store, recording its owner, and serves it at the stable address", async () => {
        const up = await stack.up();
        assert.deepEqual(
            up.outputs.buckets.value.map((b: BucketState) => b.name),
            ["s3img-2026q4"],
        );
        assert.deepEqual(await bucketsInStore(), ["s3img-2026q4"]);
        const { TagSet } = await store.send(new GetBucketTaggingCommand({ Bucket: "s3img-2026q4" }));
        const tags = Object.fromEntries((TagSet ?? []).map((t) => [t.Key, t.Value]));
        assert.match(tags["berth.owner"] ?? "", /^o[0-9a-f]{7}$/);
        assert.equal(tags["berth.stack"], `organization/berth-rotation-s3/${stack.name}`);
    });

    step("rotates: copies forward the in-use image and the newest tag by push time, a node pulls by digest from the new bucket", async () => {
        // zz-old is pushed a second before aa-new: by name, zz-old would sort as the newest.
        await pushImage("v1", `${STABLE}/app:run`, USER);
        await pushImage("v2", `${STABLE}/app:zz-old`, USER);
        const link = "docker/registry/v2/repositories/app/_manifests/tags/zz-old/current/link";
        const listed = await store.send(new ListObjectsV2Command({ Bucket: "s3img-2026q4", Prefix: link }));
        const oldPushed = listed.Contents?.[0]?.LastModified?.getTime();
        assert.ok(oldPushed, `the store holds ${link}`);
        await waitUntil(async () => (Date.now() >= oldPushed + 1500 ? true : undefined), {
            timeoutSeconds: 10,
            what: "a later second for the next push",
        });
        await pushImage("unhealthy", `${STABLE}/app:aa-new`, USER);

        await stack.setConfig("tag", { value: "run" });
        const deployed = await stack.up();
        const digest: string = deployed.outputs.imageDigest.value;
        assert.match(digest, new RegExp(`^${STABLE}/app@sha256:[0-9a-f]{64}$`));

        await stack.setConfig("now", { value: "2027-01-05T10:00:00Z" });
        const rotated = await stack.up();
        const buckets: BucketState[] = rotated.outputs.buckets.value;
        assert.deepEqual(
            buckets.map((b) => [b.name, b.readOnly]),
            [
                ["s3img-2027q1", false],
                ["s3img-2026q4", true],
            ],
        );
        assert.deepEqual(tagsIn(buckets, "s3img-2027q1"), ["aa-new", "run"], "run in use, aa-new pushed last (keepTags 1); zz-old stays behind");
        const lines: string[] = rotated.outputs.lastRotation.value;
        assert.ok(
            lines.some((l) => /copied app:run \(in use\) s3img-2026q4 -> s3img-2027q1, digest sha256:\S+ verified/.test(l)),
            lines.join("\n"),
        );
        assert.ok(
            lines.some((l) => /copied app:aa-new \(newest\)/.test(l)),
            lines.join("\n"),
        );
        assert.deepEqual(await bucketsInStore(), ["s3img-2026q4", "s3img-2027q1"]);

        // A node that lost the image and the container pulls it again, by digest, from the new bucket.
        const h1 = nodeSpecs()[0];
        const docker = new NodeConnection(h1).docker(30_000);
        for (const c of (await containersOf("rot-s3-app")).filter((c) => c.node === h1.name)) await docker.getContainer(c.id).remove({ force: true });
        await docker
            .getImage(digest)
            .remove({ force: true })
            .catch((e) => assert.equal(e?.statusCode, 404, String(e)));
        const repaired = await stack.up();
        assert.equal(repaired.outputs.imageDigest.value, digest);
        const running = (await containersOf("rot-s3-app")).filter((c) => c.state === "running");
        assert.equal(running.length, 2, JSON.stringify(running));
        assert.ok(
            running.some((c) => c.node === h1.name),
            "h1 runs the service again",
        );
        assert.equal((await docker.getImage(digest).inspect()).RepoDigests?.includes(digest), true, "pulled again on h1, by digest");
    });

    step("purges the bucket beyond retain from the store once nothing in use lives only there", async () => {
        await stack.setConfig("now", { value: "2027-04-05T10:00:00Z" });
        const up = await stack.up();
        assert.deepEqual(up.outputs.purged.value, ["s3img-2026q4"]);
        assert.deepEqual(await bucketsInStore(), ["s3img-2027q1", "s3img-2027q2"]);
        assert.ok(tagsIn(up.outputs.buckets.value, "s3img-2027q2")?.includes("run"), "the image in use, carried twice");
        const service = (await stack.exportStack()).deployment.resources.find((r: any) => r.type.endsWith("Service"))?.outputs as ServiceState;
        assert.equal(service.containers.filter((c) => c.state === "running").length, 2);
    });
});
