// What every benchmark run shares: listeners on the cluster's HAProxy SLBs, peers' containers
// registered behind them, the load, and the berth stack driven through the real `pulumi` CLI.
import * as pulumi from "@pulumi/pulumi";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { Cluster, Service, SlbBinding } from "../index";
import { LocalCluster } from "../examples/quickstart/program";
import { ContainerSpec, DockerHost } from "../provider/docker/host";
import { dockerHealthcheck } from "../provider/docker/health";
import { DAEMON_CONCURRENCY, mapLimited } from "../provider/limit";
import { slbBindingProvider } from "../provider/engine/slbBinding";
import { Backend, isLbHealthy } from "../provider/slb/driver";
import { ContainerState, ServiceMode, SlbBindingState } from "../provider/model";
import { stepTimesIn } from "../provider/stepTimes";
import { waitUntil } from "../provider/wait";
import { openStack, removeStack } from "../scripts/lib/stack";
import { Load, Sample } from "../test/support/load";
import { local, nodeSpecsOf, slbDriver } from "../test/support/world";

export const pause = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
export const round2 = (n: number) => Math.round(n * 100) / 100;

/** The load balancer's health check, the same for every system. */
export const LB_CHECK = { httpPath: "/health", intervalMs: 500, rise: 2, fall: 2 };

export async function listener(slbIndex: number, name: string, port: number): Promise<SlbBindingState> {
    const slb = local.slbs[slbIndex];
    return (
        await slbBindingProvider.create({
            name,
            driver: "haproxy",
            haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
            listen: { address: slb.address, port },
            healthCheck: LB_CHECK,
        })
    ).outs as SlbBindingState;
}

/**
 * Puts a peer's containers behind a listener the way an operator would: added at weight 0, weighted
 * once HAProxy's own checks pass (`healthy` of them; the rest may stay DOWN, e.g. a node with no task).
 */
export async function front(slbIndex: number, pool: string, backends: Backend[], healthy = backends.length): Promise<void> {
    const driver = slbDriver(slbIndex);
    await driver.addBackends(pool, backends);
    await waitUntil(async () => ((await driver.backends(pool)).filter(isLbHealthy).length >= healthy ? true : undefined), {
        timeoutSeconds: 120,
        what: `${healthy} backends of ${pool} healthy in HAProxy`,
        intervalMs: 250,
    });
    await driver.setWeights(
        pool,
        backends.map((b) => ({ name: b.name, weight: 100 })),
    );
}

export interface LoadSpec {
    ratePerSecond: number;
    slowShare: number;
    slowSeconds: number;
    keepAlive: boolean;
}

/** One load generator per listener, the rate split evenly; their samples merge into one timeline. */
export function startLoad(urls: string[], spec: LoadSpec): { stop: () => Promise<Sample[]>; elapsedMs: () => number } {
    const loads = urls.map((url) =>
        new Load({
            url,
            ratePerSecond: spec.ratePerSecond / urls.length,
            slowShare: spec.slowShare,
            maxSeconds: 900,
            slowPath: `/cgi-bin/slow?${spec.slowSeconds}`,
            keepAlive: spec.keepAlive,
        }).start(),
    );
    return {
        elapsedMs: () => loads[0].elapsedMs,
        stop: async () => (await Promise.all(loads.map((l) => l.stop()))).flat().sort((a, b) => a.at - b.at),
    };
}

export interface BerthStackOptions {
    replicas: number;
    /** global: one container per node (`replicas` is then not set on the Service). Default replicated. */
    mode?: ServiceMode;
    /** The local cluster whose hosts and SLBs the stack uses. Default the benchmark's own (`local`). */
    cluster?: LocalCluster;
    /** One binding per entry: [slb index, listener port]. */
    listeners: Array<[number, number]>;
    hostPort?: number;
    health: AppHealth;
    stopGraceSeconds: number;
}

/** The app's Docker health check, the same for every system (GET /health inside the container). */
export interface AppHealth {
    intervalSeconds: number;
    timeoutSeconds: number;
    retries: number;
}

/** Does nothing: what a dynamic resource costs the engine, its provider host and the program. */
const noopProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        return { inputs: news };
    },
    // A changed input still shows as an update, so the engine walks the same steps as for berth's.
    async diff(_id, olds, news) {
        return { changes: olds.image !== news.image };
    },
    async create(inputs) {
        return { id: inputs.name, outs: inputs };
    },
    async update(_id, _olds, news) {
        return { outs: news };
    },
};

