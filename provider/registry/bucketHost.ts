// The node that runs a rotation's bucket registries, reached through its Docker API like any other:
// one registry container per bucket (read-write for the current bucket, read-only for retained
// ones), each bucket a Docker volume or an S3-compatible bucket.
import Docker from "dockerode";
import { execFileSync } from "child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import * as tar from "tar-fs";
import * as tarStream from "tar-stream";
import { NodeConnection } from "../docker/connection";
import { NodeSpec } from "../model";
import { Progress } from "../progress";
import { waitUntil } from "../wait";
import { BucketStorage, CONFIG_PATH, DATA_DIR, REGISTRY_PORT, renderRegistryConfig } from "./config";

/** Built on the node from Debian's docker-registry binary when no other image is configured. */
export const DEFAULT_REGISTRY_IMAGE = "berth-registry:debian";

export const ROTATION_LABEL = { rotation: "berth.rotation", bucket: "berth.bucket", mode: "berth.bucket-mode" } as const;

export interface BucketRegistry {
    bucket: string;
    containerId: string;
    readOnly: boolean;
    /** host:port where this bucket's registry answers. */
    address: string;
    running: boolean;
}

export class BucketHost {
    private readonly docker: Docker;
    constructor(
        readonly node: NodeSpec,
        readonly rotation: string,
        readonly image: string,
    ) {
        this.docker = new NodeConnection(node).docker(60_000);
    }

    async list(): Promise<BucketRegistry[]> {
        const found = await this.docker.listContainers({ all: true, filters: { label: [`${ROTATION_LABEL.rotation}=${this.rotation}`] } });
        return found.map((c) => ({
            bucket: c.Labels[ROTATION_LABEL.bucket],
            containerId: c.Id,
            readOnly: c.Labels[ROTATION_LABEL.mode] === "ro",
            address: `${this.node.address}:${c.Ports.find((p) => p.PrivatePort === REGISTRY_PORT && p.PublicPort)?.PublicPort ?? 0}`,
            running: c.State === "running",
        }));
    }

    /** Buckets kept in volumes on this node, with or without a registry running on them. */
    async volumeBuckets(): Promise<string[]> {
        const { Volumes } = await this.docker.listVolumes({ filters: { label: [`${ROTATION_LABEL.rotation}=${this.rotation}`] } });
        return (Volumes ?? []).map((v) => v.Labels[ROTATION_LABEL.bucket]);
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
            await this.follow(await this.docker.buildImage({ context, src: ["."] }, { t: this.image }), `build of ${this.image} on ${this.node.name}`);
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

    /** Starts the bucket's registry (creating the volume the first time) and waits until it answers. */
    async start(bucket: string, storage: BucketStorage, readOnly: boolean): Promise<BucketRegistry> {
        if (storage.kind === "volume") {
            await this.docker.createVolume({ Name: bucket, Labels: { [ROTATION_LABEL.rotation]: this.rotation, [ROTATION_LABEL.bucket]: bucket } });
        }
        const container = await this.docker.createContainer({
            name: `${this.rotation}-${bucket}-${readOnly ? "ro" : "rw"}`,
            Image: this.image,
            Labels: { [ROTATION_LABEL.rotation]: this.rotation, [ROTATION_LABEL.bucket]: bucket, [ROTATION_LABEL.mode]: readOnly ? "ro" : "rw" },
            ExposedPorts: { [`${REGISTRY_PORT}/tcp`]: {} },
            // The S3 driver panics at start when AWS_CA_BUNDLE is set; never hand it one.
            Env: ["AWS_CA_BUNDLE="],
            HostConfig: {
                PortBindings: { [`${REGISTRY_PORT}/tcp`]: [{ HostPort: "" }] },
                Binds: storage.kind === "volume" ? [`${bucket}:${DATA_DIR}`] : [],
                RestartPolicy: { Name: "unless-stopped" },
            },
        });
        try {
            await container.putArchive(configArchive(renderRegistryConfig(bucket, storage, readOnly)), { path: "/" });
            await container.start();
        } catch (e) {
            await container.remove({ force: true }).catch(() => undefined);
            throw e;
        }
        const registry = (await this.list()).find((r) => r.containerId === container.id)!;
        await waitUntil(
            async () => {
                const res = await fetch(`http://${registry.address}/v2/`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
                return res?.ok ? true : undefined;
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

    /** When each tag was last pushed: the mtime of its link file in a volume bucket (the registry API does not say). */
    async pushTimes(containerId: string, repository: string, tags: string[]): Promise<Map<string, number>> {
        const times = new Map<string, number>();
        for (const tag of tags) {
            const link = `${DATA_DIR}/docker/registry/v2/repositories/${repository}/_manifests/tags/${tag}/current/link`;
            try {
                const stat = await (this.docker.getContainer(containerId) as any).infoArchive({ path: link });
                times.set(tag, Date.parse(stat?.mtime ?? "") || 0);
            } catch {
                times.set(tag, 0);
            }
        }
        return times;
    }

    async remove(containerId: string): Promise<void> {
        await this.docker.getContainer(containerId).remove({ force: true });
    }

    async removeVolume(bucket: string): Promise<void> {
        await this.docker.getVolume(bucket).remove();
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

function configArchive(config: string): NodeJS.ReadableStream {
    const dir = mkdtempSync(path.join(tmpdir(), "berth-registry-config-"));
    const file = path.join(dir, CONFIG_PATH);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, config, { mode: 0o600 });
    const pack = tar.pack(dir);
    pack.on("end", () => rmSync(dir, { recursive: true, force: true }));
    return pack;
}
