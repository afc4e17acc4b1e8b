// An in-memory World (engine/world.ts), for unit tests that drive the executor and the engine: Docker
// hosts whose containers are plain records, load balancers whose health checks see those records, a
// registry, virtual time, its own cancellation, ports held outside Docker, nodes that stop answering,
// and a failure injectable at any call.
import { createHash } from "crypto";
import { ContainerLimits, ContainerSpec, HostClient, ownerOf, RunningContainer } from "../../provider/docker/host";
import { LABEL } from "../../provider/docker/labels";
import { withWorld, World } from "../../provider/engine/world";
import { Manifest } from "../../provider/registry/client";
import { ContainerState, HostInfo, NodeSpec, ServiceArgs, SlbBindingRef, SlbBindingState } from "../../provider/model";
import { ManifestSource } from "../../provider/surroundings";
import { Backend, BackendStatus, ListenerClash, SlbDriver } from "../../provider/slb/driver";
import { FatalError } from "../../provider/wait";
import { FakeClock } from "./fakeClock";

interface FakeContainer extends ContainerState {
    labels: Record<string, string>;
    limits: ContainerLimits;
    image: string;
}

/** A failure to inject: the call `<node or pool>.<method>` matching `when` throws `error` (`times` times; default once). */
export interface Fault {
    call: string;
    error: string;
    times?: number;
    when?: (args: unknown[]) => boolean;
}

export class FakeWorld implements World {
    readonly clock = new FakeClock();
    /** The process running the operations: what cancel aborts, replaced by revive. */
    private process = new AbortController();
    readonly hosts = new Map<string, FakeHost>();
    readonly slbs = new Map<string, FakeSlb>();
    /** Every call made, as `<node or pool>.<method>`, in order. */
    readonly calls: string[] = [];
    readonly faults: Fault[] = [];
    /** From this call number on, every call fails (a killed `pulumi up`), until `revive`. */
    private killedAt = Infinity;
    /** Sessions in flight each backend reports (drain). */
    sessions: (backend: string) => number = () => 0;
    /** Runs before each call, with its arguments: a test changes or looks at the world there (a node dies after a given call). */
    onCall: (name: string, args: unknown[]) => void = () => undefined;

    constructor(nodeCount: number) {
        for (let i = 1; i <= nodeCount; i++) this.hosts.set(`h${i}`, new FakeHost(this, `h${i}`, `10.0.0.${i}`));
    }

    nodeSpecs(): NodeSpec[] {
        return [...this.hosts.values()].map((h) => ({
            name: h.node,
            docker: `unix:///fake/${h.node}.sock`,
            address: h.address,
            zone: `zone-${h.node}`,
        }));
    }

    binding(name: string): SlbBindingState {
        return {
            name,
            driver: "haproxy",
            haproxy: { adminSocket: `/fake/${name}.sock`, configPath: `/fake/${name}.cfg` },
            listen: { port: 80 },
            url: `http://fake/${name}`,
        };
    }

    /** A service of three replicas behind binding pub, as the unit tests deploy it; `extra` overrides. */
    serviceArgs(extra: Partial<ServiceArgs> = {}): ServiceArgs {
        return {
            name: "web",
            cluster: { name: "c", nodes: this.nodeSpecs() },
            image: "reg/web:v1",
            replicas: 3,
            ports: [{ containerPort: 80 }],
            healthCheck: { httpPath: "/health" },
            stopGracePeriodSeconds: 1,
            bindings: [{ slb: this.binding("pub") }],
            release: { healthyTimeoutSeconds: 2, lbHealthyTimeoutSeconds: 2, drainTimeoutSeconds: 1 },
            ...extra,
        };
    }

    slb(pool: string): FakeSlb {
        if (!this.slbs.has(pool)) this.slbs.set(pool, new FakeSlb(this, pool));
        return this.slbs.get(pool)!;
    }

    inject(fault: Fault): void {
        this.faults.push({ times: 1, ...fault });
    }

    /** Every call from the `n`-th on (counting from 1) fails, as if the process running the release died there. */
    killAt(n: number): void {
        this.killedAt = n;
    }

    /** A new process runs what follows (the next `pulumi up`): calls answer again, nothing is cancelled. */
    revive(): void {
        this.killedAt = Infinity;
        this.process = new AbortController();
    }

