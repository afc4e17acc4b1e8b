// The core release scenarios on every SlbBinding driver, in TCP and in HTTP mode: HAProxy on the
// local hosts, and Aliyun CLB through the contract server (test/support/clbContract.ts), whose
// listeners forward real traffic to the containers and whose health comes from real probes.
// One suite for both proves the drivers are interchangeable behind the SlbDriver seam.
import * as assert from "node:assert/strict";
import { readFileSync } from "fs";
import * as path from "path";
import * as sinon from "sinon";
import { serviceProvider } from "../../provider/engine/service";
import { slbBindingProvider } from "../../provider/engine/slbBinding";
import { driverFor } from "../../provider/engine/world";
import { NodeSpec, ServiceArgs, ServiceState, SlbBindingArgs, SlbBindingState } from "../../provider/model";
import { isLbHealthy } from "../../provider/slb/driver";
import { ClbContractServer } from "../support/clbContract";
import { hideSocket } from "../support/faults";
import { Load, summarize } from "../support/load";
import { cleanSlate, containersOf, fewestDuring, local, nodeSpecs, slbAddress, waitForBody } from "../support/world";

const ID = "it/drivers";
const LB = "lb-berthcontract1";
type Protocol = "tcp" | "http";

/** One load balancer under test: how to bind to it, and what it holds. */
interface Rig {
    driver: "haproxy" | "aliyun";
    nodes: NodeSpec[];
    binding(name: string, port: number, protocol: Protocol): SlbBindingArgs;
    contract?: ClbContractServer;
}

async function haproxyRig(): Promise<Rig> {
    const slb = local.slbs[0];
    return {
        driver: "haproxy",
        nodes: nodeSpecs(),
        binding: (name, port, protocol) => ({
            name,
            driver: "haproxy",
            protocol,
            haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
            listen: { address: slbAddress, port },
            healthCheck: { httpPath: "/health", intervalMs: 300, rise: 2, fall: 2 },
        }),
    };
}

async function aliyunRig(): Promise<Rig> {
    const nodes = nodeSpecs().map((n) => ({ ...n, cloud: { instanceId: `i-${n.name}` } }));
    const contract = new ClbContractServer({
        loadBalancerId: LB,
        region: "cn-hangzhou",
        accessKeyId: "LTAIberthtest",
        accessKeySecret: "berth-contract-secret",
        listenAddress: slbAddress,
        servers: Object.fromEntries(nodes.map((n) => [n.cloud.instanceId, n.address])),
    });
    const endpoint = await contract.start();
    return {
        driver: "aliyun",
        nodes,
        contract,
        binding: (name, port, protocol) => ({
            name,
            driver: "aliyun",
            protocol,
            aliyun: { loadBalancerId: LB, region: "cn-hangzhou", endpoint, accessKeyId: "LTAIberthtest", accessKeySecret: "berth-contract-secret" },
            // CLB checks every second at the fastest.
            listen: { address: slbAddress, port },
            healthCheck: { httpPath: "/health", intervalMs: 1000, rise: 2, fall: 2 },
        }),
    };
}

// Slow requests take ~2 s: a 4 s drain outlasts them, which a drain by time needs.
const RELEASE = { healthyTimeoutSeconds: 20, lbHealthyTimeoutSeconds: 12, drainTimeoutSeconds: 4 };

function serviceArgs(rig: Rig, slb: SlbBindingState, extra: Partial<ServiceArgs> = {}): ServiceArgs {
    return {
        name: "drv",
        cluster: { name: "it", nodes: rig.nodes },
        image: local.images.v1,
        replicas: 3,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: 0.5, timeoutSeconds: 3, retries: 3 },
        stopGracePeriodSeconds: 3,
        bindings: [{ slb }],
        release: RELEASE,
        ...extra,
    };
}

/** Runs `onLine` for every progress line of the engine (and keeps them out of the test output). */
function onProgress(onLine: (line: string) => void): void {
    sinon.stub(console, "log").callsFake((l: string) => onLine(String(l)));
}

