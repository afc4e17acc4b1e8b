// An HAProxy on its own host, reached only over SSH (the remote test host's load balancer, run by its
// SSH user), through the real CLI: bad SSH settings fail the preview naming the property; deploy,
// release under load with zero failed requests, destroy; the config lock is taken on that host, and
// the SSH key never shows in plain text.
import * as assert from "node:assert/strict";
import { statSync } from "fs";
import { execFileSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/automation";
import { Cluster, Service, SlbBinding } from "../../index";
import { HaproxyDriver } from "../../provider/slb/haproxy";
import { destroyStack, openStack } from "../../scripts/lib/stack";
import { Load, summarize } from "../support/load";
import { assertNoKey, Remote, startRemoteHosts, stopRemoteHosts, storedState } from "../support/remote";
import { cleanSlate, containersOf, local, nodeSpecs, waitForBody } from "../support/world";
import { story } from "../support/story";

const PORT = 18310;

function program(remote: Remote) {
    const config = new pulumi.Config();
    const { ssh, ...sockets } = remote.remoteSlb;
    const cluster = new Cluster("far", { nodes: nodeSpecs() });
    const binding = new SlbBinding("far", {
        haproxy: {
            ...sockets,
            ssh: { host: ssh.host, user: ssh.user, privateKey: config.requireSecret("sshKey"), hostPublicKey: config.require("sshHostKey") },
        },
        listen: { address: remote.remoteSlbAddress, port: PORT },
        healthCheck: { httpPath: "/health", intervalMs: 500, rise: 2, fall: 2 },
    });
    const web = new Service("far", {
        cluster,
        image: config.require("image"),
        replicas: 3,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: 1, timeoutSeconds: 3, retries: 3 },
        stopGracePeriodSeconds: 5,
        bindings: [binding],
        release: { drainTimeoutSeconds: 30 },
    });
    return { url: binding.url, containers: web.containers };
}

describe("an HAProxy on its own host, over SSH, through the pulumi CLI", function () {
    this.timeout(600_000);
    const step = story();
    let stack: Stack;
    let remote: Remote;
    let url: string;
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);
    // What the remote HAProxy holds, looked at from here (the test runs as root on the same machine).
    const peek = () => new HaproxyDriver({ adminSocket: remote.remoteSlb.adminSocket, configPath: remote.remoteSlb.configPath });

    before(async () => {
        cleanSlate();
        remote = startRemoteHosts();
        url = `http://${remote.remoteSlbAddress}:${PORT}/`;
        stack = await openStack("berth-far-lb", `e2e-${Date.now()}`, async () => program(remote), {
            image: local.images.v1,
            sshHostKey: remote.read(remote.hosts.ssh.privateKey + ".pub"),
        });
        await stack.setConfig("sshKey", { value: remote.remoteSlb.ssh.privateKey, secret: true });
    });
    after(async () => {
        await destroyStack(stack, onOutput);
        stopRemoteHosts();
    });

    step("fails preview naming haproxy.ssh.hostPublicKey when the host presents another key, changing nothing", async () => {
        try {
            await assert.rejects(
                stack.preview({ onOutput }),
                /property haproxy\.ssh\.hostPublicKey value .* has a problem: .*presented another host key .*: refused/,
            );
            assert.doesNotMatch(execFileSync("cat", [remote.remoteSlb.configPath], { encoding: "utf8" }), /berth:begin/);
        } finally {
            await stack.setConfig("sshHostKey", { value: remote.remoteSlb.ssh.hostPublicKey });
        }
    });

    step("deploys behind the remote HAProxy; the config lock is taken on that host, as its SSH user", async () => {
        await stack.up({ onOutput });
        await waitForBody(url, /berth-demo v1/);
        assert.equal((await peek().backends("far")).filter((b) => b.weight > 0).length, 3);
        const lock = statSync(`${remote.remoteSlb.configPath}.berth-lock`);
        assert.equal(
            lock.uid,
            Number(execFileSync("id", ["-u", remote.remoteSlb.ssh.user], { encoding: "utf8" })),
            "the lock file was made by the SSH user",
        );
        assertNoKey(storedState(stack), remote.remoteSlb.ssh.privateKey, "the stack state");
        assertNoKey(log.join(""), remote.remoteSlb.ssh.privateKey, "the pulumi output");
    });

    step("releases v2 through it under load with zero failed requests", async () => {
        await stack.setConfig("image", { value: local.images.v2 });
        const load = new Load({ url, ratePerSecond: 50, slowShare: 0.05, maxSeconds: 300 }).start();
        const started = Date.now();
        await stack.up({ onOutput });
        const seconds = (Date.now() - started) / 1000;
        await waitForBody(url, /berth-demo v2/);
        const s = summarize(await load.stop());
        console.log(`      release through the remote HAProxy took ${seconds.toFixed(1)}s; ${s.total} requests (${s.slow} slow), ${s.failed} failed`);
        assert.equal(s.failed, 0, `failed requests: ${JSON.stringify(s.errors)}`);
        assert.ok((s.versions.v1 ?? 0) > 0 && (s.versions.v2 ?? 0) > 0, "traffic moved from v1 to v2");
        assertNoKey(storedState(stack), remote.remoteSlb.ssh.privateKey, "the stack state");
    });

    step("destroys: no container, and the remote config holds no berth section", async () => {
        await stack.destroy({ onOutput });
        assert.deepEqual(await containersOf("far"), []);
        assert.doesNotMatch(execFileSync("cat", [remote.remoteSlb.configPath], { encoding: "utf8" }), /berth:begin/);
    });
});