    /** Records a call and throws what was injected for it. */
    call(name: string, args: unknown[]): void {
        this.calls.push(name);
        // Fatal: a dead process waits on nothing and undoes nothing.
        if (this.calls.length >= this.killedAt) throw new Killed(`killed before ${name}`);
        this.onCall(name, args);
        const fault = this.faults.find((f) => f.call === name && (f.times ?? 1) > 0 && (!f.when || f.when(args)));
        if (fault) {
            fault.times = (fault.times ?? 1) - 1;
            throw new Error(fault.error);
        }
    }

    /** All containers on all hosts (the world's truth, whatever answers). */
    containers(): FakeContainer[] {
        return [...this.hosts.values()].flatMap((h) => [...h.containers.values()]);
    }

    /** A container that serves at `address:port`: what a load balancer's health check would see. */
    serves(address: string, port: number): boolean {
        const host = [...this.hosts.values()].find((h) => h.address === address);
        return (
            !!host &&
            [...host.containers.values()].some((c) => c.state === "running" && c.health !== "unhealthy" && Object.values(c.hostPorts).includes(port))
        );
    }

    /** Runs `fn` (an operation) in this world. */
    run<T>(fn: () => T): T {
        return withWorld(this, fn);
    }

    get cancellation(): AbortSignal {
        return this.process.signal;
    }

    /** What Ctrl-C does: the operations running in this world stop at their next safe point, until revive. */
    cancel(): void {
        this.process.abort();
    }

    hostsFor(nodes: NodeSpec[]): Map<string, HostClient> {
        return new Map(
            nodes.map((n) => {
                const host = this.hosts.get(n.name);
                if (!host) throw new Error(`no node ${n.name} in the fake world`);
                return [n.name, host];
            }),
        );
    }

    driverFor(binding: SlbBindingRef): SlbDriver {
        return this.slb(binding.name);
    }

    /** The world's registry: every tag has a digest of its own (the engine asks it before any node pulls). */
    registryFor(server: string): ManifestSource {
        return {
            manifest: async (repository: string, tag: string): Promise<Manifest> => {
                this.call(`${server}.manifest`, [repository, tag]);
                return {
                    digest: `sha256:${createHash("sha256").update(`${repository}:${tag}`).digest("hex")}`,
                    mediaType: "application/vnd.oci.image.manifest.v1+json",
                    blobs: [],
                    children: [],
                };
            },
        };
    }
}

export class Killed extends FatalError {}

let seq = 0;

export class FakeHost implements HostClient {
    readonly containers = new Map<string, FakeContainer>();
    /** Host ports held by processes outside Docker. */
    readonly heldOutside = new Set<number>();
    /** The engine does not answer (its containers still run). */
    down = false;
    private nextPort = 32768;

    constructor(
        private readonly world: FakeWorld,
        readonly node: string,
        readonly address: string,
    ) {}

    private enter(method: string, ...args: unknown[]): void {
        this.world.call(`${this.node}.${method}`, args);
        if (this.down) throw new Error(`connect ECONNREFUSED /fake/${this.node}.sock`);
    }

