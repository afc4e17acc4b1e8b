// Rollout benchmark: the same 3-replica service on the same 3 hosts behind the same HAProxy, released
// v1 -> v2 under the same load (one request in ten slow), by berth through `pulumi up`, by Docker Swarm
// with its best zero-downtime settings, and by a stop-then-start script; systems interleaved in one run.
// Further cases: a never-healthy image, a fixed host port with no spare node, two load balancers.
import { DockerHost } from "../provider/docker/host";
import { dockerHealthcheck } from "../provider/docker/health";
import { serviceProvider } from "../provider/engine/service";
import { ContainerState, ServiceState } from "../provider/model";
import { Sample, summarize } from "../test/support/load";
import { cleanSlate, local, nodeSpecs } from "../test/support/world";
import { waitUntil } from "../provider/wait";
import { Timeline } from "./chart";
import { AppHealth, BerthStack, LoadSpec, front, listener, noopUpSeconds, pause, round2, startLoad } from "./rig";
import { Swarm } from "./swarm";

const REPLICAS = 3;
const PORT = 18180;
const SWARM_HOST_PORT = 18380;
const FIXED_HOST_PORT = 18480;
const HEALTH_INTERVAL_SECONDS = 1;
// A generous timeout: on a loaded 2-core machine a 1 s check times out now and then.
const HEALTH: AppHealth = { intervalSeconds: HEALTH_INTERVAL_SECONDS, timeoutSeconds: 2, retries: 3 };
const STOP_GRACE_SECONDS = 5;
const LB_RISE_SECONDS = 1;
const WARM_SECONDS = 3;
/** How long Swarm's start-first gets on fixed host ports before it is reported as stalled. */
const STALL_SECONDS = 45;
const LOAD: LoadSpec = { ratePerSecond: 180, slowShare: 0.1, slowSeconds: 3, keepAlive: true };

interface Mark {
    ms: number;
    label: string;
}

/** A system deployed at v1 and ready to release; everything it created goes in `teardown`. */
interface Deployed {
    urls: string[];
    /** Untimed preparation of a release, e.g. `pulumi config set`. */
    prepare?(image: string): Promise<void>;
    release(image: string): Promise<{ outcome: string; marks: Mark[]; extra?: Record<string, unknown> }>;
    /** Seconds of waiting the system's own settings force on this release (health checks, drain). */
    forcedWaitSeconds(): Promise<number>;
    teardown(): Promise<void>;
}

type System = (opts: { listeners: number }) => Promise<Deployed>;

const listenerPorts = (n: number): Array<[number, number]> => Array.from({ length: n }, (_, i) => [i, PORT + i]);

function berth(extra: { hostPort?: number } = {}): System {
    return async ({ listeners }) => {
        /** Per batch: Docker's first health check, HAProxy's rise checks, and drain of the longest request. */
        const forcedWaitSeconds = async () => {
            const report: string[] = (await stack.serviceOutputs()).lastRelease ?? [];
            const batches = report.filter((l) => l.startsWith("batch ")).length || 1;
            return batches * (HEALTH_INTERVAL_SECONDS + LB_RISE_SECONDS + LOAD.slowSeconds);
        };
        const opts = {
            replicas: REPLICAS,
            listeners: listenerPorts(listeners),
            hostPort: extra.hostPort,
            health: HEALTH,
            stopGraceSeconds: STOP_GRACE_SECONDS,
        };
        // The CLI's own share of an up of this stack's shape, measured beside it.
        const noopUp = await noopUpSeconds(opts, { from: local.images.v1, to: local.images.v2 });
        const stack = await BerthStack.open("rollout", opts);
        await stack.configure(local.images.v1, REPLICAS);
        const first = await stack.up();
        if (first.error) throw new Error(`berth: first deployment failed: ${first.error}`);
        return {
            urls: listenerPorts(listeners).map(([slb, port]) => `http://${local.slbs[slb].address}:${port}/`),
            prepare: (image) => stack.configure(image, REPLICAS),
            async release() {
                const t = await stack.up();
                const forced = await forcedWaitSeconds();
                const marks =
                    t.stepStartedAt && t.stepEndedAt
                        ? [
                              { ms: t.stepStartedAt, label: "service update starts" },
                              { ms: t.stepEndedAt, label: "service update ends" },
                          ]
                        : [];
                // Where the update step's time went, step by step (the release report's last line).
                const steps = await stack.stepTimes();
                return {
                    outcome: t.error ? `failed: ${t.error}` : "completed",
                    marks,
                    extra: {
                        pulumi: {
                            upSeconds: t.upSeconds,
                            providerSeconds: t.providerSeconds,
                            cliSeconds: t.cliSeconds,
                            noopUpSeconds: noopUp,
                            cliOverNoopSeconds: round2(t.cliSeconds - noopUp),
                        },
                        // The Service's update step beyond what its settings force (goal: at most 0.5 s).
                        updateOverForcedWaitsSeconds: round2(t.providerSeconds - forced),
                        steps,
                    },
                };
            },
            forcedWaitSeconds,
            teardown: () => stack.remove(),
        };
    };
}