async function servingNames(rig: Rig, slb: SlbBindingArgs, healthyOnly = false): Promise<string[]> {
    const backends = await driverFor(slb, rig.nodes).backends(slb.name);
    return backends
        .filter((b) => b.weight > 0 && (!healthyOnly || isLbHealthy(b)))
        .map((b) => b.name)
        .sort();
}

const figures: string[] = [];
/** OpenAPI actions the Aliyun driver called in this suite: the README's RAM permission list must hold them. */
const calledActions = new Set<string>();

for (const make of [haproxyRig, aliyunRig]) {
    describe(`release on the ${make === haproxyRig ? "haproxy" : "aliyun (CLB contract server)"} driver`, function () {
        this.timeout(180_000);
        let rig: Rig;
        let state: ServiceState;
        let port = make === haproxyRig ? 18301 : 18321;

        beforeEach(async () => {
            cleanSlate();
            rig = await make();
            port++;
        });
        afterEach(async () => {
            sinon.restore();
            for (const c of rig.contract?.calls ?? []) calledActions.add(c.action);
            await rig.contract?.stop();
        });

        /** A service on v1 behind a fresh binding, under load. */
        async function deployUnderLoad(protocol: Protocol, extra: Partial<ServiceArgs> = {}) {
            const slb = (await slbBindingProvider.create(rig.binding(`drv-${protocol}`, port, protocol))).outs as SlbBindingState;
            const args = serviceArgs(rig, slb, extra);
            state = (await serviceProvider.create(args)).outs;
            await waitForBody(slb.url, /berth-demo v1/);
            const load = new Load({ url: slb.url, ratePerSecond: 40, slowShare: 0.1, maxSeconds: 120 }).start();
            return { slb, args, load };
        }

        for (const protocol of ["tcp", "http"] as const) {
            it(`${protocol}: releases v1 -> v2 under load with zero failed requests`, async () => {
                const { slb, args, load } = await deployUnderLoad(protocol);
                onProgress(() => undefined);
                const t0 = Date.now();
                state = (await serviceProvider.update!(ID, state, { ...args, image: local.images.v2 })).outs;
                const seconds = (Date.now() - t0) / 1000;
                await waitForBody(slb.url, /berth-demo v2/);
                const s = summarize(await load.stop());
                figures.push(
                    `${rig.driver} ${protocol}: ${s.total} requests, ${s.failed} failed, release ${seconds.toFixed(1)} s, versions ${JSON.stringify(s.versions)}`,
                );
                assert.equal(s.failed, 0, JSON.stringify(s));
                assert.ok(s.versions.v1 > 0 && s.versions.v2 > 0, JSON.stringify(s.versions));
                assert.deepEqual(await servingNames(rig, slb), state.containers.map((c) => c.name).sort());
                assert.ok(state.containers.every((c) => c.revision === state.revision));
            });
        }

        it("http: releases through two listeners at once with zero failed requests on either", async () => {
            const second = (await slbBindingProvider.create(rig.binding("drv-second", port + 100, "http"))).outs as SlbBindingState;
            const { slb, args, load } = await deployUnderLoad("http");
            const both = { ...args, bindings: [{ slb }, { slb: second }] };
            state = (await serviceProvider.update!(ID, state, both)).outs;
            await waitForBody(second.url, /berth-demo v1/);
            const loads = [load, new Load({ url: second.url, ratePerSecond: 40, slowShare: 0.1, maxSeconds: 120 }).start()];
            onProgress(() => undefined);
            state = (await serviceProvider.update!(ID, state, { ...both, image: local.images.v2 })).outs;
            await waitForBody(slb.url, /berth-demo v2/);
            for (const [i, l] of loads.entries()) {
                const s = summarize(await l.stop());
                figures.push(`${rig.driver} http, listener ${i + 1} of 2: ${s.total} requests, ${s.failed} failed`);
                assert.equal(s.failed, 0, JSON.stringify(s));
                assert.ok(s.versions.v1 > 0 && s.versions.v2 > 0, JSON.stringify(s.versions));
            }
            for (const b of [slb, second]) assert.deepEqual(await servingNames(rig, b), state.containers.map((c) => c.name).sort());
        });

        it("tcp: a fixed host port on every node releases in batches, never below two serving, with zero failed requests", async () => {
            const { slb, args, load } = await deployUnderLoad("tcp", {
                ports: [{ containerPort: 80, hostPort: 8080 }],
                release: { ...RELEASE, minAvailable: 2 },
            });
            onProgress(() => undefined);
            const serving = async () => (await servingNames(rig, slb, true)).length;
            const { result, fewest, reads, failedReads } = await fewestDuring(serving, () =>
                serviceProvider.update!(ID, state, { ...args, image: local.images.v2 }),
            );
            state = result.outs;
            const s = summarize(await load.stop());
            figures.push(`${rig.driver} tcp fixed port: ${s.total} requests, ${s.failed} failed, fewest serving ${fewest} over ${reads} reads`);
            assert.equal(s.failed, 0, JSON.stringify(s));
            assert.deepEqual(failedReads, [], "every read of the load balancer during the release answered");
            assert.ok(reads > 0);
            const batches = state.lastRelease.filter((l) => l.startsWith("batch "));
            assert.equal(batches.length, 3, state.lastRelease.join("\n"));
            for (const line of batches) assert.match(line, /retire first drv-o[0-9a-f]{7}-\d-[\w-]+ on (h\d); start slot \d on \1/);
            assert.ok(fewest >= 2, `serving backends fell to ${fewest}`);
        });

        it("http: a never-healthy image is rolled back at the load balancer's health gate; the old keeps serving", async () => {
            // No Docker health check: only the load balancer's check (GET /health, 404 in this image) can stop it.
            const { slb, args, load } = await deployUnderLoad("http", { healthCheck: undefined });
            const lines: string[] = [];
            onProgress((l) => lines.push(l));
            await assert.rejects(
                serviceProvider.update!(ID, state, { ...args, image: local.images.unhealthy }),
                /load balancers to report the new backends healthy.*The previous revision keeps serving/s,
            );
            const s = summarize(await load.stop());
            figures.push(`${rig.driver} http rollback: ${s.total} requests, ${s.failed} failed`);
            assert.equal(s.failed, 0, JSON.stringify(s));
            assert.deepEqual(s.versions.unhealthy ?? 0, 0);
            assert.deepEqual(await servingNames(rig, slb), state.containers.map((c) => c.name).sort());
            assert.equal((await containersOf("drv")).length, 3);
            assert.ok(
                lines.some((l) => /waiting for load balancer health/.test(l)),
                "the release waited on the load balancer",
            );
        });

        if (make === aliyunRig) {
            it("tcp: rides out a throttling storm on the OpenAPI with zero failed requests", async () => {
                const { slb, args, load } = await deployUnderLoad("tcp");
                onProgress(() => undefined);
                // The API takes 3 calls a second for the whole release; the engine polls faster than that.
                rig.contract!.limitRate(3);
                try {
                    state = (await serviceProvider.update!(ID, state, { ...args, image: local.images.v2 })).outs;
                } finally {
                    rig.contract!.limitRate(undefined);
                }
                const s = summarize(await load.stop());
                figures.push(`aliyun tcp throttling storm: ${s.total} requests, ${s.failed} failed, ${rig.contract!.throttledCalls} throttled calls`);
                assert.equal(s.failed, 0, JSON.stringify(s));
                assert.ok(rig.contract!.throttledCalls >= 8, `throttled ${rig.contract!.throttledCalls} calls`);
                assert.deepEqual(await servingNames(rig, slb), state.containers.map((c) => c.name).sort());
            });

            it("http: a changed health check is set on the existing listener in place, with zero failed requests", async () => {
                const { slb, load } = await deployUnderLoad("http");
                const changed = { ...rig.binding(`drv-http`, port, "http"), healthCheck: { httpPath: "/", intervalMs: 2000, rise: 3, fall: 3 } };
                await slbBindingProvider.update!(slb.name, slb, changed);
                assert.equal(rig.contract!.healthCheckChanges, 1);
                assert.deepEqual(rig.contract!.listenerCheck(port), { type: "http", uri: "/", intervalMs: 2000, timeoutMs: 5000, rise: 3, fall: 3 });
                // Checked afresh with the new settings, the backends stay normal and keep serving.
                await waitForBody(slb.url, /berth-demo v1/);
                const s = summarize(await load.stop());
                assert.equal(s.failed, 0, JSON.stringify(s));
                assert.deepEqual(await servingNames(rig, slb, true), state.containers.map((c) => c.name).sort());
            });

            it("http: when CLB refuses to add backends the release stops, says why with the request id, and the old keeps serving", async () => {
                const { slb, args, load } = await deployUnderLoad("http");
                onProgress(() => undefined);
                rig.contract!.refuse("AddVServerGroupBackendServers", "Forbidden.RAM");
                await assert.rejects(
                    serviceProvider.update!(ID, state, { ...args, image: local.images.v2 }),
                    /AddVServerGroupBackendServers failed: Forbidden\.RAM: .*RequestId [0-9A-F-]{36}.*previous revision keeps serving/s,
                );
                const s = summarize(await load.stop());
                assert.equal(s.failed, 0, JSON.stringify(s));
                assert.deepEqual(await servingNames(rig, slb), state.containers.map((c) => c.name).sort());
                assert.deepEqual((await containersOf("drv")).map((c) => c.id).sort(), state.containers.map((c) => c.id).sort());
            });
        } else {
            it("tcp: when the admin socket goes away mid-release the release stops and the old keeps serving", async () => {
                const { slb, args, load } = await deployUnderLoad("tcp");
                let restore: (() => void) | undefined;
                onProgress((l) => {
                    if (!restore && /waiting for load balancer health/.test(l)) restore = hideSocket(local.slbs[0].adminSocket);
                });
                try {
                    await assert.rejects(
                        serviceProvider.update!(ID, state, { ...args, image: local.images.v2 }),
                        /HAProxy socket .* does not answer/,
                    );
                } finally {
                    restore?.();
                }
                const s = summarize(await load.stop());
                assert.equal(s.failed, 0, JSON.stringify(s));
                assert.equal(s.versions.v2 ?? 0, 0, "no request reached the new revision");
                assert.deepEqual(await servingNames(rig, slb), state.containers.map((c) => c.name).sort());
            });
        }
    });
}

