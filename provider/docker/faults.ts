// Pure: turns an error from reaching a node's Docker (socket, TLS, SSH) into the node field at
// fault and what is wrong, so preview says `nodes[i].tls.ca: ...` rather than "does not answer".
import { NodeSpec } from "../model";
import { NodeFault, parseCertificate, sshPort, sshUser } from "./credentials";

/** What the connection saw that the error does not carry. */
export interface ConnectionContext {
    /** SHA256 fingerprint of the host key an SSH node presented, when it was refused. */
    presentedHostKey?: string;
    now?: Date;
}

// Node's codes when the node's server certificate does not chain to tls.ca.
const NOT_SIGNED_BY_CA = new Set([
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "UNABLE_TO_GET_ISSUER_CERT",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "CERT_SIGNATURE_FAILURE",
]);
const UNREACHABLE = new Set(["ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ECONNRESET", "EPIPE"]);

function endpoint(node: NodeSpec): { scheme: string; host: string; port: number; path: string } {
    const url = new URL(node.docker);
    const scheme = url.protocol.replace(/:$/, "");
    return { scheme, host: url.hostname, port: scheme === "ssh" ? sshPort(node) : Number(url.port), path: node.docker.replace(/^unix:\/\//, "") };
}

function clientCertNote(node: NodeSpec, now: Date): string {
    try {
        const cert = parseCertificate(node.tls?.cert ?? "");
        if (new Date(cert.validTo) < now) return `: it expired on ${new Date(cert.validTo).toISOString()}`;
        if (new Date(cert.validFrom) > now) return `: it is valid only from ${new Date(cert.validFrom).toISOString()}`;
        return ` (subject ${cert.subject.replace(/\n/g, ", ")}, issuer ${cert.issuer.replace(/\n/g, ", ")}): is it signed by the CA the node's dockerd trusts (--tlscacert)?`;
    } catch {
        return "";
    }
}

export function connectionFault(node: NodeSpec, e: any, context: ConnectionContext = {}): NodeFault {
    const message: string = e?.message ?? String(e);
    const code: string | undefined = e?.code;
    const { scheme, host, port, path } = endpoint(node);
    const where = `${host}:${port}`;

    if (scheme === "ssh") {
        if (/Host denied \(verification failed\)/.test(message)) {
            return {
                field: "ssh.hostPublicKey",
                reason: `the node presented host key ${context.presentedHostKey ?? "(unknown)"}, which ssh.hostPublicKey does not list: refused (berth never trusts a host key on first use)`,
            };
        }
        if (e?.level === "client-authentication") {
            return {
                field: "ssh.privateKey",
                reason: `the node refused the key for user ${sshUser(node)} (${node.ssh?.user ? "ssh.user" : "the docker URL's user"}): is that the user to log in as, and is the key's public half in its authorized_keys on the node?`,
            };
        }
        if (e?.level === "client-timeout") return { field: "docker", reason: `no SSH server answered on ${where} within the handshake timeout` };
        if (/^docker system dial-stdio/.test(message)) return { field: "docker", reason: `${message} (can user ${sshUser(node)} run docker there?)` };
    }
    if (scheme === "tcp") {
        if (code && NOT_SIGNED_BY_CA.has(code)) {
            return {
                field: "tls.ca",
                reason: `the node's server certificate is not signed by tls.ca (${code}): give the CA that issued the certificate of the node's dockerd (--tlscert)`,
            };
        }
        if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
            return {
                field: "docker",
                reason: `the node's server certificate does not cover ${host} (${e?.reason ?? message}): connect by a name or address the certificate lists, or reissue it`,
            };
        }
        if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
            return {
                field: "docker",
                reason: `the node's server certificate is not valid now (${code}): renew the certificate of the node's dockerd`,
            };
        }
        if (code === "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" || /certificate required/i.test(message)) {
            return { field: "tls.cert", reason: "the node requires a client certificate: set tls.cert and tls.key" };
        }
        // The node's TLS alert, in the code or (when it arrives after the handshake) only in the message.
        const alert =
            /alert (bad certificate|certificate expired|unknown ca|certificate unknown|unsupported certificate|certificate revoked|decrypt error)/i.exec(
                `${(code ?? "").replace(/_/g, " ")} ${message}`,
            );
        if (alert) {
            return {
                field: "tls.cert",
                reason: `the node refused the client certificate (${alert[1].toLowerCase()})${clientCertNote(node, context.now ?? new Date())}`,
            };
        }
        if (e?.statusCode === 400 && /HTTPS server/i.test(message)) {
            return { field: "tls", reason: "the node's dockerd speaks TLS: set tls { ca, cert, key }" };
        }
        if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "EPROTO") {
            return { field: "tls", reason: `${where} does not speak TLS (${code}): is it Docker's TLS port, or should tls be left out?` };
        }
    }
    if (scheme === "unix") {
        if (code === "ENOENT") return { field: "docker", reason: `does not answer: no socket at ${path}` };
        if (code === "ECONNREFUSED") return { field: "docker", reason: `does not answer: nothing listens on ${path}` };
        if (code === "EACCES") return { field: "docker", reason: `permission denied on ${path}` };
    }
    if (code === "ECONNREFUSED") return { field: "docker", reason: `nothing listens on ${where} (connection refused)` };
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return { field: "docker", reason: `${host} does not resolve (${code})` };
    if ((code && UNREACHABLE.has(code)) || /timeout|timed out|socket hang up/i.test(message)) {
        return { field: "docker", reason: `${scheme === "unix" ? path : where} does not answer (${code ?? message})` };
    }
    return { field: "docker", reason: `does not answer: ${message}` };
}

/**
 * An error that names the node field at fault; its message reads well after "Docker on node X (url): ".
 * `noAnswer`: nothing answered there (see reach.ts), as opposed to an answer that refused us.
 */
export class NodeConnectionError extends Error {
    constructor(
        readonly node: string,
        readonly field: string,
        readonly reason: string,
        readonly noAnswer = false,
    ) {
        super(field === "docker" ? reason : `${field}: ${reason}`);
    }
}
