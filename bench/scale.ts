// Scale benchmark: one service 0 -> 150 containers on the 3 local hosts, then 150 -> 10 under load,
// by berth (through `pulumi up`) and Docker Swarm (both behind the same HAProxy), against a plain
// script that starts the same 150 containers with dockerode in parallel. The machines are noisy:
// the systems run interleaved for several rounds, and every figure is reported as median/min/max.
import { DockerHost } from "../provider/docker/host";
import { DAEMON_CONCURRENCY } from "../provider/limit";
import { HealthCheckSpec } from "../provider/model";
import { summarize } from "../test/support/load";
import { cleanSlate, local, nodeSpecs } from "../test/support/world";
import { Timeline } from "./chart";
import { AppHealth, BerthStack, LoadSpec, front, listener, rawContainer, round2, startHealthy, startLoad } from "./rig";
import { Swarm } from "./swarm";

const AFTER = 10;
const PORT = 18190;
// Every check is a `docker exec`; on 2 cores, 150 containers checked every second would starve the hosts.
// While 150 start at once (load average ~100 here) an exec can take seconds: a 2 s timeout made
// healthy containers "unhealthy", and berth refuses a scale-out with an unhealthy container.
const APP_HEALTH: AppHealth = { intervalSeconds: 5, timeoutSeconds: 15, retries: 5 };
const HEALTH: HealthCheckSpec = { httpPath: "/health", ...APP_HEALTH };
const STOP_GRACE_SECONDS = 5;
const LOAD: LoadSpec = { ratePerSecond: 50, slowShare: 0.1, slowSeconds: 3, keepAlive: true };

const seconds = (since: number) => round2((Date.now() - since) / 1000);

interface RoundResult {
    /** 0 -> 150, until every container serves (behind HAProxy for berth and Swarm). */
    scaleOutSeconds: number;
    containersPerSecond: number;
    scaleInSeconds?: number;
    scaleInRequests?: number;
    scaleInFailedRequests?: number;
    [extra: string]: unknown;
}

type Run = (log: (l: string) => void, containers: number) => Promise<{ result: RoundResult; scaleIn?: Omit<Timeline, "panel"> }>;

/** Scale-in under load: `act` is timed, the load runs one second before and after it. */
async function scaleInUnderLoad(url: string, act: () => Promise<void>) {
    const traffic = startLoad([url], LOAD);
    await new Promise((r) => setTimeout(r, 1000));
    const startMs = traffic.elapsedMs();
    const started = Date.now();
    await act();
    const scaleInSeconds = seconds(started);
    const endMs = traffic.elapsedMs();
    await new Promise((r) => setTimeout(r, 1000));
    const samples = await traffic.stop();
    const s = summarize(samples);
    return {
        figures: { scaleInSeconds, scaleInRequests: s.total, scaleInFailedRequests: s.failed, scaleInErrors: s.errors },
        timeline: {
            samples,
            originMs: startMs,
            marks: [
                { ms: startMs, label: "scale-in starts" },
                { ms: endMs, label: "scale-in ends" },
            ],
        },
    };
}

const berth: Run = async (log, containers) => {
    const stack = await BerthStack.open("scale", { replicas: 0, listeners: [[0, PORT]], health: APP_HEALTH, stopGraceSeconds: STOP_GRACE_SECONDS });
    try {
        await stack.configure(local.images.v1, 0);
        const empty = await stack.up();
        if (empty.error) throw new Error(`berth: empty service failed: ${empty.error}`);
        await stack.configure(local.images.v1, containers);
        const out = await stack.up();
        if (out.error) throw new Error(`berth: scale-out failed: ${out.error}`);
        log(`berth: 0 -> ${containers} in ${out.upSeconds}s (provider ${out.providerSeconds}s)`);
        let scaleIn = { upSeconds: 0, providerSeconds: 0, cliSeconds: 0 };
        await stack.configure(local.images.v1, AFTER);
        const s = await scaleInUnderLoad(`http://${local.slbs[0].address}:${PORT}/`, async () => {
            const t = await stack.up();
            if (t.error) throw new Error(`berth: scale-in failed: ${t.error}`);
            scaleIn = { upSeconds: t.upSeconds, providerSeconds: t.providerSeconds, cliSeconds: t.cliSeconds };
        });
        return {
            result: {
                scaleOutSeconds: out.upSeconds,
                containersPerSecond: round2(containers / out.upSeconds),
                ...s.figures,
                pulumi: { scaleOut: { upSeconds: out.upSeconds, providerSeconds: out.providerSeconds, cliSeconds: out.cliSeconds }, scaleIn },
            },
            scaleIn: { series: "berth", ...s.timeline },
        };
    } finally {
        await stack.remove();
    }
};

