// The node that runs a rotation's bucket registries, reached through its Docker API like any other:
// one registry container per bucket (read-write for the current bucket, read-only for retained
// ones), each bucket a Docker volume or an S3-compatible bucket (see bucketStore.ts). The registries
// carry their owner: a rotation of another stack on the same node is never touched.
import { hashSync } from "bcryptjs";
import Docker from "dockerode";
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import * as tar from "tar-fs";
import * as tarStream from "tar-stream";
import { NodeConnection } from "../docker/connection";
import { canonicalJson } from "../canonical";
import { LABEL, ownerLabels } from "../docker/labels";
import { NodeSpec } from "../model";
import { Progress } from "../progress";
import { waitUntil } from "../wait";
import { RegistryClient } from "../registry/client";
import { BucketOwner, bucketStore, BucketStore, ROTATION_LABEL } from "./bucketStore";
import { BucketStorage, CONFIG_PATH, HTPASSWD_PATH, REGISTRY_PORT, renderRegistryConfig, TLS_CERTIFICATE_PATH, TLS_KEY_PATH } from "./config";
import { RegistryUser, RotationTls } from "./rotationModel";

/** Built on the node from Debian's docker-registry binary when no other image is configured. */
export const DEFAULT_REGISTRY_IMAGE = "berth-registry:debian";

/** What the bucket registries serve with: their certificate and who may push and pull. */
export interface BucketAccess {
    tls: RotationTls;
    users: RegistryUser[];
}

/**
 * Tells a registry started with other TLS or users apart. A hash over the private key too, so the
 * label says nothing about a password (whoever reads labels reads the node's files anyway).
 */
export const accessFingerprint = (access: BucketAccess): string => createHash("sha256").update(canonicalJson(access)).digest("hex").slice(0, 16);

/** htpasswd lines with bcrypt hashes, the only kind the registry accepts. */
export const htpasswd = (users: RegistryUser[]): string => users.map((u) => `${u.username}:${hashSync(u.password, 10)}\n`).join("");

export interface BucketRegistry {
    bucket: string;
    containerId: string;
    readOnly: boolean;
    /** host:port where this bucket's registry answers. */
    address: string;
    running: boolean;
    /** Started with the rotation's current TLS and users (else it gives way to one that is). */
    accessCurrent: boolean;
}

export class BucketHost {
    private readonly docker: Docker;
    private readonly fingerprint: string;
    readonly store: BucketStore;
    constructor(
        readonly node: NodeSpec,
        readonly rotation: string,
        readonly image: string,
        readonly access: BucketAccess,
        private readonly storage: BucketStorage,
        private readonly owner: BucketOwner,
    ) {
        this.docker = new NodeConnection(node).docker(60_000);
        this.fingerprint = accessFingerprint(access);
        this.store = bucketStore(storage, this.docker, rotation, owner);
    }

    /** A client of a bucket's registry, as berth's first user, trusting the rotation's CA. */
    client(registry: BucketRegistry): RegistryClient {
        return new RegistryClient(registry.address, this.access.users?.[0], this.access.tls?.ca);
    }

    /** This owner's bucket registries (and, for a state made before owners, the ones without an owner). */
    async list(): Promise<BucketRegistry[]> {
        const found = await this.docker.listContainers({ all: true, filters: { label: [`${ROTATION_LABEL.rotation}=${this.rotation}`] } });
        const own = (owner: string | undefined) => (owner ? owner === this.owner.id : this.owner.adoptsUnowned);
        return found
            .filter((c) => own(c.Labels[LABEL.owner]))
            .map((c) => ({
                bucket: c.Labels[ROTATION_LABEL.bucket],
                containerId: c.Id,
                readOnly: c.Labels[ROTATION_LABEL.mode] === "ro",
                address: `${this.node.address}:${c.Ports.find((p) => p.PrivatePort === REGISTRY_PORT && p.PublicPort)?.PublicPort ?? 0}`,
                running: c.State === "running",
                accessCurrent: c.Labels[ROTATION_LABEL.access] === this.fingerprint,
            }));
    }

    async ensureImage(progress: Progress): Promise<void> {
        try {
            await this.docker.getImage(this.image).inspect();
            return;
        } catch {
            // missing: build or pull below
        }
        if (this.image !== DEFAULT_REGISTRY_IMAGE) {
            progress(`pulling ${this.image} on ${this.node.name}`);
            await this.follow(await this.docker.pull(this.image), `pull of ${this.image} on ${this.node.name}`);
            return;
        }
        progress(`building ${this.image} on ${this.node.name} from this machine's docker-registry`);
        const context = registryBuildContext();
        try {
            await this.follow(
                await this.docker.buildImage({ context, src: ["."] }, { t: this.image }),
                `build of ${this.image} on ${this.node.name}`,
            );
        } finally {
            rmSync(context, { recursive: true, force: true });
        }
    }

