// The domain's types, shared by the pure planners, the engines and the resource classes.
// Inputs arrive from Pulumi as plain JSON, so everything here is plain data.

/** How to reach a node's Docker engine. */
export interface NodeSpec {
    /** Node name, unique in the cluster; containers record it. */
    name: string;
    /** unix:///run/docker.sock, tcp://host:2376 (with tls), or ssh://user@host */
    docker: string;
    /** Address load balancers use to reach the node's published ports. */
    address: string;
    /** Failure zone (rack, room, availability zone) for spreading replicas. */
    zone?: string;
    /** Labels that placement constraints match (`node.labels.<key>`). */
    labels?: Record<string, string>;
    /** false cordons the node: nothing new lands there and the next release moves containers off it. */
    schedulable?: boolean;
    /** tcp:// nodes with mutual TLS: PEM CA (of the node's server certificate), client certificate and its key (a secret). */
    tls?: NodeTls;
    /** ssh:// nodes: a private key (a secret) and the node's host public key, which is checked (never trusted on first use). */
    ssh?: NodeSsh;
    /** The node's identity at a cloud load balancer (Aliyun CLB): its ECS instance or its ENI; one of the two. */
    cloud?: NodeCloud;
}

/** A node's identity at a cloud load balancer. */
export interface NodeCloud {
    /** ECS instance id (i-...): the CLB sends traffic to the instance's primary address. */
    instanceId?: string;
    /** Elastic network interface id (eni-...): for a node whose address is on a secondary ENI. */
    eniId?: string;
}

/** Mutual TLS to a tcp:// node's Docker engine (PEM). */
export interface NodeTls {
    /** CA certificate that signed the engine's server certificate. */
    ca: string;
    /** Client certificate the engine trusts. */
    cert: string;
    /** Client private key: a Pulumi secret. */
    key: string;
}

/** SSH to an ssh:// node; the remote user runs `docker system dial-stdio`. */
export interface NodeSsh {
    /** Private key (OpenSSH or PEM): a Pulumi secret. */
    privateKey: string;
    /** The node's host public key (`ssh-ed25519 AAAA...`); any other host key is refused. */
    hostPublicKey: string;
    /** Remote user; defaults to the user in the docker URL. */
    user?: string;
    /** SSH port; defaults to the port in the docker URL, else 22. */
    port?: number;
}

/** What a Docker engine says about its host. */
export interface HostInfo {
    /** Docker engine version. */
    engineVersion: string;
    /** Docker API version. */
    apiVersion: string;
    /** CPUs of the host. */
    cpus: number;
    /** Memory of the host in bytes. */
    memoryBytes: number;
    /** Storage driver and its backing filesystem: container disk quotas need overlay2 on xfs (pquota), btrfs or zfs. */
    storageDriver: string;
    /** Filesystem under the storage driver (xfs, extfs, ...). */
    backingFilesystem: string;
}

export interface NodeInventory extends HostInfo {
    /** Node name. */
    name: string;
    /** Whether the node's Docker engine answered. */
    reachable: boolean;
    /** Why it did not answer. */
    error?: string;
}

/** Credentials for one registry; the password is a Pulumi secret and never leaves the pull. */
export interface RegistryCredentials {
    /** Registry host[:port] as written in image references (docker.io for Docker Hub). */
    server: string;
    /** User name at the registry. */
    username: string;
    /** Password or token: a Pulumi secret. */
    password: string;
    /** PEM certificate of the CA that signed the registry's certificate, when this machine's CAs do not include it (berth's manifest lookups; the nodes trust it themselves). */
    ca?: string;
}

export interface ClusterArgs {
    /** Cluster name, written on every container's labels. */
    name: string;
    /** The Docker hosts. */
    nodes: NodeSpec[];
    /** Credentials every service on the cluster pulls with. */
    registries?: RegistryCredentials[];
}

