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
import { silentServer } from "../support/faults";
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

    /** The check's warnings for a node it cannot reach from here (which pass it: see reach.ts). */
    async function checkWarnings(node: NodeSpec): Promise<string[]> {
        const warnings: string[] = [];
        const failures = await withProgressSink(
            (line, severity) => void (severity === "warning" && warnings.push(line)),
            () => check(node),
        );
        assert.deepEqual(failures, []);
        return warnings;
    }

    const service = (name: string, nodes: NodeSpec[]) => ({
        name,
        cluster: { name: "remote", nodes },
        image: local.images.v1,
        replicas: nodes.length,
        ports: [{ containerPort: 80 }],
        stopGracePeriodSeconds: 1,
        bindings: [],
        healthCheck: { httpPath: "/health", intervalSeconds: 0.5, timeoutSeconds: 3, retries: 2 },
        release: { healthyTimeoutSeconds: 60 },
    });

    /** The service's containers as the remote hosts' own sockets show them. */
    async function seenOnHosts(name: string) {
        return (await Promise.all(remote.localNodes.map((n) => new DockerHost(n).list({ "berth.service": name })))).flat();
    }

    it("reaches Docker over mutual TLS and over SSH, and reports both nodes' inventory", async () => {
        const { failures } = await clusterProvider.check!({}, { name: "remote", nodes: [...nodeSpecs(), remote.tlsNode, remote.sshNode] });
        assert.deepEqual(failures, []);
        const { outs } = await clusterProvider.create({ name: "remote", nodes: [remote.tlsNode, remote.sshNode] });
        for (const n of outs.inventory) assert.ok(n.reachable && n.cpus > 0 && /^\d+\.\d+/.test(n.engineVersion), JSON.stringify(n));
    });

    it("runs a service's containers on the TLS and the SSH node", async () => {
        const { outs } = await serviceProvider.create(service("remote-web", [remote.tlsNode, remote.sshNode]));
        assert.deepEqual(outs.containers.map((c: { node: string }) => c.node).sort(), ["ssh", "tls"]);
        // What really runs there, seen through each host's own socket.
        assert.deepEqual((await seenOnHosts("remote-web")).map((c) => c.id).sort(), outs.containers.map((c: { id: string }) => c.id).sort());
        await serviceProvider.delete!("remote/remote-web", outs);
        assert.deepEqual(await seenOnHosts("remote-web"), []);
    });

    describe("an SSH node on a non-default port, as a user given in the URL or in ssh.user", () => {
        /** A port on the ssh host where nothing listens. */
        const closedPort = () => remote.hosts.ssh.otherPort + 1;
        /** The SSH node on sshd's other port, each way the model takes a port and a user. */
        const onOtherPort = (): Record<string, NodeSpec> => {
            const { address, user, otherPort } = remote.hosts.ssh;
            const ssh = { ...remote.sshNode.ssh, user, port: otherPort };
            return {
                "port and user in the URL": { ...remote.sshNode, docker: `ssh://${user}@${address}:${otherPort}` },
                "ssh.port and ssh.user": { ...remote.sshNode, docker: `ssh://${address}`, ssh },
                // The URL's port and user are only defaults: berth tries neither the closed port nor the unknown user.
                "ssh.port and ssh.user over the URL's": { ...remote.sshNode, docker: `ssh://nobody@${address}:${closedPort()}`, ssh },
            };
        };

        for (const way of ["port and user in the URL", "ssh.port and ssh.user", "ssh.port and ssh.user over the URL's"]) {
            it(`passes check, deploys and lists containers there: ${way}`, async () => {
                const node = onOtherPort()[way];
                assert.deepEqual(await checkWarnings(node), []);
                const { outs } = await serviceProvider.create(service("remote-port", [node]));
                const ids = outs.containers.map((c: { id: string }) => c.id);
                assert.equal(ids.length, 1);
                // berth's own listing over that port, and what the host's socket shows.
                assert.deepEqual(
                    (await new DockerHost(node).list({ "berth.service": "remote-port" })).map((c) => c.id),
                    ids,
                );
                assert.deepEqual(
                    (await seenOnHosts("remote-port")).map((c) => c.id),
                    ids,
                );
                await serviceProvider.delete!("remote/remote-port", outs);
                assert.deepEqual(await seenOnHosts("remote-port"), []);
            });
        }

        it("a user the node does not let in, in ssh.user or in the URL: check names ssh.privateKey and the user, an update the node; nothing runs", async () => {
            const { address, otherPort } = remote.hosts.ssh;
            const wrongUser = [
                {
                    from: "ssh.user",
                    node: { ...remote.sshNode, docker: `ssh://${address}:${otherPort}`, ssh: { ...remote.sshNode.ssh, user: "nobody" } },
                },
                { from: "the docker URL's user", node: { ...remote.sshNode, docker: `ssh://nobody@${address}:${otherPort}` } },
            ];
            for (const { from, node } of wrongUser) {
                const refused = `the node refused the key for user nobody \\(${from.replace(/\./g, "\\.")}\\): is that the user to log in as`;
                await expectFailure(node, "nodes[1].ssh.privateKey", new RegExp(`^Docker on node ssh \\(ssh://\\S+\\): ${refused}`));
                await assert.rejects(
                    serviceProvider.create(service("remote-port", [node])),
                    new RegExp(`no schedulable node answers \\(ssh: ssh\\.privateKey: ${refused}.*\\): nothing was changed`),
                );
            }
            assert.deepEqual(await seenOnHosts("remote-port"), []);
        });

        it("a closed port, in ssh.port or in the URL: check warns naming the node and the port, an update fails naming them; nothing runs", async () => {
            const { address, user } = remote.hosts.ssh;
            const port = closedPort();
            const refused = `nothing listens on ${address.replace(/\./g, "\\.")}:${port} \\(connection refused\\)`;
            for (const node of [
                { ...remote.sshNode, ssh: { ...remote.sshNode.ssh, port } },
                { ...remote.sshNode, docker: `ssh://${user}@${address}:${port}` },
            ]) {
                const warnings = await checkWarnings(node);
                assert.equal(warnings.length, 1, warnings.join("\n"));
                assert.match(warnings[0], new RegExp(`node ssh could not be reached from here \\(ssh: ssh://\\S+: ${refused}\\)`));
                await assert.rejects(
                    serviceProvider.create(service("remote-port", [node])),
                    new RegExp(`no schedulable node answers \\(ssh: ${refused}\\): nothing was changed`),
                );
            }
            assert.deepEqual(await seenOnHosts("remote-port"), []);
        });

        it("a port that gave no answer is remembered as silent, not the node's URL: the same URL on sshd's own port still answers", async () => {
            const port = closedPort() + 1;
            const hung = await silentServer(remote.hosts.ssh.netns, port);
            try {
                const warnings = await checkWarnings({ ...remote.sshNode, ssh: { ...remote.sshNode.ssh, port } });
                assert.match(
                    warnings.join("\n"),
                    new RegExp(
                        `node ssh could not be reached from here \\(ssh: ssh://${remote.hosts.ssh.user}@[\\d.]+:${port}: did not answer within 5 s\\)`,
                    ),
                );
                // A later planning step of the same run (the Service's check after the Cluster's) asks sshd afresh.
                assert.deepEqual(await checkWarnings(remote.sshNode), []);
            } finally {
                hung.kill();
            }
        });
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
        const warnings = await checkWarnings({ ...remote.tlsNode, docker });
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