const swarm: Run = async (log, containers) => {
    const peer = new Swarm(local.hosts);
    await peer.init();
    try {
        await peer.create({
            name: "scale",
            image: local.images.v1,
            replicas: 0,
            order: "stop-first",
            health: APP_HEALTH,
            stopGraceSeconds: STOP_GRACE_SECONDS,
        });
        const binding = await listener(0, "scale", PORT);
        const started = Date.now();
        await peer.scale("scale", containers, 900);
        const swarmSeconds = seconds(started);
        // Swarm knows no load balancer: an operator's script registers the tasks' host ports.
        const tasks = await peer.tasks("scale");
        await front(
            0,
            "scale",
            tasks.map((t) => ({ name: t.id, address: t.node.address, port: t.port })),
        );
        const scaleOutSeconds = seconds(started);
        log(`swarm: 0 -> ${containers} running in ${swarmSeconds}s, behind HAProxy in ${scaleOutSeconds}s`);
        const s = await scaleInUnderLoad(binding.url, () => peer.scale("scale", AFTER, 900));
        return {
            result: { scaleOutSeconds, containersPerSecond: round2(containers / scaleOutSeconds), swarmRunningSeconds: swarmSeconds, ...s.figures },
            scaleIn: { series: "swarm", ...s.timeline },
        };
    } finally {
        await peer.leave();
    }
};

const raw: Run = async (log, containers) => {
    const hosts = nodeSpecs().map((n) => new DockerHost(n));
    await Promise.all(hosts.map((h) => h.ensureImage(local.images.v1)));
    const started = Date.now();
    await startHealthy(
        Array.from({ length: containers }, (_, i) => [
            hosts[i % hosts.length],
            rawContainer(`raw-${i}`, local.images.v1, "raw", APP_HEALTH, STOP_GRACE_SECONDS),
        ]),
    );
    const scaleOutSeconds = seconds(started);
    log(`raw dockerode: ${containers} healthy in ${scaleOutSeconds}s`);
    return { result: { scaleOutSeconds, containersPerSecond: round2(containers / scaleOutSeconds) } };
};

const RUNS: Record<string, Run> = { berth, swarm, rawDockerode: raw };

export interface Spread {
    median: number;
    min: number;
    max: number;
}

export function spread(values: number[]): Spread | undefined {
    if (values.length === 0) return undefined;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return { median: round2(median), min: round2(sorted[0]), max: round2(sorted[sorted.length - 1]) };
}

/** `containers` is 150 for the benchmark; smaller for a quick check of the rig. */
export async function scaleBenchmark(log: (l: string) => void, rounds: number, containers: number) {
    const perRound: Array<Record<string, RoundResult>> = [];
    const timelines: Timeline[] = [];
    const names = Object.keys(RUNS);
    try {
        for (let r = 0; r < rounds; r++) {
            const round: Record<string, RoundResult> = {};
            // Rotate who goes first, so no system always runs on the freshest (or most tired) hosts.
            for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
                cleanSlate();
                log(`round ${r + 1}/${rounds}: ${name}`);
                try {
                    const { result, scaleIn } = await RUNS[name](log, containers);
                    round[name] = result;
                    if (scaleIn && r === rounds - 1)
                        timelines.push({
                            panel: `scale-in ${containers} -> ${AFTER} under ${LOAD.ratePerSecond} requests/s (last round)`,
                            ...scaleIn,
                        });
                } catch (e: any) {
                    // A failed run is reported and left out of the spreads; the other runs still count.
                    log(`round ${r + 1}: ${name} failed: ${e?.message ?? e}`);
                    round[name] = { failed: String(e?.message ?? e) } as unknown as RoundResult;
                }
            }
            perRound.push(round);
        }
    } finally {
        await new Swarm(local.hosts).leave();
        cleanSlate();
    }
    const figure = (system: string, key: keyof RoundResult) =>
        spread(perRound.map((p) => p[system][key] as number).filter((v) => typeof v === "number"));
    const ratio = (a: string, b: string) => spread(perRound.map((p) => p[a].scaleOutSeconds / p[b].scaleOutSeconds).filter(Number.isFinite));
    const summary: Record<string, Record<string, Spread | undefined>> = {};
    for (const name of names) {
        summary[name] = { scaleOutSeconds: figure(name, "scaleOutSeconds"), containersPerSecond: figure(name, "containersPerSecond") };
        if (perRound.some((p) => p[name].scaleInSeconds !== undefined)) {
            summary[name].scaleInSeconds = figure(name, "scaleInSeconds");
            summary[name].scaleInFailedRequests = figure(name, "scaleInFailedRequests");
        }
    }
    return {
        json: {
            benchmark: "scale",
            at: new Date().toISOString(),
            rig: {
                hosts: local.hosts.length,
                containers,
                after: AFTER,
                rounds,
                image: "berth-demo (busybox httpd, FROM scratch)",
                healthCheck: HEALTH,
                lb: "HAProxy (local), rise 2 x 500 ms",
                scaleInLoad: LOAD,
                berth: "pulumi up (Automation API, real CLI): the figure includes the CLI, registering every container in HAProxy and waiting for HAProxy's checks",
                swarm: "docker service update --replicas until N/N tasks run (healthy), then the tasks' host ports registered in the same HAProxy and waited for",
                rawDockerode: `create+start with dockerode, ${DAEMON_CONCURRENCY} at a time per engine, until Docker says healthy (no load balancer)`,
            },
            summary,
            scaleOutSecondsRatio: {
                berthToRawDockerode: ratio("berth", "rawDockerode"),
                swarmToRawDockerode: ratio("swarm", "rawDockerode"),
                berthToSwarm: ratio("berth", "swarm"),
            },
            rounds: perRound,
        },
        timelines,
    };
}