export interface PortSpec {
    /** Port the container listens on. */
    containerPort: number;
    /** Fixed host port; omitted: Docker assigns one per container. */
    hostPort?: number;
}

export interface HealthCheckSpec {
    /** HTTP path checked inside the container with wget (busybox, alpine); images without wget use `command`. */
    httpPath?: string;
    /** Container port for httpPath; defaults to the first port. */
    port?: number;
    /** Command run inside the container; exit 0 means healthy. */
    command?: string[];
    /** Seconds between checks. Default 2. */
    intervalSeconds?: number;
    /** Seconds a check may take. Default 2. */
    timeoutSeconds?: number;
    /** Failed checks in a row before the container is unhealthy. Default 3. */
    retries?: number;
    /** Seconds after start during which failures do not count. Default 0. */
    startPeriodSeconds?: number;
}

/** blueGreen: new containers serve before old ones go. stopFirst: old ones go first (singletons that must never run twice). */
export type ReleaseStrategy = "blueGreen" | "stopFirst";

export interface ReleaseSpec {
    /** How long new containers may take to be healthy in Docker. */
    healthyTimeoutSeconds?: number;
    /** How long new backends may take to be healthy in every load balancer. */
    lbHealthyTimeoutSeconds?: number;
    /** How long old backends may take to finish in-flight requests. */
    drainTimeoutSeconds?: number;
    /** Fewest healthy backends that must serve during a batched release; default replicas - 1. */
    minAvailable?: number;
    /** blueGreen (default): new containers serve before old ones go. stopFirst: old go first (singletons that must never run twice). */
    strategy?: ReleaseStrategy;
    /** Most new containers one batch starts; default all that fit. */
    batchSize?: number;
    /** Pause between batches, to watch a canary batch. */
    pauseSeconds?: number;
    /**
     * Share (0..1) of running containers failing health at once above which berth replaces none of them; default 0.5.
     * @fractional
     */
    circuitBreakerShare?: number;
}

/** Docker restart policy name. */
export type RestartPolicyName = "no" | "on-failure" | "always" | "unless-stopped";

export interface RestartPolicySpec {
    /** Docker restart policy: no, on-failure, always or unless-stopped (default). */
    name: RestartPolicyName;
    /** With on-failure: restarts before Docker gives up. */
    maxAttempts?: number;
}

/** hard: a release (and its preview) fails when the zones cannot be spanned; soft: best effort. */
export type ZoneSpreadMode = "hard" | "soft";

export interface PlacementSpec {
    /** Spread over at least `count` zones; hard: the release fails (and preview) when impossible; soft: best effort. */
    zones?: {
        /** Fewest zones the containers must span. */
        count: number;
        /** hard (default): fail when impossible; soft: best effort. */
        mode?: ZoneSpreadMode;
    };
    /** `node.name|node.zone|node.labels.<key> ==|!= <value>`; every one must hold. */
    constraints?: string[];
    /** `service == <name>` (run beside it) or `service != <name>` (never beside it), judged from what runs. */
    affinity?: string[];
    /** Most containers of this service on one node. */
    maxPerNode?: number;
}

/** Load balancer kind: haproxy (local or over SSH) or aliyun (Aliyun Classic Load Balancer). */
export type LoadBalancerDriver = "haproxy" | "aliyun";

/** tcp: a listener forwards connections; http: it forwards requests. */
export type ListenerProtocol = "tcp" | "http";

/**
 * What a Service needs of a binding: the load balancer, the pool, and how soon it calls a backend
 * healthy. Not the listener's own settings, so they add no lines to every service's diff. The
 * SlbBinding's `ref` output is exactly this; its `state` carries these and more.
 */
