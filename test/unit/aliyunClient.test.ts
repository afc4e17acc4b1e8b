// The OpenAPI client and the CLB driver against the contract server: signatures it accepts or
// rejects, retries on throttling, batches of at most 20 servers, errors that carry the request id.
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { once } from "events";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { AliyunApiError, AliyunClient, credentialsOf } from "../../provider/slb/aliyun/client";
import { AliyunSlbDriver, ownerInDescription, recordedStack } from "../../provider/slb/aliyun/driver";
import { ClbContractServer } from "../support/clbContract";

const LB = "lb-unit0001";

/** A port nothing listens on now, for a listener the contract server really opens. */
async function freePort(): Promise<number> {
    const probe = net.createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const { port } = probe.address() as net.AddressInfo;
    probe.close();
    return port;
}
const nodes = Array.from({ length: 3 }, (_, i) => ({
    name: `n${i}`,
    docker: "unix:///x",
    address: `127.0.0.${i + 2}`,
    cloud: { instanceId: `i-unit${i}` },
}));

describe("Aliyun CLB client and driver (contract server)", function () {
    this.timeout(20000);
    let server: ClbContractServer;
    let endpoint: string;
    const client = (secret = "s3cret", retries = 4) =>
        new AliyunClient(
            { loadBalancerId: LB, region: "cn-hangzhou", endpoint },
            { accessKeyId: "AK", accessKeySecret: secret },
            { retries, minTimeoutMs: 5, maxTimeoutMs: 20 },
        );

    beforeEach(async () => {
        server = new ClbContractServer({
            loadBalancerId: LB,
            region: "cn-hangzhou",
            accessKeyId: "AK",
            accessKeySecret: "s3cret",
            listenAddress: "127.0.0.1",
            servers: Object.fromEntries(nodes.map((n) => [n.cloud.instanceId, n.address])),
        });
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

    it("retries a request the API failed with a 5xx, and fails naming the error once retries are spent", async () => {
        server.refuse("DescribeLoadBalancerAttribute", "ServiceUnavailable", 3, 503);
        const res = await client().call("DescribeLoadBalancerAttribute", { LoadBalancerId: LB });
        assert.equal(res.LoadBalancerId, LB);
        server.refuse("DescribeLoadBalancerAttribute", "InternalError", 3, 500);
        await assert.rejects(client("s3cret", 2).call("DescribeLoadBalancerAttribute", { LoadBalancerId: LB }), /InternalError/);
        assert.equal(server.calls.filter((c) => c.action === "DescribeLoadBalancerAttribute").length, 1, "only the call after the 503s got through");
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
        await driver.ensureListener({
            name: "web",
            driver: "aliyun",
            aliyun: { loadBalancerId: LB, region: "cn-hangzhou" },
            protocol: "tcp",
            listen: { port: 0 },
        });
        const backends = Array.from({ length: 45 }, (_, i) => ({ name: `web-${i}`, address: nodes[i % 3].address, port: 30000 + i }));
        await driver.addBackends("web", backends);
        let seen = await driver.backends("web");
        assert.equal(seen.length, 45);
        assert.ok(seen.every((b) => b.weight === 1 && b.checkStatus === "unavailable" && b.address.startsWith("127.0.0.")));
        await driver.setWeights(
            "web",
            backends.map((b) => ({ name: b.name, weight: 100 })),
        );
        seen = await driver.backends("web");
        assert.ok(seen.every((b) => b.weight === 100));
        await driver.removeBackends(
            "web",
            backends.slice(0, 41).map((b) => b.name),
        );
        assert.deepEqual(
            (await driver.backends("web")).map((b) => b.name),
            ["web-41", "web-42", "web-43", "web-44"],
        );
        const sizes = (action: string) => server.calls.filter((c) => c.action === action).map((c) => c.servers?.length);
        assert.deepEqual(sizes("AddVServerGroupBackendServers"), [20, 20, 5]);
        assert.deepEqual(sizes("SetVServerGroupAttribute"), [20, 20, 5]);
        assert.deepEqual(sizes("RemoveVServerGroupBackendServers"), [20, 20, 1]);
        await driver.removeListener("web");
        assert.deepEqual(
            await new AliyunSlbDriver(client(), nodes).backends("web").catch((e) => e.message),
            "aliyun: CLB lb-unit0001 has no vServer group web; create its SlbBinding first",
        );
    });

    it("names the node that lacks a cloud identity", async () => {
        const driver = new AliyunSlbDriver(client(), [{ name: "bare", docker: "unix:///x", address: "127.0.0.9" }]);
        await driver.ensureListener({ name: "web", driver: "aliyun", aliyun: { loadBalancerId: LB, region: "cn-hangzhou" }, listen: { port: 0 } });
        await assert.rejects(
            driver.addBackends("web", [{ name: "w", address: "127.0.0.9", port: 1 }]),
            /node bare has no cloud\.instanceId or cloud\.eniId/,
        );
    });

    describe("listener owners, recorded in the listener's Description", () => {
        const aliyun = { loadBalancerId: LB, region: "cn-hangzhou" };
        const web = { name: "web", driver: "aliyun" as const, aliyun, listen: { port: 0 } };
        const prod = { stack: "org/infra/prod", ownerId: "o1234567" };
        const staging = { stack: "org/infra/staging", ownerId: "o7654321" };
        const description = async (port: number) => {
            const lb = await client().call("DescribeLoadBalancerAttribute", { LoadBalancerId: LB });
            return lb.ListenerPortsAndProtocol.ListenerPortAndProtocol.find((l: any) => l.ListenerPort === port)?.Description;
        };

        it("names the other stack on a clash of name or port, at check and again when made", async () => {
            const driver = new AliyunSlbDriver(client(), nodes);
            await driver.ensureListener(web, prod);
            assert.equal(await description(0), "berth/o1234567/org/infra/prod");
            assert.equal(await driver.listenerClash(web, prod.stack), undefined, "its own stack may update it");
            await driver.ensureListener({ ...web, healthCheck: { httpPath: "/health" } }, prod);
            const byName = "aliyun: CLB lb-unit0001: listener web belongs to stack org/infra/prod: give this stack's binding another name";
            assert.deepEqual(await driver.listenerClash(web, staging.stack), { property: "name", reason: byName });
            assert.deepEqual(await driver.listenerClash({ ...web, name: "web-staging" }, staging.stack), {
                property: "listen.port",
                reason: "aliyun: CLB lb-unit0001: port 0 is already the listener web of stack org/infra/prod",
            });
            assert.equal(await driver.listenerClash({ ...web, name: "web-staging", listen: { port: 1 } }, staging.stack), undefined);
            await assert.rejects(new AliyunSlbDriver(client(), nodes).ensureListener(web, staging), { message: byName });
            assert.equal(await description(0), "berth/o1234567/org/infra/prod", "the refused stack changed nothing");
        });

        it("removes only its own listener, leaving another owner's in place and saying whose it is", async () => {
            const driver = new AliyunSlbDriver(client(), nodes);
            const webStaging = { ...web, name: "web-staging", listen: { port: await freePort() } };
            await driver.ensureListener(web, prod);
            await driver.ensureListener(webStaging, staging);
            assert.equal(await driver.listenerClash(webStaging, staging.stack), undefined);
            assert.equal(await driver.removeListener("web-staging", staging), undefined);
            assert.deepEqual([await driver.hasListener(webStaging), await driver.hasListener(web)], [false, true]);
            // A replacement of prod's binding took the listener: the old resource's delete leaves it.
            const kept = await driver.removeListener("web", { stack: prod.stack, ownerId: "o0000000" });
            assert.equal(kept, "listener web now belongs to stack org/infra/prod (owner o1234567): left in place");
            assert.equal(await driver.hasListener(web), true);
            assert.equal(await driver.removeListener("web", prod), undefined);
            assert.equal(await driver.hasListener(web), false);
        });

        it("adopts a listener made before owners for the stack whose state lists it", async () => {
            const driver = new AliyunSlbDriver(client(), nodes);
            await driver.ensureListener(web);
            assert.equal(await driver.removeListener("web", prod), undefined, "one without owner is removed by the binding that lists it");
            assert.equal(await driver.hasListener(web), false);
            await driver.ensureListener(web);
            assert.equal(await description(0), "");
            assert.equal(await driver.listenerClash(web, staging.stack), undefined);
            await driver.ensureListener(web, staging);
            assert.equal(await description(0), "berth/o7654321/org/infra/staging");
            assert.equal((await driver.listenerClash(web, prod.stack))?.property, "name");
        });

        it("moves a binding's listener to its new port, the old port freed", async () => {
            const driver = new AliyunSlbDriver(client(), nodes);
            const moved = { ...web, listen: { port: await freePort() } };
            await driver.ensureListener(web, prod);
            await driver.ensureListener(moved, prod);
            assert.deepEqual([await driver.hasListener(moved), await driver.hasListener(web)], [true, false]);
            assert.equal(await description(moved.listen.port), "berth/o1234567/org/infra/prod");
            assert.equal(await driver.listenerClash({ ...web, name: "api" }, staging.stack), undefined);
        });

        it("reads any other Description as no owner, whose listener still holds its port", async () => {
            assert.deepEqual(ownerInDescription("berth/o1234567/"), { ownerId: "o1234567" });
            for (const text of [undefined, "", "http_0", "berth/o1234567", 'berth/{"stack":"x"}']) {
                assert.equal(ownerInDescription(text), undefined, text);
            }
            const driver = new AliyunSlbDriver(client(), nodes);
            await driver.ensureListener(web, prod);
            await client().call("SetLoadBalancerHTTPListenerAttribute", { LoadBalancerId: LB, ListenerPort: 0, Description: "http_0" });
            assert.equal(await driver.listenerClash(web, staging.stack), undefined);
            assert.deepEqual(await driver.listenerClash({ ...web, name: "api" }, staging.stack), {
                property: "listen.port",
                reason: "aliyun: CLB lb-unit0001: port 0 is already the listener web of no stack (made before owners, or not by berth)",
            });
        });

        it("keeps a long stack within CLB's 80 characters, still told apart from its neighbours", async () => {
            const long = (env: string) => `organization/${"a-very-long-project-name-".repeat(3)}/${env}`;
            assert.notEqual(recordedStack(long("prod")), recordedStack(long("prd")));
            assert.equal(recordedStack("org/p/s"), "org/p/s");
            assert.match(recordedStack("org/p/ä")!, /^\.\.org\/p\/_\.[0-9a-f]{8}$/);
            const driver = new AliyunSlbDriver(client(), nodes);
            await driver.ensureListener(web, { stack: long("prod"), ownerId: "o1234567" });
            assert.ok((await description(0)).length <= 80);
            assert.deepEqual(ownerInDescription(await description(0)), { ownerId: "o1234567", stack: recordedStack(long("prod")) });
            assert.equal(await driver.listenerClash(web, long("prod")), undefined);
            assert.match((await driver.listenerClash(web, long("prd")))!.reason, /belongs to stack \.\.[\w./-]+-project-name-\/prod\.[0-9a-f]{8}:/);
        });
    });

    describe("credentials: the inputs first, then the Alibaba Cloud credential chain", () => {
        const CHAIN = [
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_SECURITY_TOKEN",
            "ALIBABA_CLOUD_CREDENTIALS_FILE",
            "ALIBABA_CLOUD_PROFILE",
            "HOME",
        ];
        const saved = Object.fromEntries(CHAIN.map((k) => [k, process.env[k]]));
        const home = mkdtempSync(path.join(os.tmpdir(), "berth-aliyun-"));
        const endpointOnly = { loadBalancerId: LB, region: "cn-hangzhou" };
        beforeEach(() => {
            for (const k of CHAIN) delete process.env[k];
            process.env.HOME = home; // no profile of this machine's user
        });
        after(() => {
            for (const [k, v] of Object.entries(saved))
                if (v === undefined) delete process.env[k];
                else process.env[k] = v;
            rmSync(home, { recursive: true, force: true });
        });

        it("uses the binding's key when it gives one, and refuses half a key", async () => {
            process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = "env";
            process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = "env";
            assert.deepEqual(await credentialsOf({ ...endpointOnly, accessKeyId: "a", accessKeySecret: "b" }), {
                accessKeyId: "a",
                accessKeySecret: "b",
            });
            await assert.rejects(credentialsOf({ ...endpointOnly, accessKeyId: "a" }), /give both aliyun\.accessKeyId and aliyun\.accessKeySecret/);
        });

        it("takes an STS key and token from the environment, and the token reaches the API", async () => {
            Object.assign(process.env, {
                ALIBABA_CLOUD_ACCESS_KEY_ID: "STS.AK",
                ALIBABA_CLOUD_ACCESS_KEY_SECRET: "sts-secret",
                ALIBABA_CLOUD_SECURITY_TOKEN: "token-1",
            });
            assert.deepEqual(await credentialsOf(endpointOnly), { accessKeyId: "STS.AK", accessKeySecret: "sts-secret", securityToken: "token-1" });
            const sts = new ClbContractServer({
                loadBalancerId: LB,
                region: "cn-hangzhou",
                accessKeyId: "STS.AK",
                accessKeySecret: "sts-secret",
                securityToken: "token-1",
                listenAddress: "127.0.0.1",
                servers: {},
            });
            const at = await sts.start();
            try {
                const fromChain = new AliyunClient({ ...endpointOnly, endpoint: at });
                assert.equal((await fromChain.call("DescribeLoadBalancerAttribute", { LoadBalancerId: LB })).LoadBalancerId, LB);
                const withoutToken = new AliyunClient(
                    { ...endpointOnly, endpoint: at },
                    { accessKeyId: "STS.AK", accessKeySecret: "sts-secret" },
                    { retries: 0, minTimeoutMs: 5, maxTimeoutMs: 5 },
                );
                await assert.rejects(withoutToken.call("DescribeLoadBalancerAttribute", { LoadBalancerId: LB }), /InvalidSecurityToken\.Missing/);
            } finally {
                await sts.stop();
            }
        });

        it("reads a profile from the credentials file", async () => {
            const file = path.join(home, "credentials.ini");
            writeFileSync(file, "[default]\ntype = access_key\naccess_key_id = FILE.AK\naccess_key_secret = file-secret\n");
            process.env.ALIBABA_CLOUD_CREDENTIALS_FILE = file;
            assert.deepEqual(await credentialsOf(endpointOnly), { accessKeyId: "FILE.AK", accessKeySecret: "file-secret" });
        });

        it("says where a key can come from when the chain finds none", async () => {
            await assert.rejects(
                credentialsOf(endpointOnly),
                /aliyun: no access key: set aliyun\.accessKeyId\/accessKeySecret or berth:aliyunAccessKeyId\/aliyunAccessKeySecret \(as secrets\), or give the Alibaba Cloud credential chain one/,
            );
        });
    });
});
