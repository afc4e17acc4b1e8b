// A release on Aliyun CLB through the real `pulumi` CLI, with the stack a user writes: the nodes'
// cloud identity on the Cluster, an `aliyun` SlbBinding (access key secret), a Service. The CLB is
// the contract server (test/support/clbContract.ts): signed OpenAPI calls, health from real probes,
// a listener forwarding real traffic by weight. v1 -> v2 under load with zero failed requests,
// drained by time, then destroy removes the listener and the vServer group.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/automation";
import { Cluster, Service, SlbBinding } from "../../index";
import { destroyStack, openStack } from "../../scripts/lib/stack";
import { ClbContractServer } from "../support/clbContract";
import { Load, summarize } from "../support/load";
import { cleanSlate, containersOf, listenerUrl, local, nodeSpecs, slbAddress, waitForBody } from "../support/world";
import { story } from "../support/story";

const LB = "lb-berthcontracte2e";
const PORT = 18390;
const URL = listenerUrl(PORT);
const KEY = { accessKeyId: "LTAIberthe2e", accessKeySecret: "berth-e2e-secret" };
const nodes = () => nodeSpecs().map((n) => ({ ...n, cloud: { instanceId: `i-${n.name}` } }));

function program(endpoint: string) {
    const config = new pulumi.Config();
    const cluster = new Cluster("clb-e2e", { nodes: nodes() });
    const binding = new SlbBinding("clb-web", {
        driver: "aliyun",
        protocol: "http",
        aliyun: {
            loadBalancerId: LB,
            region: "cn-hangzhou",
            endpoint,
            accessKeyId: KEY.accessKeyId,
            accessKeySecret: pulumi.secret(KEY.accessKeySecret),
        },
        listen: { address: slbAddress, port: PORT },
        healthCheck: { httpPath: "/health", intervalMs: 1000, rise: 2, fall: 2 },
    });
    const web = new Service("clb-web", {
        cluster,
        image: config.require("image"),
        replicas: 3,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: 1, timeoutSeconds: 3, retries: 5 },
        stopGracePeriodSeconds: 3,
        bindings: [binding],
        // CLB reports no in-flight count: the drain waits this long, longer than the slowest request (3 s).
        release: { healthyTimeoutSeconds: 60, lbHealthyTimeoutSeconds: 30, drainTimeoutSeconds: 5 },
    });
    return { url: binding.url, revision: web.revision };
}

describe("release on Aliyun CLB through the pulumi CLI (contract server)", function () {
    this.timeout(600_000);
    const step = story();
    let contract: ClbContractServer;
    let stack: Stack;
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);

    before(async () => {
        cleanSlate();
        contract = new ClbContractServer({
            loadBalancerId: LB,
            region: "cn-hangzhou",
            ...KEY,
            listenAddress: slbAddress,
            servers: Object.fromEntries(nodes().map((n) => [n.cloud.instanceId, n.address])),
        });
        const endpoint = await contract.start();
        stack = await openStack("berth-clb", `e2e-${Date.now()}`, async () => program(endpoint), { image: local.images.v1 });
    });
    after(async () => {
        await destroyStack(stack, onOutput);
        await contract?.stop();
    });

    step("deploys v1 behind the CLB listener, which records its stack, the access key secret nowhere in the output", async () => {
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.url.value, URL);
        assert.match(contract.listenerDescription(PORT) ?? "", new RegExp(`^berth/o[0-9a-f]{7}/organization/berth-clb/${stack.name}$`));
        await waitForBody(URL, /berth-demo v1/);
        assert.equal((await containersOf("clb-web")).length, 3);
        assert.ok(!log.join("").includes(KEY.accessKeySecret));
    });

    step("releases v2 under load with zero failed requests, draining by time", async () => {
        const before = await containersOf("clb-web");
        await stack.setConfig("image", { value: local.images.v2 });
        const load = new Load({ url: URL, ratePerSecond: 60, slowShare: 0.1, maxSeconds: 240 }).start();
        await stack.up({ onOutput });
        await waitForBody(URL, /berth-demo v2/);
        const s = summarize(await load.stop());
        console.log(`      ${s.total} requests (${s.slow} slow), ${s.failed} failed; versions ${JSON.stringify(s.versions)}`);
        assert.equal(s.failed, 0, `failed requests: ${JSON.stringify(s.errors)}`);
        assert.ok((s.versions.v1 ?? 0) > 0 && (s.versions.v2 ?? 0) > 0, JSON.stringify(s.versions));
        const after = await containersOf("clb-web");
        assert.equal(after.length, 3);
        assert.ok(
            after.every((c) => !before.some((b) => b.id === c.id)),
            "no v1 container left",
        );
        assert.match(log.join(""), /draining .* by time in clb-web: 5s/);
    });

    step("destroys: no container left, the listener gone", async () => {
        await stack.destroy({ onOutput });
        assert.deepEqual(await containersOf("clb-web"), []);
        await assert.rejects(fetch(URL, { signal: AbortSignal.timeout(3000) }));
    });
});