    private follow(stream: NodeJS.ReadableStream, what: string): Promise<void> {
        return new Promise((resolve, reject) =>
            this.docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
                const failed = output?.find((o) => o.error);
                if (err || failed) reject(new Error(`${what} failed: ${err?.message ?? failed?.error}`));
                else resolve();
            }),
        );
    }

    /** Starts the bucket's registry (creating the bucket the first time) and waits until it answers. */
    async start(bucket: string, readOnly: boolean): Promise<BucketRegistry> {
        await this.store.create(bucket);
        const mode = readOnly ? "ro" : "rw";
        const container = await this.docker.createContainer({
            // The owner keeps one rotation name of two stacks apart; the access fingerprint lets the current
            // bucket's registry with new TLS or users start beside the old one.
            name: `${this.rotation}-${this.owner.id}-${bucket}-${mode}-${this.fingerprint.slice(0, 8)}`,
            Image: this.image,
            Labels: {
                [ROTATION_LABEL.rotation]: this.rotation,
                [ROTATION_LABEL.bucket]: bucket,
                [ROTATION_LABEL.mode]: mode,
                [ROTATION_LABEL.access]: this.fingerprint,
                ...ownerLabels(this.owner.stack, this.owner.id),
            },
            ExposedPorts: { [`${REGISTRY_PORT}/tcp`]: {} },
            // The S3 driver panics at start when AWS_CA_BUNDLE is set; never hand it one.
            Env: ["AWS_CA_BUNDLE="],
            HostConfig: {
                PortBindings: { [`${REGISTRY_PORT}/tcp`]: [{ HostPort: "" }] },
                Binds: this.store.binds(bucket),
                RestartPolicy: { Name: "unless-stopped" },
            },
        });
        try {
            await container.putArchive(
                filesArchive({
                    [CONFIG_PATH]: renderRegistryConfig(bucket, this.storage, readOnly),
                    [TLS_CERTIFICATE_PATH]: this.access.tls.certificate,
                    [TLS_KEY_PATH]: this.access.tls.key,
                    [HTPASSWD_PATH]: htpasswd(this.access.users),
                }),
                { path: "/" },
            );
            await container.start();
        } catch (e) {
            await container.remove({ force: true }).catch(() => undefined);
            throw e;
        }
        const registry = (await this.list()).find((r) => r.containerId === container.id)!;
        const client = this.client(registry);
        await waitUntil(
            async () => {
                await client.ping();
                return true;
            },
            { timeoutSeconds: 30, what: `registry of bucket ${bucket} at ${registry.address} to answer` },
        );
        return registry;
    }

    /** The configuration file the bucket's registry reads. */
    async config(containerId: string): Promise<string> {
        const archive = await this.docker.getContainer(containerId).getArchive({ path: CONFIG_PATH });
        const extract = tarStream.extract();
        let content = "";
        extract.on("entry", (_header, stream, next) => {
            stream.on("data", (d: Buffer) => (content += d.toString("utf8")));
            stream.on("end", next);
        });
        await new Promise((resolve, reject) => {
            extract.on("finish", resolve).on("error", reject);
            archive.pipe(extract);
        });
        return content;
    }

    async remove(containerId: string): Promise<void> {
        await this.docker.getContainer(containerId).remove({ force: true });
    }
}

/** A FROM-scratch image context: the registry binary and, unless it is static, the libraries it loads. */
function registryBuildContext(): string {
    const binary = execFileSync("sh", ["-c", "command -v docker-registry"], { encoding: "utf8" }).trim();
    if (!binary) throw new Error("docker-registry not found on this machine (Debian package docker-registry), and no registry image configured");
    const dir = mkdtempSync(path.join(tmpdir(), "berth-registry-image-"));
    const put = (source: string, target: string) => {
        mkdirSync(path.join(dir, "rootfs", path.dirname(target)), { recursive: true });
        copyFileSync(source, path.join(dir, "rootfs", target));
    };
    put(binary, "/bin/registry");
    if (!/statically linked|static-pie/.test(execFileSync("file", ["-L", binary], { encoding: "utf8" }))) {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and the loader "/lib64/ld-linux-x86-64.so.2 (0x...)"
        const libs = [...execFileSync("ldd", [binary], { encoding: "utf8" }).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]);
        for (const lib of libs) put(lib, lib);
    }
    writeFileSync(
        path.join(dir, "Dockerfile"),
        `FROM scratch\nCOPY rootfs/ /\nEXPOSE ${REGISTRY_PORT}\nENTRYPOINT ["/bin/registry"]\nCMD ["serve", "${CONFIG_PATH}"]\n`,
    );
    return dir;
}

/** Files by their path in the container, readable by its user only (the key, the hashes, an S3 secret key). */
function filesArchive(files: Record<string, string>): NodeJS.ReadableStream {
    const dir = mkdtempSync(path.join(tmpdir(), "berth-registry-config-"));
    for (const [target, content] of Object.entries(files)) {
        const file = path.join(dir, target);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, content, { mode: 0o600 });
    }
    const pack = tar.pack(dir);
    pack.on("end", () => rmSync(dir, { recursive: true, force: true }));
    return pack;
}
