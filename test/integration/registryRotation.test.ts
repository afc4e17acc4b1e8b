// RegistryBucketRotation against real registries on a node, real HAProxy (and the Aliyun CLB contract
// server) as the stable address and real pulls: several periods through the clock override. The registries serve HTTPS with the local
// cluster's certificate (the nodes trust its CA) and take nothing without a user's password.
import * as assert from "node:assert/strict";
import axios from "axios";
import * as https from "https";
import * as sinon from "sinon";
import { NodeConnection } from "../../provider/docker/connection";
import { DockerHost } from "../../provider/docker/host";
import { registryRotationProvider } from "../../provider/engine/registryRotation";
import { serviceProvider } from "../../provider/engine/service";
import { slbBindingProvider } from "../../provider/engine/slbBinding";
import { driverFor } from "../../provider/engine/world";
import { ServiceArgs, ServiceState, SlbBindingState } from "../../provider/model";
import { BucketHost, DEFAULT_REGISTRY_IMAGE } from "../../provider/rotation/bucketHost";
import { RegistryClient } from "../../provider/registry/client";
import { ROTATION_LABEL } from "../../provider/rotation/bucketStore";
import { RegistryRotationArgs, RegistryRotationState, RegistryUser } from "../../provider/rotation/rotationModel";
import { ClbContractServer } from "../support/clbContract";
import { bridgeAddress, pushImage, removeRotation, rotationAccess } from "../support/registry";
import { cleanSlate, containersOf, local, nodeSpecs } from "../support/world";
import { story } from "../support/story";

const ID = "it/rot";
const STABLE = `${bridgeAddress}:5100`;
const h1 = () => new NodeConnection(nodeSpecs()[0]).docker(30_000);

const ACCESS = rotationAccess();
const USER = ACCESS.users[0];

const push = (demoTag: string, target: string, as: RegistryUser | "anonymous" = USER) => pushImage(demoTag, target, as);

/** The status a registry answers to the start of a blob upload (the first request of any push). */
async function uploadStatus(url: string, authorization?: string): Promise<number> {
    const res = await axios.post(url, undefined, {
        httpsAgent: new https.Agent({ ca: ACCESS.tls.ca }),
        headers: authorization ? { Authorization: authorization } : {},
        validateStatus: () => true,
    });
    return res.status;
}
interface Pulls {
    ok: number;
    failed: string[];
}

/** Pulls app:v1 through `address` over and over while `run` runs: how many pulls succeeded, and every failure. */
async function pullingDuring<T>(address: string, run: () => Promise<T>): Promise<{ result: T; pulls: Pulls }> {
    const client = new RegistryClient(address, USER, ACCESS.tls.ca);
    const pulls: Pulls = { ok: 0, failed: [] };
    let running = true;
    const puller = (async () => {
        while (running) {
            await client.manifest("app", "v1").then(
                () => pulls.ok++,
                (e) => pulls.failed.push(e.message),
            );
        }
    })();
    try {
        return { result: await run(), pulls };
    } finally {
        running = false;
        await puller;
    }
}

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;

