// Remote nodes against real hosts: a dockerd with mutual TLS and one behind sshd. The Cluster's
// check (what `pulumi preview` runs) must name the node field at fault for each way a remote node
// can be misconfigured, and never quote a key.
import * as assert from "node:assert/strict";
import { utils as ssh2Utils } from "ssh2";
import { DockerHost } from "../../provider/docker/host";
import { clusterProvider } from "../../provider/engine/cluster";
import { serviceProvider } from "../../provider/engine/service";
import { NodeSpec } from "../../provider/model";
import { withProgressSink } from "../../provider/progress";
import { assertNoKey, Remote, startRemoteHosts, stopRemoteHosts } from "../support/remote";
import { local, nodeSpecs } from "../support/world";

describe("remote nodes (TLS and SSH) against real hosts", function () {
    this.timeout(120_000);
    let remote: Remote;
    const stranger = ssh2Utils.generateKeyPairSync("ed25519");

    before(() => {
        remote = startRemoteHosts();
    });
    after(() => stopRemoteHosts());

    /** Runs the Cluster's check with one good unix node and `node` second; returns its failures. */
    async function check(node: NodeSpec) {
        const { failures } = await clusterProvider.check!({}, { name: "remote", nodes: [nodeSpecs()[0], node] });
        for (const key of [remote.tlsNode.tls.key, remote.sshNode.ssh.privateKey, stranger.private])
            assertNoKey(JSON.stringify(failures), key, "the failures");
        return failures ?? [];
    }

    async function expectFailure(node: NodeSpec, property: string, reason: RegExp) {
        const failures = await check(node);
        assert.equal(failures.length, 1, JSON.stringify(failures));
        assert.equal(failures[0].property, property);
        assert.match(failures[0].reason, reason);
        assert.doesNotMatch(failures[0].reason, /does not answer/, "says what is wrong, not just that the node is silent");
    }

    it("reaches Docker over mutual TLS and over SSH, and reports both nodes' inventory", async () => {
        const { failures } = await clusterProvider.check!({}, { name: "remote", nodes: [...nodeSpecs(), remote.tlsNode, remote.sshNode] });
        assert.deepEqual(failures, []);
        const { outs } = await clusterProvider.create({ name: "remote", nodes: [remote.tlsNode, remote.sshNode] });
        for (const n of outs.inventory) assert.ok(n.reachable && n.cpus > 0 && /^\d+\.\d+/.test(n.engineVersion), JSON.stringify(n));
    });

    it("runs a service's containers on the TLS and the SSH node", async () => {
        const args = {
            name: "remote-web",
            cluster: { name: "remote", nodes: [remote.tlsNode, remote.sshNode] },
            image: local.images.v1,
            replicas: 2,
            ports: [{ containerPort: 80 }],
            stopGracePeriodSeconds: 1,
            bindings: [],
            healthCheck: { httpPath: "/health", intervalSeconds: 0.5, timeoutSeconds: 3, retries: 2 },
            release: { healthyTimeoutSeconds: 60 },
        };
        const { outs } = await serviceProvider.create(args);
        assert.deepEqual(outs.containers.map((c: { node: string }) => c.node).sort(), ["ssh", "tls"]);
        // What really runs there, seen through each host's own socket.
        const seen = (await Promise.all(remote.localNodes.map((n) => new DockerHost(n).list({ "berth.service": "remote-web" })))).flat();
        assert.deepEqual(seen.map((c) => c.id).sort(), outs.containers.map((c: { id: string }) => c.id).sort());
        await serviceProvider.delete!("remote/remote-web", outs);
        assert.equal((await Promise.all(remote.localNodes.map((n) => new DockerHost(n).list({ "berth.service": "remote-web" })))).flat().length, 0);
    });

    it("names nodes[i].tls.ca when it is not PEM", async () => {
        await expectFailure(
            { ...remote.tlsNode, tls: { ...remote.tlsNode.tls, ca: "not a certificate" } },
            "nodes[1].tls.ca",
            /is not a PEM certificate/,
        );
    });

    it("names nodes[i].tls.ca when that CA did not sign the node's server certificate", async () => {
        const otherCa = remote.read(remote.hosts.tls.otherCa);
        await expectFailure(
            { ...remote.tlsNode, tls: { ...remote.tlsNode.tls, ca: otherCa } },
            "nodes[1].tls.ca",
            /server certificate is not signed by tls\.ca/,
        );
    });

    it("names nodes[i].tls.cert when the client certificate expired", async () => {
        const tls = { ...remote.tlsNode.tls, cert: remote.read(remote.hosts.tls.expiredCert), key: remote.read(remote.hosts.tls.expiredKey) };
        await expectFailure(
            { ...remote.tlsNode, tls },
            "nodes[1].tls.cert",
            /the node refused the client certificate \(bad certificate\): it expired on \d{4}-/,
        );
    });

    it("names nodes[i].docker when the server certificate is for another name", async () => {
        const docker = `tcp://${remote.hosts.tls.otherAddress}:2376`;
        await expectFailure(
            { ...remote.tlsNode, docker },
            "nodes[1].docker",
            new RegExp(`server certificate does not cover ${remote.hosts.tls.otherAddress.replace(/\./g, "\\.")}`),
        );
    });

    it("passes with a warning naming the node when nothing listens on the port: not reachable from here (reach.ts)", async () => {
        const docker = `tcp://${remote.hosts.tls.address}:2377`;
        const warnings: string[] = [];
        const failures = await withProgressSink(
            (line, severity) => void (severity === "warning" && warnings.push(line)),
            () => check({ ...remote.tlsNode, docker }),
        );
        assert.deepEqual(failures, []);
        assert.equal(warnings.length, 1, warnings.join("\n"));
        assert.match(
            warnings[0],
            /^\[berth\] cluster remote: node tls could not be reached from here \(tls: tcp:\/\/[\d.]+:2377: nothing listens on [\d.]+:2377 \(connection refused\)\)/,
        );
    });

    it("names nodes[i].ssh.privateKey when the node refuses the key", async () => {
        await expectFailure(
            { ...remote.sshNode, ssh: { ...remote.sshNode.ssh, privateKey: stranger.private } },
            "nodes[1].ssh.privateKey",
            /the node refused the key for user berth/,
        );
    });

    it("names nodes[i].ssh.hostPublicKey when the node's host key is not the one given, and refuses it", async () => {
        await expectFailure(
            { ...remote.sshNode, ssh: { ...remote.sshNode.ssh, hostPublicKey: stranger.public } },
            "nodes[1].ssh.hostPublicKey",
            /presented host key ssh-ed25519 SHA256:\S+, which ssh\.hostPublicKey does not list: refused/,
        );
    });

    it("never trusts a host key on first use: an ssh:// node without hostPublicKey fails", async () => {
        const { hostPublicKey: _, ...withoutHostKey } = remote.sshNode.ssh;
        await expectFailure({ ...remote.sshNode, ssh: withoutHostKey as any }, "nodes[1].ssh.hostPublicKey", /is required/);
    });
});