/** A no-op resource with the inputs and secret outputs of the berth resource it stands for. */
export class Noop extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly nodes: pulumi.Output<unknown>;

    constructor(name: string, props: Record<string, pulumi.Input<unknown>>, secretOutputs: string[]) {
        super(noopProvider, name, { name, ...props }, { additionalSecretOutputs: secretOutputs }, "bench", "Noop");
    }
}

/** The benchmark stack's shape with no-op resources: the same inputs, so the engine does the same work around them. */
function noopProgram(opts: BerthStackOptions) {
    return async () => {
        const config = new pulumi.Config();
        const on = opts.cluster ?? local;
        const cluster = new Noop("bench-cluster", { nodes: nodeSpecsOf(on) }, ["nodes"]);
        const bindings = opts.listeners.map(([slb, port]) => new Noop(`bench-lb${slb}`, { listen: { address: on.slbs[slb].address, port } }, []));
        new Noop(
            "bench",
            {
                cluster: { name: cluster.name, nodes: cluster.nodes },
                image: config.require("image"),
                replicas: config.requireNumber("replicas"),
                bindings: bindings.map((b) => ({ slb: { name: b.name } })),
            },
            ["cluster"],
        );
    };
}

/**
 * Seconds of `pulumi up` for an image change on the no-op stack of the same shape: the CLI's and
 * engine's own share of an up, which berth's CLI share is compared with.
 */
export async function noopUpSeconds(opts: BerthStackOptions, images: { from: string; to: string }): Promise<number> {
    const stack = await openStack("berth-bench", `noop-${Date.now()}`, noopProgram(opts), { image: images.from, replicas: String(opts.replicas) });
    try {
        await stack.up();
        await stack.setConfig("image", { value: images.to });
        const started = Date.now();
        const r = await stack.up();
        if ((r.summary.resourceChanges?.update ?? 0) !== 1)
            throw new Error(`no-op up: expected 1 update, got ${JSON.stringify(r.summary.resourceChanges)}`);
        return round2((Date.now() - started) / 1000);
    } finally {
        await removeStack(stack);
    }
}

/** The service the benchmarks deploy with berth, as a user's Pulumi program would declare it. */
function berthProgram(opts: BerthStackOptions) {
    return async () => {
        const config = new pulumi.Config();
        const on = opts.cluster ?? local;
        const cluster = new Cluster("bench-cluster", { nodes: nodeSpecsOf(on) });
        const bindings = opts.listeners.map(([slb, port]) => {
            const s = on.slbs[slb];
            return new SlbBinding(`bench-lb${slb}`, {
                haproxy: { adminSocket: s.adminSocket, masterSocket: s.masterSocket, configPath: s.configPath },
                listen: { address: s.address, port },
                healthCheck: LB_CHECK,
            });
        });
        new Service("bench", {
            cluster,
            image: config.require("image"),
            mode: opts.mode,
            replicas: opts.mode === "global" ? undefined : config.requireNumber("replicas"),
            ports: [{ containerPort: 80, hostPort: opts.hostPort }],
            healthCheck: { httpPath: "/health", ...opts.health },
            stopGracePeriodSeconds: opts.stopGraceSeconds,
            bindings,
            release: { healthyTimeoutSeconds: 600, lbHealthyTimeoutSeconds: 300, drainTimeoutSeconds: 30 },
        });
    };
}

export interface UpTiming {
    /** Wall time of `pulumi up`. */
    upSeconds: number;
    /** Time the provider spent in the Service's create/update, from the engine's step events. */
    providerSeconds: number;
    /** What the CLI and engine add around it: start-up, plugins, preview, diff, state, the other resources. */
    cliSeconds: number;
    /** ms (Date.now) when the Service step started and ended, for the timeline. */
    stepStartedAt?: number;
    stepEndedAt?: number;
    error?: string;
}

/** A berth stack of the benchmark, driven through the real CLI (Automation API). */
export class BerthStack {
    private constructor(private readonly stack: Stack) {}

    static async open(name: string, opts: BerthStackOptions): Promise<BerthStack> {
        return new BerthStack(await openStack("berth-bench", `${name}-${Date.now()}`, berthProgram(opts)));
    }

    /** `pulumi config set`: what a user edits before `pulumi up`. */
    async configure(image: string, replicas: number): Promise<void> {
        await this.stack.setConfig("image", { value: image });
        await this.stack.setConfig("replicas", { value: String(replicas) });
    }

