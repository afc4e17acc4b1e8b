// Rollout benchmark: a 6-replica service on 3 local hosts released v1 -> v2 while a load generator
// keeps ~200 requests/s (some ~2 s slow) through HAProxy. berth's release against two naive
// baselines on the same rig in the same run: stop-then-start, and a weight flip that waits for
// neither load-balancer health nor drain.
import { ContainerSpec, DockerHost } from "../provider/docker/host";
import { serviceProvider } from "../provider/engine/service";
import { slbBindingProvider } from "../provider/engine/slbBinding";
import { ContainerState, ServiceArgs, ServiceState, SlbBindingState } from "../provider/model";
import { socketCommand } from "../provider/slb/haproxy";
import { waitUntil } from "../provider/wait";
import { Load, Sample, summarize } from "../test/support/load";
import { cleanSlate, local, nodeSpecs, slbDriver } from "../test/support/world";
import { Timeline } from "./chart";

const POOL = "bench";
const PORT = 18180;
const REPLICAS = 6;
const RATE = 200;
const SLOW_SHARE = 0.05;
const SLOW_SECONDS = 2;
const WARM_SECONDS = 3;
const HEALTH_INTERVAL_SECONDS = 1;
const LB_INTERVAL_MS = 500;
const LB_RISE = 2;

const pause = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

function serviceArgs(binding: SlbBindingState, image: string): ServiceArgs {
    return {
        name: "bench", cluster: { name: "bench", nodes: nodeSpecs() }, image, replicas: REPLICAS,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: HEALTH_INTERVAL_SECONDS, timeoutSeconds: 1, retries: 2 },
        stopGracePeriodSeconds: 5, bindings: [{ slb: binding }],
        release: { healthyTimeoutSeconds: 60, lbHealthyTimeoutSeconds: 60, drainTimeoutSeconds: 30 },
    };
}

/** The waits berth's configuration forces on one batch: Docker's first health check, the load
 * balancer's `rise` checks, and the longest request in flight that drain must let finish. */
export function configuredWaitSeconds(batches: number) {
    const perBatch = { dockerHealthInterval: HEALTH_INTERVAL_SECONDS, lbRiseChecks: (LB_RISE * LB_INTERVAL_MS) / 1000, longestRequestInFlight: SLOW_SECONDS };
    return { total: batches * (perBatch.dockerHealthInterval + perBatch.lbRiseChecks + perBatch.longestRequestInFlight), perBatch, batches };
}

type Release = (state: ServiceState, args: ServiceArgs) => Promise<number>;

const hostOf = (c: ContainerState) => new DockerHost(nodeSpecs().find((n) => n.name === c.node)!);