export interface SlbBindingRef {
    /** Listener and backend pool name on the load balancer. */
    name: string;
    /**
     * Load balancer kind: haproxy (local) or aliyun (Classic Load Balancer), as the binding's `ref` gives it. A
     * string, not the LoadBalancerDriver enum: Pulumi YAML does not pass an enum output on to an enum input.
     */
    driver: string;
    /** The HAProxy to configure (driver haproxy). */
    haproxy?: HaproxyEndpoint;
    /** The Aliyun CLB instance (driver aliyun). */
    aliyun?: AliyunEndpoint;
    /** The pace of the load balancer's health check: how soon a new backend is called healthy. */
    healthCheck?: {
        /** Milliseconds between checks. Default 1000. */
        intervalMs?: number;
        /** Passed checks before a backend is UP. Default 2. */
        rise?: number;
    };
}

/** What a Service receives for each load balancer binding it serves. */
export interface ServiceBinding {
    /** The SlbBinding's `ref` output (or its `state`: the Service keeps only what it needs of it). */
    slb: SlbBindingRef;
    /** HAProxy weight 1..256 of each container in this binding. Default 100. */
    weight?: number;
    /** Container port the binding sends traffic to; defaults to the first port. */
    containerPort?: number;
}

/** replicated: a set number of containers; global: one on every eligible node. */
export type ServiceMode = "replicated" | "global";

export interface ServiceArgs {
    /** Service name, used in container names and labels. */
    name: string;
    /** The cluster's outputs (TypeScript: `cluster.ref`; the plugin's Cluster output `ref`). */
    cluster: {
        /** Cluster name. */
        name: string;
        /** The cluster's nodes. */
        nodes: NodeSpec[];
    };
    /** Image reference; a tag is resolved to a digest at deploy and every node runs that digest. */
    image: string;
    /** Containers to run (mode replicated). Default 1. */
    replicas?: number;
    /** replicated (default): `replicas` containers; global: one on every eligible node. */
    mode?: ServiceMode;
    /** Where containers may run: zones, constraints, affinity, most per node. */
    placement?: PlacementSpec;
    /** Container ports to publish on the nodes. */
    ports?: PortSpec[];
    /** Environment variables of the containers. */
    env?: Record<string, string>;
    /** Command (and arguments) instead of the image's. */
    command?: string[];
    /** Container health check; releases wait for it. */
    healthCheck?: HealthCheckSpec;
    /**
     * CPU and memory limits: changed in place (docker update), no restart and no release.
     * @fractional
     */
    cpus?: number;
    /** Memory limit in MiB; changed in place like cpus. */
    memoryMb?: number;
    /** Docker restart policy; changed in place like cpus. */
    restartPolicy?: RestartPolicySpec;
    /** Writable-layer size limit; needs a storage driver with quotas. */
    diskQuotaMb?: number;
    /** Seconds between SIGTERM and SIGKILL when a container stops. Default 10. */
    stopGracePeriodSeconds?: number;
    /** Load balancer bindings the service serves through. */
    bindings?: ServiceBinding[];
    /** How releases proceed: timeouts, batches, strategy. */
    release?: ReleaseSpec;
    /** Any value; changing it rolls every container through a release without an image change (a smooth restart). */
    restartTrigger?: string;
    /** The cluster's registry credentials (a reference to them, not a copy the user keeps). */
    registries?: RegistryCredentials[];
    /** Set by berth, never by hand: the stack that owns the service (organization/project/stack). Its containers carry it; another stack's are never changed. */
    stack?: string;
    /** Computed by check, never set: the image's digest the preview resolved, which up then runs. */
    imageDigest?: string;
    /** Computed by check, never set: the release plan of the next `pulumi up`, one line each for the summary, every batch, the binding changes, the fewest serving, the drain budget and the estimate. */
    plannedChange?: string;
    /** Computed by check, never set: how many changes of each kind that plan makes (absent where check could not make it). */
    plannedCounts?: PlanCounts;
}