describe("RegistryBucketRotation (registries on a node, HAProxy in front, real pulls)", function () {
    this.timeout(600_000);
    const step = story({ afterEachStep: () => sinon.restore() });
    let binding: SlbBindingState;
    let state: RegistryRotationState;
    let service: ServiceState;
    const args = (now: string, extra: Partial<RegistryRotationArgs> = {}): RegistryRotationArgs => ({
        name: "rot",
        cluster: { name: "it", nodes: nodeSpecs() },
        node: "h1",
        prefix: "images",
        retain: 2,
        keepTags: 1,
        binding,
        now,
        stack: "it/rot/a",
        ...ACCESS,
        ...extra,
    });
    const serviceArgs = (image: string): ServiceArgs => ({
        // No health check: what matters here is that the image pulls.
        name: "rotsvc",
        cluster: { name: "it", nodes: nodeSpecs() },
        image,
        replicas: 2,
        ports: [{ containerPort: 80 }],
        stopGracePeriodSeconds: 2,
        // The nodes pull with the cluster's credentials for the stable address; berth's lookup trusts the CA.
        registries: [{ server: STABLE, ...USER, ca: ACCESS.tls.ca }],
    });
    const bucket = (name: string) => state.buckets.find((b) => b.name === name);
    const tagsIn = (name: string, repository: string) => bucket(name)?.repositories.find((r) => r.name === repository)?.tags ?? [];

    before(async () => {
        cleanSlate();
        await removeRotation("rot");
        const slb = local.slbs[0];
        binding = (
            await slbBindingProvider.create({
                // tcp: TLS passes through to the bucket registries.
                name: "rot-stable",
                driver: "haproxy",
                protocol: "tcp",
                haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
                // On the bridge address: the nodes pull through it.
                listen: { address: bridgeAddress, port: 5100 },
                healthCheck: { intervalMs: 300, rise: 1, fall: 1 },
            })
        ).outs;
    });
    after(async () => {
        if (state) await registryRotationProvider.delete!(ID, state);
        cleanSlate();
        await removeRotation("rot");
    });

    step("2026q4: builds the registry image from the Debian binary, serves the first bucket at the stable address", async () => {
        await h1()
            .getImage(DEFAULT_REGISTRY_IMAGE)
            .remove({ force: true })
            .catch(() => undefined);
        state = (await registryRotationProvider.create(args("2026-11-23T10:00:00Z"))).outs;
        assert.equal(state.currentBucket, "images-2026q4");
        assert.equal(state.address, STABLE);
        await push("v1", `${STABLE}/app:v1`);
        await push("v2", `${STABLE}/app:v2`);
        await push("unhealthy", `${STABLE}/app:v3`);
        service = (await serviceProvider.create(serviceArgs(`${STABLE}/app:v1`))).outs;
        assert.match(service.imageDigest, new RegExp(`^${STABLE}/app@sha256:`));
        state = (await registryRotationProvider.read!(ID, state)).props as RegistryRotationState;
        assert.deepEqual(tagsIn("images-2026q4", "app"), ["v1", "v2", "v3"]);
        assert.ok(bucket("images-2026q4")!.blobs >= 4 && bucket("images-2026q4")!.bytes > 100_000, JSON.stringify(bucket("images-2026q4")));
    });

    step("refuses a push without the password (401) and plain HTTP, at the stable address and at the bucket's own", async () => {
        const own = bucket("images-2026q4")!.address;
        const seen: string[] = [];
        for (const address of [STABLE, own]) {
            const upload = `https://${address}/v2/intruder/app/blobs/uploads/`;
            const statuses = {
                anonymous: await uploadStatus(upload),
                wrongPassword: await uploadStatus(upload, basic(USER.username, "not-the-password")),
                user: await uploadStatus(upload, basic(USER.username, USER.password)),
            };
            assert.deepEqual(statuses, { anonymous: 401, wrongPassword: 401, user: 202 }, address);
            // Plain HTTP is not served: the registry answers 400 (an HTTP request to an HTTPS server), before any auth.
            const plain = await fetch(`http://${address}/v2/intruder/app/blobs/uploads/`, { method: "POST", signal: AbortSignal.timeout(5000) });
            assert.equal(plain.status, 400, `${address}: ${await plain.text()}`);
            await assert.rejects(push("unhealthy", `${address}/app:v1`, "anonymous"), /authentication required|unauthorized|401/i);
            seen.push(
                `${address}: anonymous ${statuses.anonymous}, wrong password ${statuses.wrongPassword}, user ${statuses.user}, plain HTTP ${plain.status}`,
            );
        }
        console.error(`      ${seen.join("; ")}`);
        // Nothing anonymous landed: app:v1 is still what the service runs.
        const client = new RegistryClient(STABLE, USER, ACCESS.tls.ca);
        assert.equal(`${STABLE}/app@${(await client.manifest("app", "v1")).digest}`, service.imageDigest);
        assert.ok(!(await client.repositories()).includes("intruder/app"));
        await assert.rejects(new RegistryClient(STABLE, undefined, ACCESS.tls.ca).tags("app"), /answered 401/);
        // A node without the credentials cannot pull either: its daemon trusts the CA, and is asked for a password.
        await assert.rejects(
            new DockerHost(nodeSpecs()[0]).ensureImage(`${STABLE}/app:v3`, () => undefined),
            /no basic auth credentials|unauthorized|authentication required/i,
        );
    });

    step(
        "2027q1: copies forward the in-use image and the newest tag, moves the address with no failed pull, a push during the switch is not lost",
        async () => {
            // Pull through the stable address and push to it, continuously, while the rotation runs.
            let rotating = true;
            const pushes: Array<{ repository: string; attempts: number; errors: string[] }> = [];
            const pusher = (async () => {
                for (let n = 0; rotating; n++) {
                    const entry = { repository: `push${n}/app`, attempts: 0, errors: [] as string[] };
                    pushes.push(entry);
                    // A failed push is retried, as CI retries it; the retry must land somewhere that is kept.
                    while (entry.attempts < 5) {
                        entry.attempts++;
                        try {
                            await push("v2", `${STABLE}/${entry.repository}:t`);
                            break;
                        } catch (e: any) {
                            entry.errors.push(String(e.stderr ?? e.message).trim());
                        }
                    }
                }
            })();
            let pulls: Pulls;
            try {
                ({ result: state, pulls } = await pullingDuring(
                    STABLE,
                    async () => (await registryRotationProvider.update!(ID, state, args("2027-01-02T10:00:00Z"))).outs,
                ));
            } finally {
                rotating = false;
                await pusher;
            }
            assert.equal(state.currentBucket, "images-2027q1");
            assert.deepEqual(pulls.failed, [], `no pull through the stable address failed (${pulls.ok} succeeded)`);
            assert.deepEqual(tagsIn("images-2027q1", "app"), ["v1", "v3"], "v1 in use, v3 newest (keepTags 1); v2 stays behind");
            assert.equal(bucket("images-2026q4")!.readOnly, true);
            assert.equal(bucket("images-2027q1")!.readOnly, false);
            // Every push that completed is in the new bucket (carried forward, or landed there on a retry).
            const current = new RegistryClient(bucket("images-2027q1")!.address, USER, ACCESS.tls.ca);
            for (const p of pushes.filter((p) => p.attempts <= 5 && p.errors.length < p.attempts)) {
                assert.deepEqual(await current.tags(p.repository), ["t"], `${p.repository} (${p.attempts} attempt(s): ${p.errors.join(" | ")})`);
            }
            assert.ok(
                pushes.every((p) => p.errors.length < p.attempts),
                "every push succeeded, at the latest on a retry",
            );
            const retried = pushes.filter((p) => p.errors.length);
            console.error(
                `      pushes during the switch: ${pushes.length}, retried: ${retried.length} (${retried.map((p) => p.errors[0]).join(" | ")}); pulls ${pulls.ok}`,
            );
            assert.ok(pushes.length >= 1);
            // The retained bucket serves at its own address, read-only.
            await assert.rejects(push("v1", `${bucket("images-2026q4")!.address}/app:new`), /read-only|405|UNSUPPORTED|denied/i);
            assert.deepEqual(await new RegistryClient(bucket("images-2026q4")!.address, USER, ACCESS.tls.ca).tags("app"), ["v1", "v2", "v3"]);
        },
    );

    step("2027q2: purges 2026q4 (retain 2); a service rescheduled after two rotations still pulls its image", async () => {
        state = (await registryRotationProvider.update!(ID, state, args("2027-04-02T10:00:00Z"))).outs;
        assert.equal(state.currentBucket, "images-2027q2");
        assert.deepEqual(state.purged, ["images-2026q4"]);
        assert.deepEqual(
            state.buckets.map((b) => [b.name, b.readOnly]),
            [
                ["images-2027q2", false],
                ["images-2027q1", true],
            ],
        );
        const { Volumes } = await h1().listVolumes({ filters: { label: [`${ROTATION_LABEL.rotation}=rot`] } });
        assert.deepEqual((Volumes ?? []).map((v) => v.Name).sort(), ["images-2027q1", "images-2027q2"], "the purged bucket's volume is gone");
        assert.ok(tagsIn("images-2027q2", "app").includes("v1"), "the in-use image was carried twice");

        // Reschedule: nodes forget the image, a container is removed by hand; the repair pulls it again.
        for (const node of nodeSpecs()) {
            const docker = new NodeConnection(node).docker(30_000);
            for (const c of await containersOf("rotsvc")) if (c.node === node.name) await docker.getContainer(c.id).remove({ force: true });
            await docker
                .getImage(service.imageDigest)
                .remove({ force: true })
                .catch(() => undefined);
        }
        service = (await serviceProvider.update!("it/rotsvc", service, serviceArgs(`${STABLE}/app:v1`))).outs;
        assert.equal(service.containers.filter((c) => c.state === "running").length, 2);
    });

    step("never purges a bucket whose in-use image could not be verified in the current bucket", async () => {
        // The copy "lands" with another digest: the run stops before any purge.
        const real = RegistryClient.prototype.manifest;
        const current = bucket("images-2027q2")!.address;
        sinon.stub(RegistryClient.prototype, "manifest").callsFake(async function (this: RegistryClient, repository: string, reference: string) {
            const m = await real.call(this, repository, reference);
            return this.server !== current || reference.startsWith("sha256:") ? m : { ...m, digest: "sha256:" + "0".repeat(64) };
        });
        await assert.rejects(
            registryRotationProvider.update!(ID, state, args("2027-07-02T10:00:00Z")),
            /expected sha256:[0-9a-f]{64}: not purging anything/,
        );
        sinon.restore();
        const { Volumes } = await h1().listVolumes({ filters: { label: [`${ROTATION_LABEL.rotation}=rot`] } });
        assert.ok(
            (Volumes ?? []).some((v) => v.Name === "images-2027q1"),
            "2027q1 not purged",
        );
    });

    step(
        "another stack's rotation of the same name on the node: the same prefix is refused naming the stack, another prefix works beside it",
        async () => {
            // The first rotation's own registries, as its host lists them.
            const ownRegistries = async () =>
                (
                    await new BucketHost(
                        nodeSpecs()[0],
                        "rot",
                        DEFAULT_REGISTRY_IMAGE,
                        ACCESS,
                        { kind: "volume" },
                        { id: state.ownerId!, adoptsUnowned: false },
                    ).list()
                )
                    .map((r) => r.containerId)
                    .sort();
            const before = await ownRegistries();
            const otherBinding = (await slbBindingProvider.create({ ...binding, name: "rot-other", listen: { address: bridgeAddress, port: 5103 } }))
                .outs;
            const other = (extra: Partial<RegistryRotationArgs>) =>
                args("2027-04-02T10:00:00Z", { stack: "org/other/prod", binding: otherBinding, ...extra });
            await assert.rejects(
                registryRotationProvider.create(other({})),
                /bucket images-2027q2 \(a volume on the node\) belongs to stack it\/rot\/a \(owner o[0-9a-f]{7}\): give this rotation another prefix/,
            );
            const created = (await registryRotationProvider.create(other({ prefix: "theirs" }))).outs as RegistryRotationState;
            try {
                assert.notEqual(created.ownerId, state.ownerId);
                assert.deepEqual(
                    created.buckets.map((b) => b.name),
                    ["theirs-2027q2"],
                    "it sees only its own buckets",
                );
                state = (await registryRotationProvider.read!(ID, state)).props as RegistryRotationState;
                assert.ok(
                    state.buckets.every((b) => b.name.startsWith("images-")),
                    `nor does the first see the other's: ${state.buckets.map((b) => b.name)}`,
                );
            } finally {
                await registryRotationProvider.delete!("it/rot-other", created);
                await slbBindingProvider.delete!("it/rot-other", otherBinding);
            }
            const after = await ownRegistries();
            assert.deepEqual(after, before, "the first rotation's registries are untouched");
            assert.ok((await new RegistryClient(STABLE, USER, ACCESS.tls.ca).tags("app")).includes("v1"), "its stable address still serves");
        },
    );
});

