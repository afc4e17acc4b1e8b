// Registries the tests start and remove themselves: Debian's docker-registry on this cluster's
// bridge address (reachable from every node), optionally with htpasswd (bcrypt) authentication.
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import { randomBytes } from "crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { promisify } from "util";
import { NodeConnection } from "../../provider/docker/connection";
import { ROTATION_LABEL } from "../../provider/rotation/bucketStore";
import { RegistryUser, RotationTls } from "../../provider/rotation/rotationModel";
import { FatalError, waitUntil } from "../../provider/wait";
import { local, nodeSpecs } from "./world";

const run = promisify(execFile);

export const bridgeAddress = local.registry.split(":")[0];

/** The local cluster's registry certificate for a rotation, and one user; `password` a fresh one per run. */
export function rotationAccess(password = `pw-${randomBytes(9).toString("hex")}`): { tls: RotationTls; users: RegistryUser[] } {
    const read = (p: string) => readFileSync(p, "utf8");
    return {
        tls: { certificate: read(local.pki.certificate), key: read(local.pki.key), ca: read(local.pki.ca) },
        users: [{ username: "ci", password }],
    };
}

/** A stack's state as the file backend stores it (the Automation API's export decrypts secrets). */
export function storedState(project: string, stack: string): string {
    return readFileSync(`${process.env.PULUMI_BACKEND_URL!.replace("file://", "")}/.pulumi/stacks/${project}/${stack}.json`, "utf8");
}

/** skopeo's flags for a TLS registry signed by the cluster CA: a cert dir holding it (made once per process). */
let certDir: string | undefined;
export function clusterCertDir(): string {
    if (!certDir) {
        certDir = mkdtempSync(path.join(tmpdir(), `berth-${local.cluster}-certs-`));
        copyFileSync(local.pki.ca, path.join(certDir, "ca.crt"));
    }
    return certDir;
}

/** Removes a rotation's bucket registries and volumes on its node, whoever owns them: what a killed earlier run left behind. */
export async function removeRotation(rotation: string, node = nodeSpecs()[0]): Promise<void> {
    const docker = new NodeConnection(node).docker(30_000);
    const filters = { label: [`${ROTATION_LABEL.rotation}=${rotation}`] };
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true });
    const { Volumes } = await docker.listVolumes({ filters });
    for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove({ force: true });
}

/** Pushes a local demo image to `target` with skopeo, as a CI job would: as `user`, or with no credentials. */
export async function pushImage(demoTag: string, target: string, user: RegistryUser | "anonymous"): Promise<void> {
    const creds = user === "anonymous" ? [] : ["--dest-creds", `${user.username}:${user.password}`];
    const source = `docker://${local.images[demoTag]}`;
    await run("skopeo", [
        "copy",
        "--insecure-policy",
        "--src-tls-verify=false",
        `--dest-cert-dir=${clusterCertDir()}`,
        ...creds,
        source,
        `docker://${target}`,
    ]);
}

export class TestRegistry {
    readonly address: string;
    private readonly dir = mkdtempSync(path.join(tmpdir(), `berth-${local.cluster}-registry-`));
    private child?: ChildProcess;

    constructor(
        readonly port: number,
        readonly auth?: { username: string; password: string },
    ) {
        this.address = `${bridgeAddress}:${port}`;
        const auth_ = auth ? `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${this.dir}/htpasswd\n` : "";
        if (auth) writeFileSync(`${this.dir}/htpasswd`, execFileSync("htpasswd", ["-Bbn", auth.username, auth.password]));
        writeFileSync(
            `${this.dir}/config.yml`,
            `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${this.dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: ${this.address}\n${auth_}`,
        );
    }

    async start(): Promise<void> {
        // Whatever answers there already (a registry a crashed run left) is not this one: never adopt it.
        const taken = await fetch(`http://${this.address}/v2/`, { signal: AbortSignal.timeout(2000) }).then(
            (res) => `answers ${res.status}`,
            () => undefined,
        );
        if (taken) throw new Error(`${this.address} already ${taken} (a registry left by an earlier run?): stop it before the test starts its own`);
        const env = { ...process.env };
        delete env.AWS_CA_BUNDLE; // its s3 driver code panics at start when this is set
        const child = spawn("docker-registry", ["serve", `${this.dir}/config.yml`], { env, stdio: "ignore" });
        this.child = child;
        await waitUntil(
            async () => {
                if (child.exitCode !== null)
                    throw new FatalError(`docker-registry for ${this.address} exited with ${child.exitCode} before it answered`);
                const res = await fetch(`http://${this.address}/v2/`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
                return res && (res.status === 200 || res.status === 401) ? true : undefined;
            },
            { timeoutSeconds: 20, what: `registry ${this.address} to answer` },
        );
    }

    async stop(): Promise<void> {
        const child = this.child;
        if (!child || child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
        this.child = undefined;
    }

    async remove(): Promise<void> {
        await this.stop();
        rmSync(this.dir, { recursive: true, force: true });
    }

    /** Removes this registry's images from every node, so that the next release has to pull. */
    async forgetImages(): Promise<void> {
        for (const node of nodeSpecs()) {
            const docker = new NodeConnection(node).docker(30_000);
            for (const image of await docker.listImages()) {
                const refs = [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter((r) => r.startsWith(this.address + "/"));
                for (const ref of refs)
                    await docker
                        .getImage(ref)
                        .remove({ force: true })
                        .catch(() => undefined);
            }
        }
    }

    /** Copies a demo image (v1, v2, ...) from the cluster's registry into this one under `repo:tag`. */
    copyIn(demoTag: string, target = `berth-demo:${demoTag}`): string {
        const dest = `${this.address}/${target}`;
        const creds = this.auth ? ["--dest-creds", `${this.auth.username}:${this.auth.password}`] : [];
        execFileSync("skopeo", [
            "copy",
            "--insecure-policy",
            "--quiet",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            ...creds,
            `docker://${local.images[demoTag]}`,
            `docker://${dest}`,
        ]);
        return dest;
    }
}
