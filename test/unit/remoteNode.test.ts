// Pure checks of remote nodes' credentials, and the classification of connection errors into the
// node field at fault. The real TLS and SSH hosts are in test/integration/remoteNodes.test.ts.
import * as assert from "node:assert/strict";
import { utils as ssh2Utils } from "ssh2";
import { credentialFaults, hostKeyBlobs } from "../../provider/docker/credentials";
import { connectionFault } from "../../provider/docker/faults";
import { UNKNOWN, validateCluster, validateService } from "../../provider/validate";

const known = (v: unknown) => v !== UNKNOWN;
const pair = ssh2Utils.generateKeyPairSync("ed25519");
const sshNode = { name: "s", docker: "ssh://deploy@10.0.0.2", address: "10.0.0.2", ssh: { privateKey: pair.private, hostPublicKey: pair.public } };
const tcpNode = { name: "t", docker: "tcp://10.0.0.3:2376", address: "10.0.0.3", tls: { ca: "x", cert: "y", key: "z" } };

describe("remote node credentials", () => {
    it("accepts an OpenSSH key pair, and host keys as .pub or known_hosts lines", () => {
        assert.deepEqual(credentialFaults(sshNode, known), []);
        const [type, body] = pair.public.split(" ");
        assert.equal(hostKeyBlobs(`# comment\n10.0.0.2,host ${type} ${body}\n`).length, 1);
    });

    it("names each unparsable field, without quoting it", () => {
        const faults = credentialFaults(tcpNode, known);
        assert.deepEqual(
            faults.map((f) => f.field),
            ["tls.ca", "tls.cert", "tls.key"],
        );
        const bad = credentialFaults({ ...sshNode, ssh: { privateKey: "secret-material", hostPublicKey: "nonsense" } }, known);
        assert.deepEqual(
            bad.map((f) => f.field),
            ["ssh.privateKey", "ssh.hostPublicKey"],
        );
        assert.ok(!JSON.stringify(bad).includes("secret-material"));
    });

    it("requires a host key and a user for ssh:// nodes, and refuses tls/ssh on the wrong scheme", () => {
        const noHostKey = credentialFaults({ ...sshNode, docker: "ssh://10.0.0.2", ssh: { privateKey: pair.private } as any }, known);
        assert.deepEqual(
            noHostKey.map((f) => f.field),
            ["ssh.hostPublicKey", "ssh.user"],
        );
        assert.deepEqual(
            credentialFaults({ ...sshNode, docker: "unix:///run/d.sock" }, known).map((f) => f.field),
            ["ssh"],
        );
        assert.deepEqual(
            credentialFaults({ ...tcpNode, docker: "ssh://u@h", tls: tcpNode.tls }, known).map((f) => f.field),
            ["tls", "ssh"],
        );
    });

    it("fails check naming docker for an ssh:// URL that does not parse or has port 0, and ssh.port out of range", () => {
        const failures = (node: object) => validateCluster({ name: "c", nodes: [node as any] }).map((f) => [f.property, f.reason]);
        for (const docker of ["ssh://deploy@10.0.0.2:99999", "ssh://deploy@10.0.0.2:0", "ssh://deploy@10.0.0.2:ssh"])
            assert.deepEqual(failures({ ...sshNode, docker }), [
                ["nodes[0].docker", `ssh endpoint must be ssh://[user@]host[:port] with a port from 1 to 65535, got ${JSON.stringify(docker)}`],
            ]);
        for (const port of [0, 70000, "2222", 22.5])
            assert.deepEqual(failures({ ...sshNode, ssh: { ...sshNode.ssh, port } }), [
                ["nodes[0].ssh.port", `must be a whole number from 1 to 65535, got ${JSON.stringify(port)}`],
            ]);
    });

    it("skips values not known during preview", () => {
        assert.deepEqual(credentialFaults({ ...tcpNode, tls: { ca: UNKNOWN, cert: UNKNOWN, key: UNKNOWN } }, known), []);
        assert.deepEqual(credentialFaults({ ...sshNode, ssh: UNKNOWN as any }, known), []);
    });

    it("fails Cluster and Service checks naming the node's field", () => {
        assert.deepEqual(
            validateCluster({ name: "c", nodes: [tcpNode] }).map((f) => f.property),
            ["nodes[0].tls.ca", "nodes[0].tls.cert", "nodes[0].tls.key"],
        );
        const service = validateService({ name: "web", image: "busybox", cluster: { name: "c", nodes: [tcpNode] } });
        assert.deepEqual(
            service.map((f) => f.property),
            ["cluster.nodes[0].tls.ca", "cluster.nodes[0].tls.cert", "cluster.nodes[0].tls.key"],
        );
    });
});

describe("connection errors", () => {
    const fault = (node: object, e: object) => connectionFault(node as any, e);

    it("names the field at fault for TLS errors", () => {
        assert.equal(fault(tcpNode, { code: "SELF_SIGNED_CERT_IN_CHAIN", message: "x" }).field, "tls.ca");
        assert.equal(fault(tcpNode, { code: "ERR_TLS_CERT_ALTNAME_INVALID", message: "x" }).field, "docker");
        assert.equal(fault(tcpNode, { message: "ssl/tls alert unknown ca" }).field, "tls.cert");
        assert.equal(
            fault({ ...tcpNode, tls: undefined }, { statusCode: 400, message: "Client sent an HTTP request to an HTTPS server." }).field,
            "tls",
        );
    });

    it("names the field at fault for SSH errors", () => {
        assert.equal(fault(sshNode, { message: "Host denied (verification failed)" }).field, "ssh.hostPublicKey");
        const refused = { level: "client-authentication", message: "All configured authentication methods failed" };
        assert.equal(fault(sshNode, refused).field, "ssh.privateKey");
        // Which user was refused, and where it came from: the URL, or ssh.user over the URL's.
        assert.match(fault(sshNode, refused).reason, /^the node refused the key for user deploy \(the docker URL's user\)/);
        assert.match(
            fault({ ...sshNode, ssh: { ...sshNode.ssh, user: "ops" } }, refused).reason,
            /^the node refused the key for user ops \(ssh\.user\)/,
        );
        assert.match(
            fault(sshNode, { level: "client-timeout", message: "Timed out while waiting for handshake" }).reason,
            /no SSH server answered on 10\.0\.0\.2:22/,
        );
    });

    it("says which address does not answer, and how", () => {
        assert.match(fault(tcpNode, { code: "ECONNREFUSED", message: "x" }).reason, /nothing listens on 10\.0\.0\.3:2376/);
        assert.match(fault(tcpNode, { code: "EHOSTUNREACH", message: "x" }).reason, /10\.0\.0\.3:2376 does not answer \(EHOSTUNREACH\)/);
        assert.match(fault({ name: "u", docker: "unix:///run/x.sock" }, { code: "ENOENT", message: "x" }).reason, /no socket at \/run\/x\.sock/);
    });
});
