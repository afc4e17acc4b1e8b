// The domain's types, shared by the pure planners, the engines and the resource classes.
// Inputs arrive from Pulumi as plain JSON, so everything here is plain data.

/** How to reach a node's Docker engine. */
export interface NodeSpec {
    name: string;
    /** unix:///run/docker.sock, tcp://host:2376 (with tls), or ssh://user@host */
    docker: string;
    /** Address load balancers use to reach the node's published ports. */
    address: string;
    zone?: string;
    labels?: Record<string, string>;
    /** false cordons the node: nothing new lands there and the next release moves containers off it. */
    schedulable?: boolean;
    tls?: { ca?: string; cert?: string; key?: string };
    /** The node's identity at a cloud load balancer (Aliyun CLB): its ECS instance or its ENI; one of the two. */
    cloud?: { instanceId?: string; eniId?: string };
}

/** What a Docker engine says about its host. */
export interface HostInfo {
    engineVersion: string;
    apiVersion: string;
    cpus: number;
    memoryBytes: number;
    /** Storage driver and its backing filesystem: container disk quotas need overlay2 on xfs (pquota), btrfs or zfs. */
    storageDriver: string;
    backingFilesystem: string;
}

export interface NodeInventory extends HostInfo {
    name: string;
    reachable: boolean;
    error?: string;
}

export interface ClusterArgs {
    name: string;
    nodes: NodeSpec[];
}

export interface PortSpec {
    containerPort: number;
    /** Fixed host port; omitted: Docker assigns one per container. */
    hostPort?: number;
}

export interface HealthCheckSpec {
    /** HTTP path checked inside the container (wget or curl must exist in the image). */
    httpPath?: string;
    /** Container port for httpPath; defaults to the first port. */
    port?: number;
    /** Command run inside the container; exit 0 means healthy. */
    command?: string[];
    intervalSeconds?: number;
    timeoutSeconds?: number;
    retries?: number;
    startPeriodSeconds?: number;
}

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
    strategy?: "blueGreen" | "stopFirst";
    /** Most new containers one batch starts; default all that fit. */
    batchSize?: number;
    /** Pause between batches, to watch a canary batch. */
    pauseSeconds?: number;
    /** Share (0..1) of running containers failing health at once above which berth replaces none of them; default 0.5. */
    circuitBreakerShare?: number;
}

export interface RestartPolicySpec {
    name: "no" | "on-failure" | "always" | "unless-stopped";
    /** With on-failure: restarts before Docker gives up. */
    maxAttempts?: number;
}

export interface PlacementSpec {
    /** Spread over at least `count` zones; hard: the release fails (and preview) when impossible; soft: best effort. */
    zones?: { count: number; mode?: "hard" | "soft" };
    /** `node.name|node.zone|node.labels.<key> ==|!= <value>`; every one must hold. */
    constraints?: string[];
    /** `service == <name>` (run beside it) or `service != <name>` (never beside it), judged from what runs. */
    affinity?: string[];
    maxPerNode?: number;
}

/** What a Service receives for each load balancer binding it serves. */
export interface ServiceBinding {
    /** The SlbBinding's outputs. */
    slb: SlbBindingState;
    weight?: number;
    /** Container port the binding sends traffic to; defaults to the first port. */
    containerPort?: number;
}

export interface ServiceArgs {
    name: string;
    cluster: { name: string; nodes: NodeSpec[]; inventory?: NodeInventory[] };
    image: string;
    replicas?: number;
    /** replicated (default): `replicas` containers; global: one on every eligible node. */
    mode?: "replicated" | "global";
    placement?: PlacementSpec;
    ports?: PortSpec[];
    env?: Record<string, string>;
    command?: string[];
    healthCheck?: HealthCheckSpec;
    /** CPU and memory limits: changed in place (docker update), no restart and no release. */
    cpus?: number;
    memoryMb?: number;
    restartPolicy?: RestartPolicySpec;
    /** Writable-layer size limit; needs a storage driver with quotas. */
    diskQuotaMb?: number;
    stopGracePeriodSeconds?: number;
    bindings?: ServiceBinding[];
    release?: ReleaseSpec;
    /** Any value; changing it rolls every container through a release without an image change (a smooth restart). */
    restartTrigger?: string;
    /** Computed by check, never set: what the next `pulumi up` does to the service, shown in preview diffs. */
    plannedChange?: string;
}

/** A container of a service as found on a node. */
export interface ContainerState {
    id: string;
    name: string;
    node: string;
    slot: number;
    revision: string;
    /** running | exited | created | missing ... as Docker says */
    state: string;
    /** healthy | unhealthy | starting | none */
    health: string;
    /** host port per container port, as published */
    hostPorts: Record<string, number>;
}

export interface BackendState {
    name: string;
    address: string;
    port: number;
    weight: number;
}

export interface HaproxyEndpoint {
    adminSocket: string;
    masterSocket?: string;
    configPath: string;
}

/** An existing Aliyun Classic Load Balancer (CLB) instance; berth creates and owns the listener and its vServer group. */
export interface AliyunEndpoint {
    loadBalancerId: string;
    region: string;
    /** OpenAPI endpoint; default https://slb.<region>.aliyuncs.com */
    endpoint?: string;
    /** Default: the environment's ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET. */
    accessKeyId?: string;
    accessKeySecret?: string;
}

export interface SlbBindingArgs {
    name: string;
    driver: "haproxy" | "aliyun";
    haproxy?: HaproxyEndpoint;
    aliyun?: AliyunEndpoint;
    /** tcp: the listener forwards connections; http (default): it forwards requests. */
    protocol?: "tcp" | "http";
    listen: { address?: string; port: number };
    healthCheck?: { httpPath?: string; intervalMs?: number; rise?: number; fall?: number };
}

export interface SlbBindingState extends SlbBindingArgs {
    /** URL clients use to reach the listener. */
    url: string;
}

export interface ServiceState extends ServiceArgs {
    imageDigest: string;
    revision: string;
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