function naiveSpec(old: ContainerState): ContainerSpec {
    return {
        name: `bench-${old.slot}-naive`, image: local.images.v2, env: {}, labels: { "berth.managed": "true", "berth.service": "bench-naive" },
        ports: [{ containerPort: 80, hostPort: 0 }], stopGracePeriodSeconds: 5, limits: { restartPolicy: { Name: "no" } },
        healthcheck: { Test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/health"], Interval: 1e9, Timeout: 1e9, Retries: 2, StartPeriod: 0 },
    };
}

async function startHealthy(old: ContainerState[]): Promise<ContainerState[]> {
    const started = await Promise.all(old.map((c) => hostOf(c).run(naiveSpec(c))));
    await waitUntil(async () => {
        const seen = await Promise.all(started.map((c) => hostOf(c).inspect(c.id)));
        return seen.every((c) => c.health === "healthy") ? true : undefined;
    }, { timeoutSeconds: 60, what: "baseline containers healthy in Docker" });
    return started;
}

const addAtFullWeight = async (started: ContainerState[]) => {
    const driver = slbDriver();
    await driver.addBackends(POOL, started.map((c) => ({ name: c.name, address: local.hosts.find((h) => h.name === c.node)!.address, port: c.hostPorts["80"] })));
    await driver.setWeights(POOL, started.map((c) => ({ name: c.name, weight: 100 })));
};

/** Removes a backend at once, cutting its sessions, as a console's forced confirm does. */
async function dropBackend(name: string) {
    const id = `${POOL}/${name}`;
    await socketCommand(local.slbs[0].adminSocket, `set server ${id} state maint`);
    await socketCommand(local.slbs[0].adminSocket, `shutdown sessions server ${id}`);
    // The driver waits for the cut sessions to end before deleting (HAProxy 2.6 crashes otherwise).
    await slbDriver().removeBackends(POOL, [name]);
}

const contenders: Record<string, Release> = {
    async berth(state, args) {
        const next = (await serviceProvider.update!("bench/bench", state, { ...args, image: local.images.v2 })).outs as ServiceState;
        return next.lastRelease.length;
    },
    async stopStart(state) {
        await Promise.all(state.containers.map(async (c) => {
            await hostOf(c).stop(c.id, 5);
            await hostOf(c).remove(c.id);
        }));
        const started = await startHealthy(state.containers);
        await addAtFullWeight(started);
        // The old backends stay, DOWN, as a stop-and-start leaves them: deleting servers whose
        // connections broke while every server was down crashes HAProxy 2.6 (the rig's SLB).
        return 1;
    },
    async flipWithoutLbHealth(state) {
        const started = await startHealthy(state.containers);
        await addAtFullWeight(started);
        for (const c of state.containers) await dropBackend(c.name);
        await Promise.all(state.containers.map(async (c) => {
            await hostOf(c).stop(c.id, 5);
            await hostOf(c).remove(c.id);
        }));
        return 1;
    },
};

export interface ContenderResult {
    totalRequests: number;
    failedRequests: number;
    releaseSeconds: number;
    batches: number;
    errors: string[];
    versions: Record<string, number>;
}

async function runContender(name: string, release: Release, log: (l: string) => void): Promise<{ result: ContenderResult; timeline: Timeline }> {
    cleanSlate();
    const slb = local.slbs[0];
    const binding = (await slbBindingProvider.create({
        name: POOL, driver: "haproxy", haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
        listen: { port: PORT }, healthCheck: { httpPath: "/health", intervalMs: LB_INTERVAL_MS, rise: LB_RISE, fall: 2 },
    })).outs as SlbBindingState;
    const args = serviceArgs(binding, local.images.v1);
    const state = (await serviceProvider.create(args)).outs as ServiceState;
    const load = new Load({ url: binding.url, ratePerSecond: RATE, slowShare: SLOW_SHARE, maxSeconds: 600, slowPath: `/cgi-bin/slow?${SLOW_SECONDS}` }).start();
    await pause(WARM_SECONDS);
    log(`${name}: releasing v1 -> v2 under ${RATE} requests/s`);
    const releaseStartMs = load.elapsedMs;
    const batches = await release(state, args);
    const releaseEndMs = load.elapsedMs;
    await pause(WARM_SECONDS);
    const samples: Sample[] = await load.stop();
    const s = summarize(samples);
    const result = {
        totalRequests: s.total, failedRequests: s.failed, releaseSeconds: (releaseEndMs - releaseStartMs) / 1000, batches, errors: s.errors, versions: s.versions,
    };
    log(`${name}: ${JSON.stringify(result)}`);
    return { result, timeline: { contender: name, samples, releaseStartMs, releaseEndMs } };
}

export async function rolloutBenchmark(log: (l: string) => void) {
    const results: Record<string, ContenderResult> = {};
    const timelines: Timeline[] = [];
    for (const [name, release] of Object.entries(contenders)) {
        const { result, timeline } = await runContender(name, release, log);
        results[name] = result;
        timelines.push(timeline);
    }
    cleanSlate();
    const berth = results.berth;
    const wait = configuredWaitSeconds(berth.batches);
    const strip = ({ totalRequests, failedRequests, releaseSeconds, errors }: ContenderResult) => ({ totalRequests, failedRequests, releaseSeconds, errors });
    return {
        json: {
            benchmark: "rollout",
            at: new Date().toISOString(),
            rig: { hosts: local.hosts.length, replicas: REPLICAS, ratePerSecond: RATE, slowShare: SLOW_SHARE, slowSeconds: SLOW_SECONDS, lb: "HAProxy (local)" },
            totalRequests: berth.totalRequests,
            failedRequests: berth.failedRequests,
            releaseSeconds: berth.releaseSeconds,
            configuredWaitSeconds: wait.total,
            configuredWait: wait,
            target: { failedRequests: 0, releaseSecondsAtMost: 1.15 * wait.total + 5 },
            errors: berth.errors,
            baselines: { stopStart: strip(results.stopStart), flipWithoutLbHealth: strip(results.flipWithoutLbHealth) },
        },
        timelines,
    };
}
