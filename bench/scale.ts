// Scale benchmark: one service 0 -> 150 containers across the local hosts (small image, health
// check on), then 150 -> 10 with drain under light load; against a plain script that creates and
// starts the same 150 containers with dockerode in parallel and waits for the same health.
import { DockerHost } from "../provider/docker/host";
import { dockerHealthcheck } from "../provider/docker/health";
import { DAEMON_CONCURRENCY, mapLimited } from "../provider/limit";
import { serviceProvider } from "../provider/engine/service";
import { slbBindingProvider } from "../provider/engine/slbBinding";
import { HealthCheckSpec, ServiceArgs, ServiceState, SlbBindingState } from "../provider/model";
import { waitUntil } from "../provider/wait";
import { Load, summarize } from "../test/support/load";
import { cleanSlate, local, nodeSpecs } from "../test/support/world";

const CONTAINERS = 150;
const AFTER = 10;
// Every check is a `docker exec`; on 2 cores, 150 containers checked every second would starve the hosts.
const HEALTH: HealthCheckSpec = { httpPath: "/health", intervalSeconds: 5, timeoutSeconds: 2, retries: 3 };

const seconds = (since: number) => Math.round((Date.now() - since) / 10) / 100;

async function berth(log: (l: string) => void) {
    cleanSlate();
    const slb = local.slbs[0];
    const binding = (await slbBindingProvider.create({
        name: "scale", driver: "haproxy", haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
        listen: { port: 18190 }, healthCheck: { httpPath: "/health", intervalMs: 500, rise: 2, fall: 2 },
    })).outs as SlbBindingState;
    const args = (replicas: number): ServiceArgs => ({
        name: "scale", cluster: { name: "bench", nodes: nodeSpecs() }, image: local.images.v1, replicas, ports: [{ containerPort: 80 }],
        healthCheck: HEALTH, stopGracePeriodSeconds: 5, bindings: [{ slb: binding }],
        release: { healthyTimeoutSeconds: 600, lbHealthyTimeoutSeconds: 300, drainTimeoutSeconds: 30 },
    });
    let state = (await serviceProvider.create(args(0))).outs as ServiceState;
    log(`berth: scaling 0 -> ${CONTAINERS}`);
    let started = Date.now();
    state = (await serviceProvider.update!("bench/scale", state, args(CONTAINERS))).outs;
    const berthSeconds = seconds(started);
    const healthy = state.containers.filter((c) => c.health === "healthy").length;
    const backends = state.backends.scale.filter((b) => b.weight > 0).length;
    log(`berth: ${healthy} healthy containers, ${backends} weighted backends in ${berthSeconds}s`);

    log(`berth: scaling ${CONTAINERS} -> ${AFTER} with drain, under load`);
    const load = new Load({ url: binding.url, ratePerSecond: 50, slowShare: 0.2, maxSeconds: 600 }).start();
    started = Date.now();
    state = (await serviceProvider.update!("bench/scale", state, args(AFTER))).outs;
    const scaleInSeconds = seconds(started);
    const s = summarize(await load.stop());
    log(`berth: ${state.containers.length} containers left in ${scaleInSeconds}s; ${s.failed} of ${s.total} requests failed`);
    return { berthSeconds, healthy, backends, scaleInSeconds, scaleInRequests: s.total, scaleInFailedRequests: s.failed, left: state.containers.length };
}

async function baseline(log: (l: string) => void) {
    cleanSlate();
    const hosts = nodeSpecs().map((n) => new DockerHost(n));
    await Promise.all(hosts.map((h) => h.ensureImage(local.images.v1)));
    log(`baseline: creating and starting ${CONTAINERS} containers with dockerode, ${DAEMON_CONCURRENCY} at a time per host`);
    const started = Date.now();
    // Unbounded, 150 concurrent creates make these engines answer "socket hang up"; the baseline gets
    // the same bound per engine that berth uses.
    const containers = await mapLimited(
        Array.from({ length: CONTAINERS }, (_, i) => i),
        (i) =>
            hosts[i % hosts.length].run({
                name: `baseline-${i}`, image: local.images.v1, env: {}, labels: { "berth.managed": "true", "berth.service": "baseline" },
                ports: [{ containerPort: 80, hostPort: 0 }], healthcheck: dockerHealthcheck(HEALTH, 80), limits: { restartPolicy: { Name: "no" } },
                stopGracePeriodSeconds: 5,
            }),
        DAEMON_CONCURRENCY * hosts.length,
    );
    await waitUntil(async () => {
        const seen = (await Promise.all(hosts.map((h) => h.list({ "berth.service": "baseline" })))).flat();
        return seen.filter((c) => c.health === "healthy").length === containers.length ? true : undefined;
    }, { timeoutSeconds: 600, what: "baseline containers healthy", intervalMs: 500 });
    const baselineSeconds = seconds(started);
    log(`baseline: ${CONTAINERS} healthy in ${baselineSeconds}s`);
    cleanSlate();
    return { baselineSeconds };
}

export async function scaleBenchmark(log: (l: string) => void) {
    const b = await berth(log);
    const { baselineSeconds } = await baseline(log);
    cleanSlate();
    return {
        benchmark: "scale",
        at: new Date().toISOString(),
        rig: { hosts: local.hosts.length, containers: CONTAINERS, image: "berth-demo (busybox httpd, FROM scratch)", healthCheck: HEALTH, lb: "HAProxy (local), rise 2 x 500 ms" },
        berthSeconds: b.berthSeconds,
        baselineSeconds,
        ratio: Math.round((b.berthSeconds / baselineSeconds) * 100) / 100,
        target: { ratioAtMost: 1.2 },
        berth: b,
        baselineConcurrency: `${DAEMON_CONCURRENCY} requests at a time per Docker engine (unbounded, the engines answer "socket hang up")`,
        note: "berth's figure includes registering every container in HAProxy at weight 0, waiting for HAProxy's own health checks and raising the weights; the baseline only waits for Docker health",
    };
}
