// The OpenAPI client and the CLB driver against the contract server: signatures it accepts or
// rejects, retries on throttling, batches of at most 20 servers, errors that carry the request id.
import * as assert from "node:assert/strict";
import { AliyunApiError, AliyunClient, credentialsOf } from "../../provider/slb/aliyun/client";
import { AliyunSlbDriver } from "../../provider/slb/aliyun/driver";
import { ClbContractServer } from "../support/clbContract";

const LB = "lb-unit0001";
const nodes = Array.from({ length: 3 }, (_, i) => ({ name: `n${i}`, docker: "unix:///x", address: `127.0.0.${i + 2}`, cloud: { instanceId: `i-unit${i}` } }));

describe("Aliyun CLB client and driver (contract server)", function () {
    this.timeout(20000);
    let server: ClbContractServer;
    let endpoint: string;
    const client = (secret = "s3cret", retries = 4) =>
        new AliyunClient({ loadBalancerId: LB, region: "cn-hangzhou", endpoint }, { accessKeyId: "AK", accessKeySecret: secret }, { retries, minTimeoutMs: 5, maxTimeoutMs: 20 });

    beforeEach(async () => {
        server = new ClbContractServer({ loadBalancerId: LB, region: "cn-hangzhou", accessKeyId: "AK", accessKeySecret: "s3cret", listenAddress: "127.0.0.1", servers: Object.fromEntries(nodes.map((n) => [n.cloud.instanceId, n.address])) });
        endpoint = await server.start();
    });
    afterEach(() => server.stop());

    it("is refused with SignatureDoesNotMatch and the request id when signed with the wrong secret", async () => {
        await assert.rejects(client("wrong").call("DescribeLoadBalancerAttribute", { LoadBalancerId: LB }), (e: any) => {
            assert.ok(e instanceof AliyunApiError);
            assert.equal(e.code, "SignatureDoesNotMatch");
            assert.match(e.message, /RequestId [0-9A-F-]{36}/);
            return true;
        });
    });

    it("retries through a throttling burst and fails once retries are spent", async () => {
        server.throttle(3);
        const res = await client().call("DescribeLoadBalancerAttribute", { LoadBalancerId: LB });
        assert.equal(res.LoadBalancerId, LB);
        assert.equal(server.throttledCalls, 3);
        server.throttle(10);
        await assert.rejects(client("s3cret", 2).call("DescribeLoadBalancerAttribute", { LoadBalancerId: LB }), /Throttling/);
    });

    it("does not retry a refused command", async () => {
        server.refuse("CreateVServerGroup", "Forbidden.RAM", 1);
        await assert.rejects(client().call("CreateVServerGroup", { LoadBalancerId: LB, VServerGroupName: "x" }), /Forbidden\.RAM/);
        // Long past the retry delay (5-20 ms): no attempt ran behind the rejection.
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(server.calls.filter((c) => c.action === "CreateVServerGroup").length, 0);
    });

    it("adds, weighs and removes 45 backends in batches of at most 20, new ones at the gate weight", async () => {
        const driver = new AliyunSlbDriver(client(), nodes);
        await driver.ensureListener({ name: "web", driver: "aliyun", aliyun: { loadBalancerId: LB, region: "cn-hangzhou" }, protocol: "tcp", listen: { port: 0 } });
        const backends = Array.from({ length: 45 }, (_, i) => ({ name: `web-${i}`, address: nodes[i % 3].address, port: 30000 + i }));
        await driver.addBackends("web", backends);
        let seen = await driver.backends("web");
        assert.equal(seen.length, 45);
        assert.ok(seen.every((b) => b.weight === 1 && b.checkStatus === "unavailable" && b.address.startsWith("127.0.0.")));
        await driver.setWeights("web", backends.map((b) => ({ name: b.name, weight: 100 })));
        seen = await driver.backends("web");
        assert.ok(seen.every((b) => b.weight === 100));
        await driver.removeBackends("web", backends.slice(0, 41).map((b) => b.name));
        assert.deepEqual((await driver.backends("web")).map((b) => b.name), ["web-41", "web-42", "web-43", "web-44"]);
        const sizes = (action: string) => server.calls.filter((c) => c.action === action).map((c) => c.servers);
        assert.deepEqual(sizes("AddVServerGroupBackendServers"), [20, 20, 5]);
        assert.deepEqual(sizes("SetVServerGroupAttribute"), [20, 20, 5]);
        assert.deepEqual(sizes("RemoveVServerGroupBackendServers"), [20, 20, 1]);
        await driver.removeListener("web");
        assert.deepEqual(await new AliyunSlbDriver(client(), nodes).backends("web").catch((e) => e.message), "aliyun: CLB lb-unit0001 has no vServer group web; create its SlbBinding first");
    });

    it("names the node that lacks a cloud identity", async () => {
        const driver = new AliyunSlbDriver(client(), [{ name: "bare", docker: "unix:///x", address: "127.0.0.9" }]);
        await driver.ensureListener({ name: "web", driver: "aliyun", aliyun: { loadBalancerId: LB, region: "cn-hangzhou" }, listen: { port: 0 } });
        await assert.rejects(driver.addBackends("web", [{ name: "w", address: "127.0.0.9", port: 1 }]), /node bare has no cloud\.instanceId or cloud\.eniId/);
    });

    it("takes credentials from the inputs first, then from the environment", () => {
        assert.deepEqual(credentialsOf({ loadBalancerId: LB, region: "r", accessKeyId: "a", accessKeySecret: "b" }, {}), { accessKeyId: "a", accessKeySecret: "b" });
        assert.deepEqual(credentialsOf({ loadBalancerId: LB, region: "r" }, { ALIBABA_CLOUD_ACCESS_KEY_ID: "x", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "y" }), { accessKeyId: "x", accessKeySecret: "y" });
        assert.throws(() => credentialsOf({ loadBalancerId: LB, region: "r" }, {}), /ALIBABA_CLOUD_ACCESS_KEY_ID/);
    });
});
