// The narrow interface to one Docker host, and its dockerode implementation.
import Docker from "dockerode";
import { ContainerState, HostInfo, NodeSpec, RegistryCredentials } from "../model";
import { credentialsFor, parseReference } from "../registry/reference";
import { LABEL } from "./labels";
import { DockerHealthcheck } from "./health";
import { NodeConnection } from "./connection";

export interface ContainerSpec {
    name: string;
    image: string;
    env: Record<string, string>;
    command?: string[];
    labels: Record<string, string>;
    /** container port -> fixed host port, or 0 for one Docker assigns */
    ports: Array<{ containerPort: number; hostPort: number }>;
    healthcheck?: DockerHealthcheck;
    limits: ContainerLimits;
    diskQuotaMb?: number;
    stopGracePeriodSeconds: number;
}

/** What `docker update` can change on a running container without a restart. */
export interface ContainerLimits {
    nanoCpus?: number;
    memoryBytes?: number;
    restartPolicy: { Name: string; MaximumRetryCount?: number };
}

/** A running container as placement sees it: the berth service and owner it belongs to (if any) and the host ports it holds. */
export interface RunningContainer {
    id: string;
    service?: string;
    stack?: string;
    owner?: string;
    ports: number[];
}

export interface HostClient {
    readonly node: string;
    /** Fails within a few seconds when the engine does not answer. */
    ping(): Promise<void>;
    info(): Promise<HostInfo>;
    /** Containers carrying all the given labels, running or not. */
    list(labels: Record<string, string>): Promise<ContainerState[]>;
    running(): Promise<RunningContainer[]>;
    ensureImage(ref: string, onProgress?: (line: string) => void): Promise<void>;
    /** Image reference with digest (repo@sha256:...) of a local image, if the host has it. */
    localDigest(ref: string): Promise<string | undefined>;
    run(spec: ContainerSpec): Promise<ContainerState>;
    inspect(id: string): Promise<ContainerState & { lastHealthOutput?: string; limits: ContainerLimits }>;
    /** Changes limits in place (docker update): no restart. */
    resize(id: string, limits: ContainerLimits): Promise<void>;
    stop(id: string, graceSeconds: number): Promise<void>;
    remove(id: string): Promise<void>;
}

const REQUEST_TIMEOUT_MS = 15000;
const PING_TIMEOUT_MS = 5000;

/** Docker's names for the limits; 0 lifts a limit, and swap follows memory so raising memory never trips on it. */
function dockerLimits(l: ContainerLimits) {
    return {
        NanoCpus: l.nanoCpus ?? 0,
        Memory: l.memoryBytes ?? 0,
        MemorySwap: l.memoryBytes ? -1 : 0,
        RestartPolicy: l.restartPolicy,
    };
}

function parseHealth(status: string): string {
    if (status.includes("(healthy)")) return "healthy";
    if (status.includes("(unhealthy)")) return "unhealthy";
    if (status.includes("(health: starting)")) return "starting";
    return "none";
}

/** The owner labels, where the container has them (the state cannot hold undefined). */
export function ownerOf(labels: Record<string, string> | undefined): Pick<ContainerState, "stack" | "owner"> {
    const stack = labels?.[LABEL.stack];
    const owner = labels?.[LABEL.owner];
    return { ...(stack ? { stack } : {}), ...(owner ? { owner } : {}) };
}

