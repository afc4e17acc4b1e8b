// Placement, node whitelist and self-healing against the real hosts: cordon and drain, nodes that
// leave, zones, affinity, global mode, in-place resize, drift repaired touching only what drifted.
import * as assert from "node:assert/strict";
import { waitUntil } from "../../provider/wait";
import { execFileSync } from "child_process";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { clusterProvider } from "../../provider/engine/cluster";
import { serviceProvider } from "../../provider/engine/service";
import { slbBindingProvider } from "../../provider/engine/slbBinding";
import { NodeSpec, ServiceArgs, ServiceState, SlbBindingState } from "../../provider/model";
import { UNKNOWN } from "../../provider/validate";
import { breakHealth, freezeDocker } from "../support/faults";
import { Load, summarize } from "../support/load";
import { backendsIn, cleanSlate, containersOf, hosts, local, nodeSpecs, slbAddress } from "../support/world";

const ID = "it/web";

function args(nodes: NodeSpec[], binding: SlbBindingState | undefined, extra: Partial<ServiceArgs> = {}): ServiceArgs {
    return {
        name: "web",
        cluster: { name: "it", nodes },
        image: local.images.v1,
        replicas: 3,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: 0.5, timeoutSeconds: 3, retries: 2 },
        stopGracePeriodSeconds: 3,
        bindings: binding ? [{ slb: binding }] : [],
        release: { healthyTimeoutSeconds: 20, lbHealthyTimeoutSeconds: 20, drainTimeoutSeconds: 15 },
        ...extra,
    };
}

const nodesOf = (s: ServiceState) => s.containers.map((c) => c.node).sort();
const idsOf = (s: ServiceState) => s.containers.map((c) => c.id).sort();

