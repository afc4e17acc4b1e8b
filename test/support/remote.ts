// The remote-node test hosts (scripts/remote-hosts.sh): a mutual-TLS dockerd and an sshd host on
// the test cluster's bridge, with the keys and certificates the script generated.
import { execFileSync } from "child_process";
import { readFileSync } from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { HaproxyEndpoint, NodeSpec } from "../../provider/model";

const SCRIPT = path.join(__dirname, "../../../scripts/remote-hosts.sh");

interface RemoteHosts {
    tls: {
        name: string;
        docker: string;
        address: string;
        otherAddress: string;
        localDocker: string;
        ca: string;
        cert: string;
        key: string;
        otherCa: string;
        expiredCert: string;
        expiredKey: string;
    };
    /** `otherPort`: sshd's second, non-default port (it also listens on 22); `user`: the one user it lets in; `netns`: the host's network namespace. */
    ssh: {
        name: string;
        docker: string;
        address: string;
        user: string;
        otherPort: number;
        localDocker: string;
        netns: string;
        privateKey: string;
        hostPublicKey: string;
    };
    /** An HAProxy on the ssh host, run by its SSH user: a load balancer berth reaches only over SSH. */
    slb: { host: string; user: string; address: string; adminSocket: string; masterSocket: string; configPath: string };
}

export interface Remote {
    /** Paths and addresses, as remote.json gives them. */
    hosts: RemoteHosts;
    tlsNode: NodeSpec & { tls: NonNullable<NodeSpec["tls"]> };
    sshNode: NodeSpec & { ssh: NonNullable<NodeSpec["ssh"]> };
    /** The remote load balancer as an SlbBinding's `haproxy` input (over SSH), and the address its listeners bind. */
    remoteSlb: HaproxyEndpoint & { ssh: NonNullable<HaproxyEndpoint["ssh"]> };
    remoteSlbAddress: string;
    /** The same hosts through their local unix sockets, to look at what runs there. */
    localNodes: NodeSpec[];
    read(file: string): string;
}

/** Starts the remote hosts (idempotent: a clean slate with no container). */
export function startRemoteHosts(): Remote {
    execFileSync("bash", [SCRIPT, "start"], { stdio: "inherit" });
    const file = execFileSync("bash", [SCRIPT, "path"], { encoding: "utf8" }).trim();
    const hosts: RemoteHosts = JSON.parse(readFileSync(file, "utf8"));
    const read = (f: string) => readFileSync(f, "utf8");
    const { tls, ssh } = hosts;
    return {
        hosts,
        read,
        tlsNode: { name: tls.name, docker: tls.docker, address: tls.address, tls: { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key) } },
        sshNode: {
            name: ssh.name,
            docker: ssh.docker,
            address: ssh.address,
            ssh: { privateKey: read(ssh.privateKey), hostPublicKey: read(ssh.hostPublicKey) },
        },
        localNodes: [tls, ssh].map((h) => ({ name: h.name, docker: h.localDocker, address: h.address })),
        remoteSlb: {
            adminSocket: hosts.slb.adminSocket,
            masterSocket: hosts.slb.masterSocket,
            configPath: hosts.slb.configPath,
            ssh: { host: hosts.slb.host, user: hosts.slb.user, privateKey: read(ssh.privateKey), hostPublicKey: read(ssh.hostPublicKey) },
        },
        remoteSlbAddress: hosts.slb.address,
    };
}

export function stopRemoteHosts(): void {
    execFileSync("bash", [SCRIPT, "stop"], { stdio: "inherit" });
}

/** The base64 lines of a PEM or OpenSSH key: none of them may show in state or output. */
export function keyLines(pem: string): string[] {
    return pem
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.length >= 20 && !l.startsWith("-----"));
}

export function assertNoKey(text: string, pem: string, where: string): void {
    const leaked = keyLines(pem).filter((l) => text.includes(l));
    if (leaked.length) throw new Error(`${where} holds ${leaked.length} line(s) of a private key in plain text`);
}

/** The stack's state as the backend stores it (`pulumi stack export`); the Automation API's exportStack decrypts secrets. */
export function storedState(stack: Stack): string {
    return execFileSync(path.join(process.env.BERTH_PULUMI_BIN!, "pulumi"), ["stack", "export", "--stack", stack.name], {
        cwd: stack.workspace.workDir,
        encoding: "utf8",
    });
}
