// How a DockerHost reaches its node. One NodeConnection per node and provider call: every Docker
// client of the host shares its agent, so requests reuse the node's TLS sessions or its one SSH
// connection instead of a handshake each.
import Docker from "dockerode";
import * as http from "http";
import * as https from "https";
import { NodeSpec } from "../model";
import { fingerprint, hostKeyBlobs, sshPort, sshUser } from "./credentials";
import { ConnectionContext, connectionFault, NodeConnectionError } from "./faults";
import { SshAgent } from "./sshAgent";
import { noAnswer } from "../reach";

const SSH_HANDSHAKE_TIMEOUT_MS = 5000;

/** docker-modem takes an http(s) agent; dockerode's types do not say so. */
type Endpoint = Docker.DockerOptions & { agent?: http.Agent };

export class NodeConnection {
    private readonly options: Endpoint;
    private readonly context: ConnectionContext = {};

    constructor(readonly node: NodeSpec) {
        this.options = this.endpoint();
    }

    /** A client with its own request timeout, on the shared connection. */
    docker(timeout: number): Docker {
        return new Docker({ ...this.options, timeout });
    }

    /** The error, as the node field at fault and why. */
    explain(e: unknown): NodeConnectionError {
        const fault = connectionFault(this.node, e, this.context);
        return new NodeConnectionError(this.node.name, fault.field, fault.reason, noAnswer(e));
    }

    private endpoint(): Endpoint {
        const m = /^(unix|tcp|ssh):\/\/(.+)$/.exec(this.node.docker);
        if (!m) throw new Error(`node ${this.node.name}: unsupported docker endpoint ${this.node.docker}`);
        const [, scheme, rest] = m;
        // A new connection per request: a local socket costs nothing to open, and a kept-alive one that
        // dockerd closed (idle, or restarted) fails the next request with "socket hang up".
        if (scheme === "unix") return { socketPath: rest, agent: new http.Agent({ keepAlive: false }) };
        const url = new URL(this.node.docker);
        if (scheme === "tcp") {
            const tls = this.node.tls;
            if (!tls) return { host: url.hostname, port: Number(url.port), protocol: "http" };
            const credentials = { ca: tls.ca, cert: tls.cert, key: tls.key };
            return {
                host: url.hostname,
                port: Number(url.port),
                protocol: "https",
                ...credentials,
                agent: new https.Agent({ keepAlive: true, ...credentials }),
            };
        }
        const agent = new SshAgent({
            host: url.hostname,
            port: sshPort(this.node),
            username: sshUser(this.node),
            privateKey: this.node.ssh?.privateKey,
            readyTimeout: SSH_HANDSHAKE_TIMEOUT_MS,
            hostVerifier: (key: Buffer) => this.knownHost(key),
        });
        // The agent carries the requests; host and port only name them.
        return { host: url.hostname, port: sshPort(this.node), protocol: "http", agent };
    }

    /** Only a host key that ssh.hostPublicKey lists: never trust on first use. */
    private knownHost(key: Buffer): boolean {
        let known: Buffer[] = [];
        try {
            known = hostKeyBlobs(this.node.ssh?.hostPublicKey ?? "");
        } catch {
            // an unparsable hostPublicKey trusts nothing (check names it before any connection)
        }
        const ok = known.some((k) => k.equals(key));
        if (!ok) this.context.presentedHostKey = fingerprint(key);
        return ok;
    }
}