function swarm(order: "stop-first" | "start-first", replicas = REPLICAS): System {
    return async ({ listeners }) => {
        const peer = new Swarm(local.hosts);
        await peer.init();
        await peer.create({
            name: "bench",
            image: local.images.v1,
            replicas,
            hostPort: SWARM_HOST_PORT,
            order,
            health: HEALTH,
            stopGraceSeconds: STOP_GRACE_SECONDS,
        });
        const urls: string[] = [];
        for (const [slb, port] of listenerPorts(listeners)) {
            urls.push((await listener(slb, "bench", port)).url);
            // Every node's fixed port: a node without a task stays DOWN in HAProxy.
            await front(
                slb,
                "bench",
                local.hosts.map((h) => ({ name: h.name, address: h.address, port: SWARM_HOST_PORT })),
                replicas,
            );
        }
        return {
            urls,
            async release(image) {
                const u = await peer.update("bench", image, STALL_SECONDS);
                return { outcome: u.state === "completed" ? "completed" : `${u.state}${u.message ? `: ${u.message}` : ""}`, marks: [] };
            },
            // Per task (parallelism 1): the first health check and the update monitor period.
            forcedWaitSeconds: async () => replicas * (HEALTH_INTERVAL_SECONDS + 2),
            teardown: () => peer.leave(),
        };
    };
}

/** Stops every v1 container, starts v2 ones, and puts them in the load balancer at full weight. */
const stopStart: System = async ({ listeners }) => {
    const bindings = [];
    for (const [slb, port] of listenerPorts(listeners)) bindings.push({ slb: await listener(slb, "bench", port) });
    const health = { httpPath: "/health", ...HEALTH };
    const state = (
        await serviceProvider.create({
            name: "bench",
            cluster: { name: "bench", nodes: nodeSpecs() },
            image: local.images.v1,
            replicas: REPLICAS,
            ports: [{ containerPort: 80 }],
            healthCheck: health,
            stopGracePeriodSeconds: STOP_GRACE_SECONDS,
            bindings,
            release: { healthyTimeoutSeconds: 60, lbHealthyTimeoutSeconds: 60, drainTimeoutSeconds: 30 },
        })
    ).outs as ServiceState;
    const hostOf = (c: ContainerState) => new DockerHost(nodeSpecs().find((n) => n.name === c.node)!);
    return {
        urls: bindings.map((b) => b.slb.url),
        async release(image) {
            // Pulls what it starts: a fresh machine has only what berth pulled, by digest.
            await Promise.all(nodeSpecs().map((n) => new DockerHost(n).ensureImage(image)));
            await Promise.all(
                state.containers.map(async (c) => {
                    await hostOf(c).stop(c.id, STOP_GRACE_SECONDS);
                    await hostOf(c).remove(c.id);
                }),
            );
            const started = await Promise.all(
                state.containers.map((c) =>
                    hostOf(c).run({
                        name: `bench-${c.slot}-next`,
                        image,
                        env: {},
                        labels: { "berth.managed": "true", "berth.service": "bench-stop-start" },
                        ports: [{ containerPort: 80, hostPort: 0 }],
                        stopGracePeriodSeconds: STOP_GRACE_SECONDS,
                        limits: { restartPolicy: { Name: "no" } },
                        healthcheck: dockerHealthcheck(health, 80),
                    }),
                ),
            );
            await waitUntil(
                async () => {
                    const seen = await Promise.all(started.map((c) => hostOf(c).inspect(c.id)));
                    return seen.every((c) => c.health === "healthy") ? true : undefined;
                },
                { timeoutSeconds: 60, what: "stop-start containers healthy in Docker" },
            );
            // Full weight at once; the old backends stay DOWN, as a stop-and-start leaves them.
            for (const slb of listenerPorts(listeners).map(([i]) => i)) {
                await front(
                    slb,
                    "bench",
                    started.map((c) => ({ name: c.name, address: local.hosts.find((h) => h.name === c.node)!.address, port: c.hostPorts["80"] })),
                    0,
                );
            }
            return { outcome: "completed", marks: [] };
        },
        forcedWaitSeconds: async () => HEALTH_INTERVAL_SECONDS,
        teardown: async () => undefined,
    };
};

export interface SystemResult {
    outcome: string;
    totalRequests: number;
    failedRequests: number;
    releaseSeconds: number;
    forcedWaitSeconds: number;
    releaseOverForcedWaits: number;
    errors: string[];
    versions: Record<string, number>;
    [extra: string]: unknown;
}