    /** `pulumi up` with the configured image and replica count; never throws: a failed up is reported in `error`. */
    async up(): Promise<UpTiming> {
        let stepStartedAt: number | undefined;
        let stepEndedAt: number | undefined;
        const isService = (urn?: string) => !!urn && urn.endsWith("::bench");
        const diagnostics: string[] = [];
        const onEvent = (e: EngineEvent) => {
            // The provider's own error says why; the CLI's summary only that something failed.
            if (e.diagnosticEvent?.severity === "error" && isService(e.diagnosticEvent.urn)) diagnostics.push(e.diagnosticEvent.message);
            if (isService(e.resourcePreEvent?.metadata.urn)) stepStartedAt = Date.now();
            if (isService(e.resOutputsEvent?.metadata.urn) || isService(e.resOpFailedEvent?.metadata.urn)) stepEndedAt = Date.now();
        };
        const started = Date.now();
        let error: string | undefined;
        try {
            await this.stack.up({ onEvent });
        } catch (e: any) {
            error = diagnostics.join(" ").replace(/\s+/g, " ").trim().slice(0, 600) || String(e?.message ?? e).slice(0, 600);
        }
        const upSeconds = (Date.now() - started) / 1000;
        const providerSeconds = stepStartedAt && stepEndedAt ? (stepEndedAt - stepStartedAt) / 1000 : 0;
        return {
            upSeconds: round2(upSeconds),
            providerSeconds: round2(providerSeconds),
            cliSeconds: round2(upSeconds - providerSeconds),
            stepStartedAt,
            stepEndedAt,
            error,
        };
    }

    /** `pulumi preview` with nothing changed: its wall time; throws when the preview shows any change. */
    async previewUnchanged(): Promise<number> {
        const started = Date.now();
        const { changeSummary } = await this.stack.preview();
        const seconds = round2((Date.now() - started) / 1000);
        const changed = Object.entries(changeSummary).filter(([op, n]) => op !== "same" && n);
        if (changed.length) throw new Error(`preview of an unchanged stack shows changes: ${JSON.stringify(changeSummary)}`);
        return seconds;
    }

    /** Where the last create or update of the Service spent its time, step by step (the release report's last line). */
    async stepTimes(): Promise<Record<string, number>> {
        return stepTimesIn((await this.serviceOutputs()).lastRelease ?? []);
    }

    /** The Service's outputs as Pulumi state holds them. */
    async serviceOutputs(): Promise<Record<string, any>> {
        const state = await this.stack.exportStack();
        return (state.deployment.resources ?? []).find((r: any) => r.urn.endsWith("::bench"))?.outputs ?? {};
    }

    /** `pulumi destroy`, then the stack itself, so a run leaves no stack behind. */
    async remove(): Promise<void> {
        await this.stack.destroy().catch(() => undefined);
        await removeStack(this.stack);
    }
}

/** A container as a plain Docker client starts it: the app with the benchmarks' health check, a port Docker assigns, no restart policy; labelled so the clean slate removes it. */
export function rawContainer(name: string, image: string, service: string, health: AppHealth, stopGraceSeconds: number): ContainerSpec {
    return {
        name,
        image,
        env: {},
        labels: { "berth.managed": "true", "berth.service": service },
        ports: [{ containerPort: 80, hostPort: 0 }],
        healthcheck: dockerHealthcheck({ httpPath: "/health", ...health }, 80),
        limits: { restartPolicy: { Name: "no" } },
        stopGracePeriodSeconds: stopGraceSeconds,
    };
}

/**
 * A raw dockerode script's start: every container created and started on its host, as many at a time
 * per engine as berth allows itself (unbounded, 150 concurrent creates make these engines answer
 * "socket hang up"), then one wait until Docker calls every one healthy. All specs carry the same
 * `berth.service` label: the wait lists the hosts' containers by it.
 */
export async function startHealthy(placed: Array<[DockerHost, ContainerSpec]>, intervalMs = 500): Promise<ContainerState[]> {
    const hosts = [...new Set(placed.map(([h]) => h))];
    const service = placed[0][1].labels["berth.service"];
    const created = await mapLimited(placed, ([host, spec]) => host.run(spec), DAEMON_CONCURRENCY * hosts.length);
    const ids = new Set(created.map((c) => c.id));
    await waitUntil(
        async () => {
            const seen = (await Promise.all(hosts.map((h) => h.list({ "berth.service": service })))).flat();
            return seen.filter((c) => ids.has(c.id) && c.health === "healthy").length === ids.size ? true : undefined;
        },
        { timeoutSeconds: 600, what: `the raw script's ${service} containers healthy`, intervalMs },
    );
    return created;
}
