// Pure checks of a remote node's certificates and keys, so that a bad one fails `pulumi preview`
// naming the field, before any connection is tried. Messages never quote key material.
import { createHash, createPrivateKey, X509Certificate } from "crypto";
import { utils as ssh2Utils } from "ssh2";
import { NodeSpec } from "../model";

/** What is wrong with one field of a node, relative to the node (`tls.ca`, `ssh.privateKey`, `docker`). */
export interface NodeFault {
    field: string;
    reason: string;
}

const isText = (v: unknown): v is string => typeof v === "string" && v.trim() !== "";

export function parseCertificate(pem: string): X509Certificate {
    return new X509Certificate(pem);
}

/** OpenSSH's way to show a host key: `ssh-ed25519 SHA256:...`. */
export function fingerprint(blob: Buffer): string {
    const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString();
    return `${type} SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The public key blobs a `hostPublicKey` accepts: lines of `<type> <base64>`, optionally after known_hosts host patterns. */
export function hostKeyBlobs(text: string): Buffer[] {
    return text
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith("#"))
        .map((line) => {
            const words = line.split(/\s+/);
            const at = words.findIndex((w) => /^(ssh-|ecdsa-|sk-)/.test(w));
            const parsed = at >= 0 && words[at + 1] ? ssh2Utils.parseKey(`${words[at]} ${words[at + 1]}`) : new Error("no key type");
            if (parsed instanceof Error || Array.isArray(parsed))
                throw new Error('not an SSH public key line (expected e.g. "ssh-ed25519 AAAA..." as in ssh_host_ed25519_key.pub or known_hosts)');
            return parsed.getPublicSSH();
        });
}

/** Checks one node's `tls` and `ssh` inputs as far as is possible without connecting; `known` tells values not yet known in preview apart. */
export function credentialFaults(node: NodeSpec, known: (v: unknown) => boolean): NodeFault[] {
    const faults: NodeFault[] = [];
    const scheme = typeof node.docker === "string" ? /^(\w+):\/\//.exec(node.docker)?.[1] : undefined;
    if (node.tls !== undefined && scheme !== "tcp") faults.push({ field: "tls", reason: "only applies to tcp:// nodes" });
    if (node.ssh !== undefined && scheme !== "ssh") faults.push({ field: "ssh", reason: "only applies to ssh:// nodes" });
    if (scheme === "tcp" && node.tls && known(node.tls)) faults.push(...tlsFaults(node.tls, known));
    if (scheme === "ssh" && known(node.ssh)) faults.push(...sshFaults(node, known));
    return faults;
}

function tlsFaults(tls: NonNullable<NodeSpec["tls"]>, known: (v: unknown) => boolean): NodeFault[] {
    const faults: NodeFault[] = [];
    const certs: Record<string, X509Certificate> = {};
    for (const field of ["ca", "cert"] as const) {
        const value = tls[field];
        if (!known(value)) continue;
        if (!isText(value)) {
            faults.push({ field: `tls.${field}`, reason: "is required: a PEM certificate (-----BEGIN CERTIFICATE-----)" });
            continue;
        }
        try {
            certs[field] = parseCertificate(value);
        } catch (e: any) {
            faults.push({ field: `tls.${field}`, reason: `is not a PEM certificate (-----BEGIN CERTIFICATE-----): ${e?.message ?? e}` });
        }
    }
    if (!known(tls.key)) return faults;
    if (!isText(tls.key)) return [...faults, { field: "tls.key", reason: "is required: the client certificate's PEM private key" }];
    try {
        const key = createPrivateKey(tls.key);
        if (certs.cert && !certs.cert.checkPrivateKey(key)) faults.push({ field: "tls.key", reason: "is not the private key of tls.cert" });
    } catch {
        // The parser's message can echo parts of the input: say only what it is not.
        faults.push({
            field: "tls.key",
            reason: "is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN EC/RSA PRIVATE KEY-----)",
        });
    }
    return faults;
}

function sshFaults(node: NodeSpec, known: (v: unknown) => boolean): NodeFault[] {
    const ssh = node.ssh;
    if (!ssh)
        return [{ field: "ssh", reason: "is required for ssh:// nodes: { privateKey, hostPublicKey } (berth never trusts a host key on first use)" }];
    const faults = sshKeyFaults(ssh, known).map((f) => ({ ...f, field: `ssh.${f.field}` }));
    if (known(ssh.user) && sshUrl(node.docker) && !sshUser(node))
        faults.push({ field: "ssh.user", reason: "is required (or give it in the URL: ssh://user@host)" });
    return faults;
}

/** The key, host key and port of an SSH connection (a node's, or an HAProxy host's), as fields of it. */
export function sshKeyFaults(ssh: { privateKey?: unknown; hostPublicKey?: unknown; port?: unknown }, known: (v: unknown) => boolean): NodeFault[] {
    const faults: NodeFault[] = [];
    if (known(ssh.privateKey)) {
        const parsed = isText(ssh.privateKey) ? ssh2Utils.parseKey(ssh.privateKey) : new Error("missing");
        if (parsed instanceof Error || Array.isArray(parsed) || !parsed.isPrivateKey()) {
            faults.push({
                field: "privateKey",
                reason: "is not an unencrypted private key in OpenSSH or PEM format (-----BEGIN OPENSSH PRIVATE KEY-----)",
            });
        }
    }
    if (known(ssh.hostPublicKey)) {
        if (!isText(ssh.hostPublicKey)) {
            faults.push({ field: "hostPublicKey", reason: "is required: the host's SSH public key (berth never trusts a host key on first use)" });
        } else {
            try {
                hostKeyBlobs(ssh.hostPublicKey);
            } catch (e: any) {
                faults.push({ field: "hostPublicKey", reason: e.message });
            }
        }
    }
    if (known(ssh.port) && ssh.port !== undefined && (!Number.isInteger(ssh.port) || (ssh.port as number) < 1 || (ssh.port as number) > 65535)) {
        faults.push({ field: "port", reason: `must be a whole number from 1 to 65535, got ${JSON.stringify(ssh.port)}` });
    }
    return faults;
}

/** The URL of an ssh:// endpoint, or undefined when it does not parse as ssh://[user@]host[:port] with a port from 1 to 65535. */
export function sshUrl(docker: string): URL | undefined {
    try {
        const url = new URL(docker);
        return url.hostname && url.port !== "0" ? url : undefined;
    } catch {
        return undefined;
    }
}

/** Where berth reaches a node's Docker: its docker URL; an ssh:// one with the user and port that ssh.user and ssh.port make it. */
export function dockerEndpoint(node: NodeSpec): string {
    const url = node.docker.startsWith("ssh://") ? sshUrl(node.docker) : undefined;
    if (!url) return node.docker;
    const user = sshUser(node);
    return `ssh://${user ? `${user}@` : ""}${url.hostname}:${sshPort(node)}`;
}

/** ssh.user, else the user in the ssh:// URL. */
export function sshUser(node: NodeSpec): string | undefined {
    return node.ssh?.user || decodeURIComponent(new URL(node.docker).username) || undefined;
}

/** ssh.port, else the port in the ssh:// URL, else 22. */
export function sshPort(node: NodeSpec): number {
    return node.ssh?.port ?? Number(new URL(node.docker).port || 22);
}
