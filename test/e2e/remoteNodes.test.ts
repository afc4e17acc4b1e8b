// End to end through the real `pulumi` CLI on a mixed cluster: two unix-socket hosts, a dockerd
// reached over mutual TLS and one reached over SSH, with the TLS key and the SSH key given as
// Pulumi secrets. Deploy, release under load with zero failed requests, destroy; neither key ever
// shows in plain text in the stack's state or in the CLI's output.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/automation";
import { Cluster, Service, SlbBinding } from "../../index";
import { DockerHost } from "../../provider/docker/host";
import { destroyStack, openStack } from "../../scripts/lib/stack";
import { Load, summarize } from "../support/load";
import { assertNoKey, Remote, startRemoteHosts, stopRemoteHosts, storedState } from "../support/remote";
import { backendsIn, cleanSlate, listenerUrl, local, nodeSpecs, slbAddress, waitForBody } from "../support/world";
import { story } from "../support/story";

const PORT = 18084;
const URL = listenerUrl(PORT);

function program(remote: Remote) {
    const config = new pulumi.Config();
    const slb = local.slbs[0];
    const [h1, h2] = nodeSpecs();
    const cluster = new Cluster("mixed", {
        nodes: [
            { ...h1, zone: "zone-a" },
            { ...h2, zone: "zone-b" },
            {
                name: "tls",
                docker: remote.tlsNode.docker,
                address: remote.tlsNode.address,
                zone: "zone-c",
                tls: { ca: config.require("tlsCa"), cert: config.require("tlsCert"), key: config.requireSecret("tlsKey") },
            },
            {
                name: "ssh",
                docker: remote.sshNode.docker,
                address: remote.sshNode.address,
                zone: "zone-d",
                ssh: { privateKey: config.requireSecret("sshKey"), hostPublicKey: config.require("sshHostKey") },
            },
        ],
    });
    const binding = new SlbBinding("mixed", {
        haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
        listen: { address: slbAddress, port: PORT },
        healthCheck: { httpPath: "/health", intervalMs: 500, rise: 2, fall: 2 },
    });
    const web = new Service("mixed", {
        cluster,
        image: config.require("image"),
        replicas: 4,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: 1, timeoutSeconds: 3, retries: 3 },
        stopGracePeriodSeconds: 5,
        bindings: [binding],
        release: { healthyTimeoutSeconds: 60, lbHealthyTimeoutSeconds: 30, drainTimeoutSeconds: 30 },
    });
    return { url: binding.url, containers: web.containers };
}

describe("a mixed cluster of unix, TLS and SSH nodes through the pulumi CLI", function () {
    this.timeout(600_000);
    const step = story();
    let stack: Stack;
    let remote: Remote;
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);
    const everyHost = () => [...nodeSpecs().slice(0, 2), ...remote.localNodes].map((n) => new DockerHost(n));
    const containers = async () => (await Promise.all(everyHost().map((h) => h.list({ "berth.service": "mixed" })))).flat();
    const assertKeysSecret = async (where: string) => {
        const state = storedState(stack);
        for (const key of [remote.tlsNode.tls.key, remote.sshNode.ssh.privateKey]) {
            assertNoKey(state, key, `the stack state ${where}`);
            assertNoKey(log.join(""), key, `the pulumi output ${where}`);
        }
    };

    before(async () => {
        cleanSlate();
        remote = startRemoteHosts();
        stack = await openStack("berth-mixed", `e2e-${Date.now()}`, async () => program(remote), {
            image: local.images.v1,
            tlsCa: remote.tlsNode.tls.ca,
            tlsCert: remote.tlsNode.tls.cert,
            sshHostKey: remote.sshNode.ssh.hostPublicKey,
        });
        await stack.setConfig("tlsKey", { value: remote.tlsNode.tls.key, secret: true });
        await stack.setConfig("sshKey", { value: remote.sshNode.ssh.privateKey, secret: true });
    });
    after(async () => {
        await destroyStack(stack, onOutput);
        stopRemoteHosts();
    });

    it("fails preview naming nodes[2].tls.key for a key of another certificate, without showing the key", async () => {
        const wrongKey = remote.read(remote.hosts.tls.expiredKey);
        await stack.setConfig("tlsKey", { value: wrongKey, secret: true });
        try {
            await assert.rejects(stack.preview({ onOutput }), (e: Error) => {
                assert.match(e.message, /property nodes\[2\]\.tls\.key value .* has a problem: is not the private key of tls\.cert/);
                assertNoKey(e.message, wrongKey, "the preview's error");
                return true;
            });
            assertNoKey(log.join(""), wrongKey, "the preview's output");
        } finally {
            await stack.setConfig("tlsKey", { value: remote.tlsNode.tls.key, secret: true });
        }
    });

    step("deploys one container on each node, the TLS and SSH nodes included, and keeps the keys secret", async () => {
        await stack.up({ onOutput });
        await waitForBody(URL, /berth-demo v1/);
        const running = await containers();
        assert.deepEqual(running.map((c) => c.node).sort(), ["h1", "h2", "ssh", "tls"]);
        assert.equal((await backendsIn("mixed")).length, 4);
        assert.match(storedState(stack), /"ciphertext"/, "the state holds the keys, encrypted");
        await assertKeysSecret("after deploy");
    });

    step("releases v2 under load with zero failed requests", async () => {
        await stack.setConfig("image", { value: local.images.v2 });
        const before = await containers();
        const load = new Load({ url: URL, ratePerSecond: 50, slowShare: 0.05, maxSeconds: 300 }).start();
        const started = Date.now();
        await stack.up({ onOutput });
        const seconds = (Date.now() - started) / 1000;
        await waitForBody(URL, /berth-demo v2/);
        const s = summarize(await load.stop());
        console.log(
            `      release took ${seconds.toFixed(1)}s; ${s.total} requests (${s.slow} slow), ${s.failed} failed; versions ${JSON.stringify(s.versions)}`,
        );
        assert.equal(s.failed, 0, `failed requests: ${JSON.stringify(s.errors)}`);
        assert.ok((s.versions.v1 ?? 0) > 0 && (s.versions.v2 ?? 0) > 0, "traffic moved from v1 to v2");
        const after = await containers();
        assert.deepEqual(after.map((c) => c.node).sort(), ["h1", "h2", "ssh", "tls"]);
        assert.ok(
            after.every((c) => !before.some((b) => b.id === c.id)),
            "every container was replaced",
        );
        await assertKeysSecret("after the release");
    });

    step("destroys: no container on any node, no backend", async () => {
        await stack.destroy({ onOutput });
        assert.deepEqual(await containers(), []);
        assert.deepEqual(await backendsIn("mixed"), []);
        await assertKeysSecret("after destroy");
    });
});