describe("the Aliyun driver's RAM permissions", function () {
    this.timeout(180_000);
    before(async () => {
        // Run alone (--grep), no release block above has run: a release of its own shows the driver's calls.
        if (calledActions.size > 0) return;
        cleanSlate();
        const rig = await aliyunRig();
        try {
            onProgress(() => undefined);
            const slb = (await slbBindingProvider.create(rig.binding("drv-ram", 18340, "http"))).outs as SlbBindingState;
            const args = serviceArgs(rig, slb);
            const created = (await serviceProvider.create(args)).outs as ServiceState;
            const released = (await serviceProvider.update!(ID, created, { ...args, image: local.images.v2 })).outs as ServiceState;
            await serviceProvider.delete!(ID, released);
            await slbBindingProvider.delete!(`it/${slb.name}`, slb);
        } finally {
            sinon.restore();
            for (const c of rig.contract!.calls) calledActions.add(c.action);
            await rig.contract!.stop();
        }
    });
    it("lists in the README every OpenAPI action a release on the driver calls", function () {
        assert.ok(calledActions.size > 0, "the driver called the contract server");
        const readme = readFileSync(path.resolve(__dirname, "..", "..", "..", "README.md"), "utf8");
        const listed = new Set([...readme.matchAll(/`slb:(\w+)`/g)].map((m) => m[1]));
        assert.deepEqual(
            [...calledActions].filter((a) => !listed.has(a)),
            [],
        );
    });
});

after(() => {
    if (figures.length) process.stderr.write(`\nrelease figures:\n  ${figures.join("\n  ")}\n`);
});