function fromListing(node: string, c: Docker.ContainerInfo): ContainerState {
    const hostPorts: Record<string, number> = {};
    for (const p of c.Ports ?? []) if (p.PublicPort) hostPorts[String(p.PrivatePort)] = p.PublicPort;
    return {
        id: c.Id,
        name: (c.Names?.[0] ?? c.Id).replace(/^\//, ""),
        node,
        slot: Number(c.Labels?.[LABEL.slot] ?? -1),
        revision: c.Labels?.[LABEL.revision] ?? "",
        state: c.State,
        health: parseHealth(c.Status ?? ""),
        hostPorts,
        ...ownerOf(c.Labels),
    };
}

export class DockerHost implements HostClient {
    private readonly connection: NodeConnection;
    private readonly docker: Docker;
    /** `registries`: credentials the pulls of this host use, chosen by the image's registry. */
    constructor(
        readonly spec: NodeSpec,
        private readonly registries?: RegistryCredentials[],
    ) {
        this.connection = new NodeConnection(spec);
        this.docker = this.connection.docker(REQUEST_TIMEOUT_MS);
    }
    get node(): string {
        return this.spec.name;
    }

    /** Errors name the node field at fault (see faults.ts). */
    async ping(): Promise<void> {
        await this.connection
            .docker(PING_TIMEOUT_MS)
            .ping()
            .catch((e) => Promise.reject(this.connection.explain(e)));
    }

    async info(): Promise<HostInfo> {
        const [info, version] = await Promise.all([this.docker.info(), this.docker.version()]).catch((e) =>
            Promise.reject(this.connection.explain(e)),
        );
        const backing = (info.DriverStatus as string[][] | undefined)?.find(([k]) => k === "Backing Filesystem")?.[1] ?? "";
        return {
            engineVersion: version.Version,
            apiVersion: version.ApiVersion,
            cpus: info.NCPU,
            memoryBytes: info.MemTotal,
            storageDriver: info.Driver,
            backingFilesystem: backing,
        };
    }

    async list(labels: Record<string, string>): Promise<ContainerState[]> {
        const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
        const found = await this.docker.listContainers({ all: true, filters: { label } });
        return found.map((c) => fromListing(this.node, c));
    }

    async running(): Promise<RunningContainer[]> {
        const running = await this.docker.listContainers({ all: false });
        return running.map((c) => ({
            id: c.Id,
            service: c.Labels?.[LABEL.service],
            ...ownerOf(c.Labels),
            ports: (c.Ports ?? []).filter((p) => p.PublicPort).map((p) => p.PublicPort),
        }));
    }

    async localDigest(ref: string): Promise<string | undefined> {
        try {
            const image = await this.docker.getImage(ref).inspect();
            // One image may carry digests from several registries: prefer the one ref names.
            const name = parseReference(ref).name;
            return image.RepoDigests?.find((d) => d.startsWith(name + "@")) ?? image.RepoDigests?.[0];
        } catch {
            return undefined;
        }
    }

    async ensureImage(ref: string, onProgress?: (line: string) => void): Promise<void> {
        try {
            await this.docker.getImage(ref).inspect();
            return;
        } catch {
            // not present: pull below
        }
        onProgress?.(`pulling ${ref} on ${this.node}`);
        const server = parseReference(ref).server;
        const creds = credentialsFor(server, this.registries);
        const authconfig = creds && { username: creds.username, password: creds.password, serveraddress: server };
        let stream: NodeJS.ReadableStream;
        try {
            stream = await this.docker.pull(ref, authconfig ? { authconfig } : {});
        } catch (e: any) {
            throw new Error(`pull of ${ref} on ${this.node} failed: ${String(e?.json?.message ?? e?.message ?? e).trim()}`);
        }
        await new Promise<void>((resolve, reject) =>
            this.docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
                const failed = output?.find((o) => o.error);
                if (err || failed) reject(new Error(`pull of ${ref} on ${this.node} failed: ${err?.message ?? failed?.error}`));
                else resolve();
            }),
        );
    }

    async run(spec: ContainerSpec): Promise<ContainerState> {
        const exposed: Record<string, object> = {};
        const bindings: Record<string, Array<{ HostPort: string }>> = {};
        for (const p of spec.ports) {
            exposed[`${p.containerPort}/tcp`] = {};
            bindings[`${p.containerPort}/tcp`] = [{ HostPort: p.hostPort ? String(p.hostPort) : "" }];
        }
        const container = await this.docker.createContainer({
            name: spec.name,
            Image: spec.image,
            Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
            Cmd: spec.command,
            Labels: spec.labels,
            ExposedPorts: exposed,
            Healthcheck: spec.healthcheck,
            StopTimeout: spec.stopGracePeriodSeconds,
            HostConfig: {
                PortBindings: bindings,
                ...dockerLimits(spec.limits),
                StorageOpt: spec.diskQuotaMb ? { size: `${spec.diskQuotaMb}M` } : undefined,
            },
        });
        try {
            await container.start();
        } catch (e) {
            // A container that cannot start (port held, bad command) must not linger as "created".
            await container.remove({ force: true }).catch(() => undefined);
            throw e;
        }
        return this.inspect(container.id);
    }

    async resize(id: string, limits: ContainerLimits): Promise<void> {
        await this.docker.getContainer(id).update(dockerLimits(limits));
    }

    async inspect(id: string): Promise<ContainerState & { lastHealthOutput?: string; limits: ContainerLimits }> {
        const c = await this.docker.getContainer(id).inspect();
        const hostPorts: Record<string, number> = {};
        for (const [key, value] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
            const published = (value as Array<{ HostPort: string }> | null)?.[0]?.HostPort;
            if (published) hostPorts[key.split("/")[0]] = Number(published);
        }
        const log = c.State.Health?.Log ?? [];
        return {
            id: c.Id,
            name: c.Name.replace(/^\//, ""),
            node: this.node,
            slot: Number(c.Config.Labels?.[LABEL.slot] ?? -1),
            revision: c.Config.Labels?.[LABEL.revision] ?? "",
            state: c.State.Status,
            health: c.State.Health?.Status ?? "none",
            hostPorts,
            ...ownerOf(c.Config.Labels),
            lastHealthOutput: log.length ? log[log.length - 1].Output.trim() : undefined,
            limits: {
                nanoCpus: c.HostConfig.NanoCpus || undefined,
                memoryBytes: c.HostConfig.Memory || undefined,
                restartPolicy: {
                    Name: c.HostConfig.RestartPolicy?.Name ?? "no",
                    MaximumRetryCount: c.HostConfig.RestartPolicy?.MaximumRetryCount || undefined,
                },
            },
        };
    }

    async stop(id: string, graceSeconds: number): Promise<void> {
        try {
            // Docker sends SIGTERM, waits `t` seconds, then SIGKILL: the request lasts that long.
            const patient = this.connection.docker(REQUEST_TIMEOUT_MS + graceSeconds * 1000);
            await patient.getContainer(id).stop({ t: graceSeconds });
        } catch (e: any) {
            if (e?.statusCode !== 304 && e?.statusCode !== 404) throw e;
        }
    }

    async remove(id: string): Promise<void> {
        try {
            await this.docker.getContainer(id).remove({ force: true });
        } catch (e: any) {
            if (e?.statusCode !== 404) throw e;
        }
    }
}