describe("placement and self-healing (real hosts)", function () {
    this.timeout(300_000);
    let binding: SlbBindingState;

    beforeEach(async () => {
        cleanSlate();
        const slb = local.slbs[0];
        binding = (
            await slbBindingProvider.create({
                name: "it-web",
                driver: "haproxy",
                haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
                listen: { address: slbAddress, port: 18110 },
                healthCheck: { httpPath: "/health", intervalMs: 300, rise: 2, fall: 2 },
            })
        ).outs;
    });
    after(() => cleanSlate());

    it("cordon moves every container off the node with zero failed requests; uncordon makes it eligible again", async () => {
        let state = (await serviceProvider.create(args(nodeSpecs(), binding))).outs as ServiceState;
        assert.deepEqual(nodesOf(state), ["h1", "h2", "h3"]);
        const cordoned = nodeSpecs().map((n) => (n.name === "h3" ? { ...n, schedulable: false } : n));
        const load = new Load({ url: binding.url, ratePerSecond: 60, slowShare: 0.2, maxSeconds: 120 }).start();
        state = (await serviceProvider.update!(ID, state, args(cordoned, binding))).outs;
        const s = summarize(await load.stop());
        assert.equal(s.failed, 0, JSON.stringify(s));
        assert.deepEqual(nodesOf(state), ["h1", "h1", "h2"].sort());
        assert.equal((await backendsIn("it-web")).length, 3);

        state = (await serviceProvider.update!(ID, state, args(nodeSpecs(), binding, { replicas: 4 }))).outs;
        assert.ok(
            state.containers.some((c) => c.node === "h3"),
            "the uncordoned node takes the next container",
        );
    });

    it("drains a node that leaves the cluster before forgetting it", async () => {
        let state = (await serviceProvider.create(args(nodeSpecs(), binding))).outs as ServiceState;
        state = (await serviceProvider.update!(ID, state, args(nodeSpecs().slice(0, 2), binding))).outs;
        assert.ok(state.containers.every((c) => c.node !== "h3"));
        assert.equal((await containersOf("web")).filter((c) => c.node === "h3").length, 0, "nothing left on h3");
        assert.equal(state.containers.length, 3);
    });

    it("spreads over zones, keeps away from one service and beside another", async () => {
        const labelled = nodeSpecs().map((n, i) => ({ ...n, labels: { tier: i === 0 ? "db" : "web" } }));
        const db = (
            await serviceProvider.create({
                ...args(labelled, undefined),
                name: "db",
                replicas: 1,
                placement: { constraints: ["node.labels.tier == db"] },
            })
        ).outs as ServiceState;
        assert.deepEqual(nodesOf(db), ["h1"]);
        const web = (
            await serviceProvider.create(
                args(labelled, binding, { replicas: 2, placement: { zones: { count: 2, mode: "hard" }, affinity: ["service != db"] } }),
            )
        ).outs as ServiceState;
        assert.deepEqual(nodesOf(web), ["h2", "h3"]);
        const sidecar = (
            await serviceProvider.create({ ...args(labelled, undefined), name: "sidecar", replicas: 2, placement: { affinity: ["service == db"] } })
        ).outs as ServiceState;
        assert.deepEqual(nodesOf(sidecar), ["h1", "h1"]);
        await assert.rejects(
            serviceProvider.create({
                ...args(labelled, undefined),
                name: "strict",
                replicas: 3,
                placement: { zones: { count: 3, mode: "hard" }, affinity: ["service != db"] },
            }),
            /containers span 2 zone\(s\) \(zone-b, zone-c\), fewer than zones.count=3 \(mode hard\).*node h1: anti-affinity service != db \(db runs there\)/,
        );
    });

    it("global mode runs one container on every eligible node", async () => {
        let state = (await serviceProvider.create(args(nodeSpecs(), binding, { mode: "global" }))).outs as ServiceState;
        assert.deepEqual(nodesOf(state), ["h1", "h2", "h3"]);
        const cordoned = nodeSpecs().map((n) => (n.name === "h2" ? { ...n, schedulable: false } : n));
        state = (await serviceProvider.update!(ID, state, args(cordoned, binding, { mode: "global" }))).outs;
        assert.deepEqual(nodesOf(state), ["h1", "h3"]);
    });

    it("changes memory, cpus and restart policy in place: same containers, no release", async () => {
        let state = (await serviceProvider.create(args(nodeSpecs(), binding, { memoryMb: 64 }))).outs as ServiceState;
        const before = idsOf(state);
        state = (
            await serviceProvider.update!(
                ID,
                state,
                args(nodeSpecs(), binding, { memoryMb: 96, cpus: 0.5, restartPolicy: { name: "on-failure", maxAttempts: 3 } }),
            )
        ).outs;
        assert.deepEqual(idsOf(state), before, "no container was replaced");
        assert.deepEqual(state.lastRelease, [], "no release ran");
        for (const c of state.containers) {
            const limits = (
                await hosts()
                    .find((h) => h.node === c.node)!
                    .inspect(c.id)
            ).limits;
            assert.deepEqual(limits, { nanoCpus: 5e8, memoryBytes: 96 * 1048576, restartPolicy: { Name: "on-failure", MaximumRetryCount: 3 } });
        }
    });

    it("refuses a disk quota the nodes' storage cannot enforce, naming the node and why", async () => {
        const cluster = (await clusterProvider.create({ name: "it", nodes: nodeSpecs() })).outs;
        const check = await serviceProvider.check!({}, { ...args(nodeSpecs(), undefined), cluster, diskQuotaMb: 100 });
        const failure = check.failures!.find((f) => f.property === "diskQuotaMb");
        assert.match(
            failure?.reason ?? "",
            /node h1 stores containers with overlay2 on \w+; disk quotas need overlay2 on xfs mounted with pquota, btrfs or zfs/,
        );
    });

    it("check plans on the real hosts without touching them, and defers the plan to up while an input is unknown", async () => {
        const before = await containersOf();
        const planned = await serviceProvider.check!({}, args(nodeSpecs(), binding));
        assert.deepEqual(planned.failures, []);
        assert.match(planned.inputs.imageDigest, /@sha256:[0-9a-f]{64}$/, "the tag resolved by the registry");
        assert.match(
            planned.inputs.plannedChange,
            /^create web: 3 container\(s\)\n.*\nbatch 1\/1: start slot 0 on h\d, slot 1 on h\d, slot 2 on h\d\n/,
        );
        const deferred = await serviceProvider.check!({}, args(nodeSpecs(), binding, { image: UNKNOWN }));
        assert.match(deferred.inputs.plannedChange, /the plan is made at up: image not known until then/);
        // What the dynamic provider host sends back: a Struct holds no undefined.
        for (const inputs of [planned.inputs, deferred.inputs]) assert.doesNotThrow(() => Struct.fromJavaScript(inputs));
        assert.deepEqual(await containersOf(), before, "check started nothing");
    });

    it("repairs drift touching only what drifted: an exited, an unhealthy and a removed container", async () => {
        let state = (await serviceProvider.create(args(nodeSpecs(), binding, { replicas: 4 }))).outs as ServiceState;
        const [exited, sick, removed, healthy] = state.containers;
        execFileSync("docker", ["-H", local.hosts.find((h) => h.name === exited.node)!.docker, "stop", exited.name]);
        await hosts()
            .find((h) => h.node === removed.node)!
            .remove(removed.id);
        breakHealth(sick.node, sick.name);
        // Docker marks the broken one unhealthy after its failed checks: read until it does.
        const read = await waitUntil(
            async () => {
                const props = (await serviceProvider.read!(ID, state)).props as ServiceState;
                const seen = new Map(props.containers.map((c) => [c.id, c]));
                return seen.get(exited.id)?.state === "exited" && seen.get(sick.id)?.health === "unhealthy" && !seen.has(removed.id)
                    ? props
                    : undefined;
            },
            { timeoutSeconds: 30, what: "read to see the exited, the unhealthy and the removed container" },
        );
        const diff = await serviceProvider.diff!(ID, read, args(nodeSpecs(), binding, { replicas: 4 }));
        assert.equal(diff.changes, true, "preview shows the drift");

        state = (await serviceProvider.update!(ID, read, args(nodeSpecs(), binding, { replicas: 4 }))).outs;
        assert.equal(state.containers.length, 4);
        assert.ok(
            state.containers.some((c) => c.id === healthy.id),
            "the healthy container keeps its ID",
        );
        for (const gone of [exited, sick, removed]) assert.ok(!state.containers.some((c) => c.id === gone.id), `${gone.name} was replaced`);
        assert.deepEqual((await backendsIn("it-web")).map((b) => b.name).sort(), state.containers.map((c) => c.name).sort());
    });

    it("replaces the containers of a node whose Docker stops answering, and retires them when it returns", async () => {
        let state = (await serviceProvider.create(args(nodeSpecs(), binding))).outs as ServiceState;
        const onH2 = state.containers.find((c) => c.node === "h2")!;
        const others = state.containers.filter((c) => c.node !== "h2").map((c) => c.id);
        const thaw = freezeDocker(1);
        try {
            const read = (await serviceProvider.read!(ID, state)).props as ServiceState;
            assert.ok(!read.containers.some((c) => c.id === onH2.id), "refresh no longer sees it");
            state = (await serviceProvider.update!(ID, read, args(nodeSpecs(), binding))).outs;
            assert.equal(state.containers.length, 3);
            assert.ok(
                others.every((id) => state.containers.some((c) => c.id === id)),
                "healthy containers keep their IDs",
            );
            assert.ok(state.containers.every((c) => c.node !== "h2"));
        } finally {
            thaw();
        }
        state = (await serviceProvider.update!(ID, state, args(nodeSpecs(), binding))).outs;
        assert.equal((await containersOf("web")).length, 3, "the returned node's stale container is retired");
        assert.ok(!state.containers.some((c) => c.id === onH2.id));
    });
});