    async ping(): Promise<void> {
        this.enter("ping");
    }
    async info(): Promise<HostInfo> {
        this.enter("info");
        return { engineVersion: "27.0.0", apiVersion: "1.46", cpus: 2, memoryBytes: 2 ** 31, storageDriver: "overlay2", backingFilesystem: "extfs" };
    }
    async list(labels: Record<string, string>): Promise<ContainerState[]> {
        this.enter("list", labels);
        return [...this.containers.values()].filter((c) => Object.entries(labels).every(([k, v]) => c.labels[k] === v)).map(stateOf);
    }
    async running(): Promise<RunningContainer[]> {
        this.enter("running");
        return [...this.containers.values()]
            .filter((c) => c.state === "running")
            .map((c) => ({ id: c.id, service: c.labels[LABEL.service], ...ownerOf(c.labels), ports: Object.values(c.hostPorts) }));
    }
    async ensureImage(ref: string): Promise<void> {
        this.enter("ensureImage", ref);
    }
    async localDigest(ref: string): Promise<string | undefined> {
        this.enter("localDigest", ref);
        return `${ref.replace(/:[\w][\w.-]*$/, "")}@sha256:${createHash("sha256").update(ref).digest("hex")}`;
    }
    async run(spec: ContainerSpec): Promise<ContainerState> {
        this.enter("run", spec);
        const hostPorts: Record<string, number> = {};
        for (const p of spec.ports) {
            if (p.hostPort && this.heldOutside.has(p.hostPort)) {
                throw new Error(
                    `driver failed programming external connectivity on endpoint ${spec.name}: Error starting userland proxy: listen tcp4 0.0.0.0:${p.hostPort}: bind: address already in use`,
                );
            }
            if (p.hostPort && [...this.containers.values()].some((c) => c.state === "running" && Object.values(c.hostPorts).includes(p.hostPort))) {
                throw new Error(
                    `driver failed programming external connectivity on endpoint ${spec.name}: Bind for 0.0.0.0:${p.hostPort} failed: port is already allocated`,
                );
            }
            hostPorts[String(p.containerPort)] = p.hostPort || this.nextPort++;
        }
        // An image named *unhealthy* fails its checks; one named *starting* never gets through its start period.
        const health = spec.image.includes("unhealthy")
            ? "unhealthy"
            : spec.image.includes("starting")
              ? "starting"
              : spec.healthcheck
                ? "healthy"
                : "none";
        const c: FakeContainer = {
            id: `c${++seq}`,
            name: spec.name,
            node: this.node,
            slot: Number(spec.labels[LABEL.slot]),
            revision: spec.labels[LABEL.revision],
            state: "running",
            health,
            hostPorts,
            labels: spec.labels,
            limits: spec.limits,
            image: spec.image,
        };
        this.containers.set(c.id, c);
        return stateOf(c);
    }
    async inspect(id: string) {
        this.enter("inspect", id);
        const c = this.containers.get(id);
        if (!c) throw Object.assign(new Error(`No such container: ${id}`), { statusCode: 404 });
        return {
            ...stateOf(c),
            limits: c.limits,
            lastHealthOutput: c.health === "unhealthy" ? "wget: server returned error: HTTP/1.1 404 Not Found" : undefined,
        };
    }
    async resize(id: string, limits: ContainerLimits): Promise<void> {
        this.enter("resize", id, limits);
        this.containers.get(id)!.limits = limits;
    }
    async stop(id: string): Promise<void> {
        this.enter("stop", id);
        const c = this.containers.get(id);
        if (c) c.state = "exited";
    }
    async remove(id: string): Promise<void> {
        this.enter("remove", id);
        this.containers.delete(id);
    }
}

const stateOf = (c: FakeContainer): ContainerState => ({
    id: c.id,
    name: c.name,
    node: c.node,
    slot: c.slot,
    revision: c.revision,
    state: c.state,
    health: c.health,
    hostPorts: { ...c.hostPorts },
    ...ownerOf(c.labels),
});

export class FakeSlb implements SlbDriver {
    /** Like HAProxy: sessions in flight are reported, so drains wait for them; false: like Aliyun CLB, drained by time. */
    countsInFlight = true;
    readonly servers = new Map<string, Backend & { weight: number }>();
    /** Health reported for a server regardless of what serves (a mass failure injected). */
    override?: (b: BackendStatus) => BackendStatus;

    constructor(
        private readonly world: FakeWorld,
        readonly pool: string,
    ) {}

    private enter(method: string, ...args: unknown[]): void {
        this.world.call(`${this.pool}.${method}`, args);
    }

    async ping(): Promise<void> {
        this.enter("ping");
    }
    async ensureListener(): Promise<void> {
        this.enter("ensureListener");
    }
    async hasListener(): Promise<boolean> {
        this.enter("hasListener");
        return true;
    }
    async listenerClash(): Promise<ListenerClash | undefined> {
        this.enter("listenerClash");
        return undefined;
    }
    async removeListener(): Promise<string | undefined> {
        this.enter("removeListener");
        return undefined;
    }
    async backends(): Promise<BackendStatus[]> {
        this.enter("backends");
        return [...this.servers.values()].map((s) => {
            const up = this.world.serves(s.address, s.port);
            const status: BackendStatus = {
                ...s,
                status: up ? "UP" : "DOWN",
                checkStatus: up ? "L7OK" : "L4CON",
                sessions: this.world.sessions(s.name),
                queued: 0,
            };
            return this.override ? this.override(status) : status;
        });
    }
    async addBackends(_pool: string, backends: Backend[]): Promise<void> {
        this.enter("addBackends", backends);
        for (const b of backends) if (!this.servers.has(b.name)) this.servers.set(b.name, { ...b, weight: 0 });
    }
    async setWeights(_pool: string, weights: Array<{ name: string; weight: number }>): Promise<void> {
        this.enter("setWeights", weights);
        for (const w of weights) {
            const s = this.servers.get(w.name);
            if (!s) throw new Error(`HAProxy refused 'set weight ${this.pool}/${w.name}': No such server.`);
            s.weight = w.weight;
        }
    }
    async removeBackends(_pool: string, names: string[]): Promise<void> {
        this.enter("removeBackends", names);
        names.forEach((n) => this.servers.delete(n));
    }
}
