// Pulls with registry credentials, and pulls that fail well: against a real registry with htpasswd
// authentication that the test starts (and stops, to cut it off mid-release) on the cluster's bridge.
import * as assert from "node:assert/strict";
import * as sinon from "sinon";
import { serviceProvider } from "../../provider/engine/service";
import { LABEL } from "../../provider/docker/labels";
import { ServiceArgs, ServiceState } from "../../provider/model";
import { TestRegistry } from "../support/registry";
import { cleanSlate, containersOf, hosts, nodeSpecs } from "../support/world";
import { story } from "../support/story";

const ID = "it/pulls";
const AUTH = { username: "berth", password: "s3cret-Pa55" };

describe("pulls with credentials and pull failures (real registry with htpasswd)", function () {
    this.timeout(300_000);
    const step = story({ afterEachStep: () => sinon.restore() });
    const registry = new TestRegistry(5001, AUTH);
    let v1: string;
    let v2: string;
    let v3: string;
    const args = (extra: Partial<ServiceArgs> = {}): ServiceArgs => ({
        name: "pulls",
        cluster: { name: "it", nodes: nodeSpecs() },
        image: v1,
        replicas: 3,
        // No health check: these tests are about pulls, and a loaded CI machine must not fail them.
        ports: [{ containerPort: 80 }],
        stopGracePeriodSeconds: 2,
        registries: [{ server: registry.address, ...AUTH }],
        ...extra,
    });
    /** Captures progress lines; `onLine` runs for each. */
    const watch = (onLine: (l: string) => void = () => undefined): string[] => {
        const lines: string[] = [];
        sinon.stub(console, "log").callsFake((l: string) => {
            lines.push(l);
            onLine(l);
        });
        return lines;
    };

    before(async () => {
        cleanSlate();
        await registry.start();
        v1 = registry.copyIn("v1");
        v2 = registry.copyIn("v2");
        v3 = registry.copyIn("v2", "berth-demo:v3");
        await registry.forgetImages();
    });
    after(async () => {
        await registry.remove();
        cleanSlate();
    });

    let state: ServiceState;
    step("pulls with the cluster's credentials on every node, runs one digest, labels the version, never prints the password", async () => {
        const lines = watch();
        state = (await serviceProvider.create(args())).outs;
        sinon.restore();
        assert.match(state.imageDigest, new RegExp(`^${registry.address}/berth-demo@sha256:[0-9a-f]{64}$`));
        assert.equal(state.containers.length, 3);
        assert.deepEqual(new Set(state.containers.map((c) => c.node)), new Set(["h1", "h2", "h3"]));
        for (const h of hosts()) assert.equal(await h.localDigest(state.imageDigest), state.imageDigest, `${h.node} has the digest`);
        const inspected = await Promise.all(
            state.containers.map((c) =>
                hosts()
                    .find((h) => h.node === c.node)!
                    ["docker"].getContainer(c.id)
                    .inspect(),
            ),
        );
        for (const c of inspected) {
            assert.equal(c.Config.Labels[LABEL.version], "v1");
            assert.equal(c.Config.Labels[LABEL.service], "pulls");
            assert.ok(!JSON.stringify(c).includes(AUTH.password), "no password in the container");
        }
        assert.ok(!lines.join("\n").includes(AUTH.password), "no password in progress lines");
        assert.ok(!JSON.stringify(state).includes(AUTH.password), "no password in the outputs");
        assert.equal((state as any).registries, undefined);
    });

    step("fails at once, quoting the registry, on wrong credentials and on an unknown tag; nothing old is touched", async () => {
        const before = (await containersOf("pulls")).map((c) => c.id).sort();
        const lines = watch();
        // A single attempt: the message would end "(after N attempts)" had it been retried.
        const once = (quoted: RegExp) => (e: Error) => quoted.test(e.message) && !/after \d+ attempts/.test(e.message);
        await assert.rejects(
            serviceProvider.update!(ID, state, args({ image: v2, registries: [{ server: registry.address, username: "berth", password: "wrong" }] })),
            once(/UNAUTHORIZED: authentication required/),
        );
        await assert.rejects(
            serviceProvider.update!(ID, state, args({ image: v1.replace(":v1", ":nope") })),
            once(/MANIFEST_UNKNOWN: manifest unknown/),
        );
        // The preview says it already, from the registry's manifest lookup.
        const preview = await serviceProvider.check!(state, args({ image: v1.replace(":v1", ":nope") }));
        assert.equal(preview.failures?.[0]?.property, "image");
        assert.match(preview.failures![0].reason, /cannot resolve image .*:nope: .*MANIFEST_UNKNOWN: manifest unknown/);
        assert.deepEqual(
            lines.filter((l) => /retrying/.test(l)),
            [],
            "no retries where retrying cannot help",
        );
        assert.deepEqual((await containersOf("pulls")).map((c) => c.id).sort(), before);
    });

    step("registry stopped mid-release: fails before any old container is touched, naming each node; converges once it is back", async () => {
        const before = await containersOf("pulls");
        // Cut the registry off once the digest is resolved: the nodes' pulls then fail.
        let stopping: Promise<void> | undefined;
        const lines = watch((l) => {
            if (/resolved to/.test(l)) stopping ??= registry.stop();
        });
        const failure = await serviceProvider.update!(ID, state, args({ image: v2 })).then(
            () => undefined,
            (e) => e,
        );
        sinon.restore();
        await stopping;
        assert.ok(failure, "the release failed");
        for (const node of ["h1", "h2", "h3"])
            assert.match(failure.message, new RegExp(`pull of \\S+@sha256:\\S+ on ${node} failed: .*connection refused.*\\(after 4 attempts\\)`));
        assert.ok(
            lines.some((l) => /retrying/.test(l)),
            "retried with backoff",
        );
        const after = await containersOf("pulls");
        assert.deepEqual(after.map((c) => [c.id, c.state]).sort(), before.map((c) => [c.id, "running"]).sort(), "old containers untouched, running");

        await registry.start();
        assert.equal(failure.properties, undefined, "nothing changed: the last state stays true");
        state = (await serviceProvider.update!(ID, state, args({ image: v2 }))).outs;
        assert.equal(state.containers.length, 3);
        assert.ok(state.containers.every((c) => c.revision === state.revision && c.state === "running"));
        assert.ok(!before.some((c) => state.containers.some((n) => n.id === c.id)), "every container replaced by v2");
    });

    step("registry down before the release: the digest cannot be resolved, the error says why, old containers serve", async () => {
        await registry.stop();
        const before = (await containersOf("pulls")).map((c) => c.id).sort();
        watch();
        await assert.rejects(
            serviceProvider.update!(ID, state, args({ image: v3 })),
            /cannot resolve image .*does not answer: ECONNREFUSED.*; on the nodes: pull of \S+ on h1 failed: .*connection refused/,
        );
        sinon.restore();
        assert.deepEqual((await containersOf("pulls")).map((c) => c.id).sort(), before);
        await registry.start();
    });
});