/** How many changes of each kind a release plan makes: diff reads these, never the plan's words. */
export interface PlanCounts {
    /** Containers started. */
    start: number;
    /** Containers drained, stopped and removed. */
    retire: number;
    /** Kept containers whose cpu, memory or restart policy docker update changes in place. */
    resize: number;
    /** Kept containers registered in a binding (missing there, or at another address or port). */
    register: number;
    /** Kept containers given their binding's weight. */
    reweight: number;
    /** Backends removed whose containers stay or are gone: orphans, backends on nodes that do not answer, those in bindings left. */
    deregister: number;
}

/** A container of a service as found on a node. */
export interface ContainerState {
    /** Docker container ID. */
    id: string;
    /** Container name: <service>-<owner>-<slot>-<revision>-<nonce>. */
    name: string;
    /** Node the container runs on. */
    node: string;
    /** Replica slot. */
    slot: number;
    /** Revision (hash of the container definition) the container runs. */
    revision: string;
    /** running | exited | created | missing ... as Docker says */
    state: string;
    /** healthy | unhealthy | starting | none */
    health: string;
    /** host port per container port, as published */
    hostPorts: Record<string, number>;
    /** The stack that owns it (organization/project/stack); absent on containers made before owners. */
    stack?: string;
    /** Owner id of the Service resource that started it; absent on containers made before owners. */
    owner?: string;
}

export interface BackendState {
    /** Backend (server) name: the container's name. */
    name: string;
    /** Node address the load balancer sends to. */
    address: string;
    /** Host port. */
    port: number;
    /** Load balancer weight. */
    weight: number;
}

/** How berth reaches an HAProxy on its own host: its sockets through the SSH connection, its config and `haproxy -c` by commands there. */
export interface HaproxySsh {
    /** The load balancer's host name or address. */
    host: string;
    /** SSH port. Default 22. */
    port?: number;
    /** Remote user: it must read and write the config file (and its directory) and use both sockets. */
    user: string;
    /** Private key (OpenSSH or PEM): a Pulumi secret. */
    privateKey: string;
    /** The host's public key (`ssh-ed25519 AAAA...`); any other host key is refused. */
    hostPublicKey: string;
}

export interface HaproxyEndpoint {
    /** Runtime API socket (stats socket, level admin). */
    adminSocket: string;
    /** Master CLI socket, for reloads. */
    masterSocket?: string;
    /** Configuration file berth keeps its sections in. */
    configPath: string;
    /** HAProxy on another host: the sockets and the config path are that host's. Default: this machine. */
    ssh?: HaproxySsh;
}

/** An existing Aliyun Classic Load Balancer (CLB) instance; berth creates and owns the listener and its vServer group. */
export interface AliyunEndpoint {
    /** The CLB instance id (lb-...). */
    loadBalancerId: string;
    /** Its region (cn-hangzhou, ...). */
    region: string;
    /** OpenAPI endpoint; default https://slb.<region>.aliyuncs.com */
    endpoint?: string;
    /** Default: the environment's ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET. */
    accessKeyId?: string;
    /** A Pulumi secret; default: the environment's ALIBABA_CLOUD_ACCESS_KEY_SECRET. */
    accessKeySecret?: string;
}

export interface SlbBindingArgs {
    /** Listener and backend pool name on the load balancer. */
    name: string;
    /** Set by berth, never by hand: the stack that owns the listener (organization/project/stack); another stack's is a preview error. */
    stack?: string;
    /** Load balancer kind: haproxy (local) or aliyun (Classic Load Balancer). */
    driver: LoadBalancerDriver;
    /** The HAProxy to configure (driver haproxy). */
    haproxy?: HaproxyEndpoint;
    /** The Aliyun CLB instance (driver aliyun). */
    aliyun?: AliyunEndpoint;
    /** tcp: the listener forwards connections; http (default): it forwards requests. */
    protocol?: ListenerProtocol;
    /** Where the listener binds (address default 127.0.0.1). */
    listen: {
        /** Bind address. Default 127.0.0.1. */
        address?: string;
        /** Bind port. */
        port: number;
    };
    /** How the load balancer checks backends; no httpPath: a TCP check. */
    healthCheck?: {
        /** HTTP path checked; none: a TCP check. */
        httpPath?: string;
        /** Milliseconds between checks. Default 1000. */
        intervalMs?: number;
        /** Passed checks before a backend is UP. Default 2. */
        rise?: number;
        /** Failed checks before a backend is DOWN. Default 2. */
        fall?: number;
    };
}