async function measure(caseName: string, name: string, system: System, image: string, load: LoadSpec, listeners: number, log: (l: string) => void) {
    cleanSlate();
    log(`${caseName} / ${name}: deploying v1`);
    const deployed = await system({ listeners });
    try {
        await deployed.prepare?.(image);
        const traffic = startLoad(deployed.urls, load);
        await pause(WARM_SECONDS);
        log(`${caseName} / ${name}: releasing ${image.split("/").pop()} under ${load.ratePerSecond} requests/s (keep-alive ${load.keepAlive})`);
        const loadStartedAt = Date.now() - traffic.elapsedMs();
        const releaseStartMs = traffic.elapsedMs();
        const r = await deployed.release(image);
        const releaseEndMs = traffic.elapsedMs();
        await pause(WARM_SECONDS);
        const samples: Sample[] = await traffic.stop();
        const s = summarize(samples);
        const releaseSeconds = round2((releaseEndMs - releaseStartMs) / 1000);
        const forcedWaitSeconds = await deployed.forcedWaitSeconds();
        const result: SystemResult = {
            outcome: r.outcome,
            totalRequests: s.total,
            failedRequests: s.failed,
            // Failures outside the release say the rig itself was overloaded (a shared, noisy machine).
            failedBeforeRelease: samples.filter((x) => !x.ok && x.at + x.ms < releaseStartMs).length,
            failedAfterRelease: samples.filter((x) => !x.ok && x.at > releaseEndMs).length,
            releaseSeconds,
            forcedWaitSeconds,
            releaseOverForcedWaits: round2(releaseSeconds / forcedWaitSeconds),
            errors: s.errors,
            versions: s.versions,
            ...r.extra,
        };
        log(`${caseName} / ${name}: ${JSON.stringify(result)}`);
        const marks = [
            { ms: releaseStartMs, label: "release starts" },
            { ms: releaseEndMs, label: "release ends" },
            ...r.marks.map((m) => ({ ms: m.ms - loadStartedAt, label: m.label })),
        ];
        const timeline: Timeline = { panel: caseName, series: name, samples, originMs: releaseStartMs, marks };
        return { result, timeline };
    } finally {
        await deployed.teardown();
    }
}

interface Case {
    name: string;
    image: () => string;
    load: LoadSpec;
    listeners: number;
    systems: Record<string, System>;
}

const CASES: Case[] = [
    {
        name: "release",
        image: () => local.images.v2,
        load: LOAD,
        listeners: 1,
        systems: {
            berth: berth(),
            swarm: swarm("stop-first"),
            stopStart,
            swarmStartFirst: swarm("start-first"),
            swarmSpareNodes: swarm("start-first", REPLICAS - 1),
        },
    },
    {
        name: "releaseWithoutKeepAlive",
        image: () => local.images.v2,
        load: { ...LOAD, keepAlive: false },
        listeners: 1,
        systems: { berth: berth(), swarm: swarm("stop-first"), stopStart },
    },
    { name: "neverHealthy", image: () => local.images.unhealthy, load: LOAD, listeners: 1, systems: { berth: berth(), swarm: swarm("stop-first") } },
    // Swarm's tasks always hold a fixed host port here (see `release`); berth gets the same constraint.
    {
        name: "fixedHostPortNoSpareNode",
        image: () => local.images.v2,
        load: LOAD,
        listeners: 1,
        systems: { berth: berth({ hostPort: FIXED_HOST_PORT }) },
    },
    { name: "twoLoadBalancers", image: () => local.images.v2, load: LOAD, listeners: 2, systems: { berth: berth(), swarm: swarm("stop-first") } },
];

export async function rolloutBenchmark(log: (l: string) => void, only?: string[]) {
    const cases: Record<string, Record<string, SystemResult>> = {};
    const timelines: Timeline[] = [];
    try {
        for (const c of CASES.filter((x) => !only || only.includes(x.name))) {
            cases[c.name] = {};
            for (const [name, system] of Object.entries(c.systems)) {
                try {
                    const { result, timeline } = await measure(c.name, name, system, c.image(), c.load, c.listeners, log);
                    cases[c.name][name] = result;
                    timelines.push(timeline);
                } catch (e: any) {
                    // One broken run (e.g. an overloaded host) must not lose the others' figures.
                    log(`${c.name} / ${name}: benchmark run failed: ${e?.message ?? e}`);
                    cases[c.name][name] = { outcome: `benchmark run failed: ${e?.message ?? e}` } as SystemResult;
                }
            }
        }
    } finally {
        await new Swarm(local.hosts).leave();
        cleanSlate();
    }
    return {
        json: {
            benchmark: "rollout",
            at: new Date().toISOString(),
            rig: {
                hosts: local.hosts.length,
                replicas: REPLICAS,
                load: LOAD,
                lb: "HAProxy 2.6 (local), health check every 500 ms, rise 2, fall 2",
                app: "berth-demo (busybox httpd) from the cluster's registry; Docker health check GET /health every 1 s",
                berth: "pulumi up through the Automation API and the real CLI (local file backend)",
                swarm: `docker swarm on the same hosts (the routing mesh needs IPVS: tasks publish host port ${SWARM_HOST_PORT}, one per node, behind the same HAProxy); update-parallelism 1, update-failure-action rollback, stop-grace-period ${STOP_GRACE_SECONDS}s, update-monitor 2s, same health check`,
                stopStart: "stop every v1 container, start v2 ones, add them to HAProxy at full weight once Docker says healthy",
            },
            // The keep-alive release, one entry per system.
            ...cases.release,
            cases,
        },
        timelines,
    };
}