describe("RegistryBucketRotation behind Aliyun CLB (contract server): the previous bucket drains by time", function () {
    this.timeout(300_000);
    const step = story({ afterEachStep: () => sinon.restore() });
    const LB = "lb-berthrotation1";
    const KEY = { accessKeyId: "LTAIberthrot", accessKeySecret: "berth-rotation-secret" };
    const PORT = 5105;
    const CLB_STABLE = `${bridgeAddress}:${PORT}`;
    // CLB reports no request in flight: the previous bucket keeps its place at weight 0 this long.
    const DRAIN_SECONDS = 3;
    const nodes = nodeSpecs().map((n) => ({ ...n, cloud: { instanceId: `i-${n.name}` } }));
    let contract: ClbContractServer;
    let binding: SlbBindingState;
    let state: RegistryRotationState | undefined;
    const args = (now: string): RegistryRotationArgs => ({
        name: "rotclb",
        cluster: { name: "it", nodes },
        node: "h1",
        prefix: "clb",
        keepTags: 1,
        drainTimeoutSeconds: DRAIN_SECONDS,
        binding,
        now,
        stack: "it/rotclb/a",
        ...ACCESS,
    });

    before(async () => {
        cleanSlate();
        await removeRotation("rotclb");
        contract = new ClbContractServer({
            loadBalancerId: LB,
            region: "cn-hangzhou",
            ...KEY,
            // On the bridge address, which the rotation's certificate names.
            listenAddress: bridgeAddress,
            servers: Object.fromEntries(nodes.map((n) => [n.cloud.instanceId, n.address])),
        });
        const endpoint = await contract.start();
        binding = (
            await slbBindingProvider.create({
                name: "rot-clb",
                driver: "aliyun",
                protocol: "tcp",
                aliyun: { loadBalancerId: LB, region: "cn-hangzhou", endpoint, ...KEY },
                listen: { address: bridgeAddress, port: PORT },
                // CLB checks every second at the fastest, and wants 2 passes at least.
                healthCheck: { intervalMs: 1000, rise: 2, fall: 2 },
            })
        ).outs;
    });
    after(async () => {
        if (state) await registryRotationProvider.delete!("it/rotclb", state);
        if (binding) await slbBindingProvider.delete!("it/rot-clb", binding);
        await contract?.stop();
        await removeRotation("rotclb");
    });

    step("moves the stable address to the new bucket; the previous one sits at weight 0 for the drain time, then leaves; no pull fails", async () => {
        state = (await registryRotationProvider.create(args("2026-11-23T10:00:00Z"))).outs as RegistryRotationState;
        assert.equal(state.address, CLB_STABLE);
        await push("v1", `${CLB_STABLE}/app:v1`);
        const previous = state.buckets.find((b) => b.name === "clb-2026q4")!;
        const previousPort = Number(previous.address.split(":")[1]);

        const lines: string[] = [];
        sinon.stub(console, "log").callsFake((l: string) => void lines.push(String(l)));
        const from = contract.calls.length;
        const { result, pulls } = await pullingDuring(
            CLB_STABLE,
            async () => (await registryRotationProvider.update!("it/rotclb", state, args("2027-01-02T10:00:00Z"))).outs as RegistryRotationState,
        );
        sinon.restore();
        state = result;
        assert.equal(state.currentBucket, "clb-2027q1");
        assert.deepEqual(pulls.failed, [], `no pull through the stable address failed (${pulls.ok} succeeded)`);
        assert.ok(pulls.ok > 0);

        // What the load balancer was told, in order: the new bucket's registry in at the gate weight,
        // then raised; the previous one set to weight 0, and removed only after the drain time.
        const calls = contract.calls.slice(from);
        const touching = (action: string, port: number, weight?: number) =>
            calls.filter(
                (c) => c.action === action && c.servers?.some((s) => Number(s.Port) === port && (weight === undefined || s.Weight === weight)),
            );
        const added = calls.filter((c) => c.action === "AddVServerGroupBackendServers");
        assert.equal(added.length, 1, "one registry added");
        const currentPort = Number(added[0].servers![0].Port);
        assert.notEqual(currentPort, previousPort);
        const raised = touching("SetVServerGroupAttribute", currentPort, 100);
        const zeroed = touching("SetVServerGroupAttribute", previousPort, 0);
        const removed = touching("RemoveVServerGroupBackendServers", previousPort);
        assert.deepEqual([raised.length, zeroed.length, removed.length], [1, 1, 1], JSON.stringify(calls.filter((c) => c.servers)));
        assert.ok(added[0].at <= raised[0].at && raised[0].at <= zeroed[0].at, "the new registry serves before the previous one goes to weight 0");
        const drainedMs = removed[0].at - zeroed[0].at;
        assert.ok(drainedMs >= DRAIN_SECONDS * 1000, `removed ${drainedMs} ms after weight 0, sooner than the drain time`);
        assert.ok(
            lines.some((l) => l.includes(`draining bucket clb-2026q4's registry by time in rot-clb: ${DRAIN_SECONDS}s`)),
            lines.join("\n"),
        );
        console.error(`      previous bucket at weight 0 for ${(drainedMs / 1000).toFixed(1)} s before removal; ${pulls.ok} pulls, none failed`);

        // Only the new bucket's registry is left in the pool, at full weight.
        const left = await driverFor(binding, nodes).backends("rot-clb");
        assert.deepEqual(
            left.map((b) => [b.port, b.weight]),
            [[currentPort, 100]],
        );
    });

    step(
        "a new registry that stops while the load balancer checks it ends the wait at once, naming it; the stable address keeps serving",
        async () => {
            const docker = h1();
            let stopping: Promise<unknown> | undefined;
            sinon.stub(console, "log").callsFake((l: string) => {
                const waiting = /waiting for load balancer health: (clb-2027q2-[0-9a-f]{8})/.exec(String(l));
                if (!waiting || stopping) return;
                // The fault: the new bucket's registry stops (its container named after it) before CLB calls it healthy.
                stopping = docker
                    .listContainers({ filters: { label: [`${ROTATION_LABEL.rotation}=rotclb`, `${ROTATION_LABEL.bucket}=clb-2027q2`] } })
                    .then((found) => Promise.all(found.map((c) => docker.getContainer(c.Id).stop({ t: 0 }))));
            });
            const t0 = Date.now();
            await assert.rejects(
                registryRotationProvider.update!("it/rotclb", state, args("2027-04-02T10:00:00Z")),
                // Its own words, not the health bound's timeout: the wait ended on the stop.
                /bucket clb-2027q2's registry stopped on node h1/,
            );
            const seconds = (Date.now() - t0) / 1000;
            sinon.restore();
            assert.ok(stopping, "the registry was stopped while the load balancer checked it");
            await stopping;
            console.error(`      the rotation failed ${seconds.toFixed(1)} s after it started, once the new registry stopped`);
            assert.deepEqual(await new RegistryClient(CLB_STABLE, USER, ACCESS.tls.ca).tags("app"), ["v1"], "the previous bucket still serves");
        },
    );
});