export interface SlbBindingState extends SlbBindingArgs {
    /** URL clients use to reach the listener. */
    url: string;
    /** Minted when the resource was created; the listener records it with the stack, and only this resource removes it. */
    ownerId?: string;
}

/** Only the fields that are set: Pulumi's wire (a protobuf Struct) cannot hold undefined. */
export const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/**
 * What a Service keeps of a binding (the binding's `ref` output): the load balancer, the pool and the
 * health-check pace. A health check that is not an object (unknown in a preview) passes as it is.
 */
export function slbRefOf(slb: SlbBindingRef): SlbBindingRef {
    const { name, driver, haproxy, aliyun, healthCheck } = slb;
    const pace =
        healthCheck && typeof healthCheck === "object" ? defined({ intervalMs: healthCheck.intervalMs, rise: healthCheck.rise }) : healthCheck;
    return defined({ name, driver, haproxy, aliyun, healthCheck: pace });
}

/** Seconds a load balancer takes at best to call a new backend healthy: rise × check interval. */
export const lbRiseSeconds = (hc: SlbBindingRef["healthCheck"] = {}): number =>
    ((hc.rise ?? DEFAULTS.lbRise) * (hc.intervalMs ?? DEFAULTS.lbCheckIntervalMs)) / 1000;

/** The listener's URL, from its settings alone: so it is known before the listener exists (preview). */
export const listenerUrlOf = (listen: SlbBindingArgs["listen"]): string => `http://${listen.address ?? "127.0.0.1"}:${listen.port}/`;

export interface ServiceState extends ServiceArgs {
    /** Minted when the resource is created: its containers carry it, and it changes and removes only those (a forced replacement gets a new one). */
    ownerId?: string;
    /** The image as repo@sha256 digest that every container runs. */
    imageDigest: string;
    /** Revision of the containers the last release started. */
    revision: string;
    /** The service's containers as found on the nodes. */
    containers: ContainerState[];
    /** binding name -> backends of this service registered there */
    backends: Record<string, BackendState[]>;
    /** one line per batch of the last release */
    lastRelease: string[];
}

export const DEFAULTS = {
    replicas: 1,
    stopGracePeriodSeconds: 10,
    weight: 100,
    /** Aliyun CLB weights are 0-100 (HAProxy's 0-256). */
    aliyunMaxWeight: 100,
    healthyTimeoutSeconds: 120,
    lbHealthyTimeoutSeconds: 60,
    drainTimeoutSeconds: 30,
    healthIntervalSeconds: 2,
    healthTimeoutSeconds: 2,
    healthRetries: 3,
    healthStartPeriodSeconds: 0,
    lbCheckIntervalMs: 1000,
    lbRise: 2,
    lbFall: 2,
} as const;

// The resources' inputs as plain data, with the name optional (the resource name by default): what the
// provider plugin serves and what the components take for the resources they build.

/** A listener and backend pool on one load balancer. A service may serve through many. */
export interface SlbBindingInputs extends Omit<SlbBindingArgs, "name" | "driver" | "stack"> {
    /** Listener and backend pool name on the load balancer; defaults to the resource name. */
    name?: string;
    /** Load balancer kind: haproxy or aliyun. Default haproxy. */
    driver?: LoadBalancerDriver;
}

/** Containers of one image on a cluster, released blue-green behind every binding. */
export interface ServiceInputs extends Omit<ServiceArgs, "name" | "plannedChange" | "plannedCounts" | "imageDigest" | "stack"> {
    /** Service name, used in container names and labels; defaults to the resource name. */
    name?: string;
}
