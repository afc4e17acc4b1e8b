// What really runs on the local hosts and load balancers, for assertions, and the clean slate
// each test starts from.
import { execFileSync, spawnSync } from "child_process";
import * as path from "path";
import { DockerHost } from "../../provider/docker/host";
import { LABEL } from "../../provider/docker/labels";
import { ContainerState } from "../../provider/model";
import { HaproxyDriver } from "../../provider/slb/haproxy";
import { BackendStatus } from "../../provider/slb/driver";
import { LocalCluster, readLocalCluster } from "../../examples/quickstart/program";
import { waitUntil } from "../../provider/wait";

export const local: LocalCluster = readLocalCluster();
// Tests and benchmarks create and remove stacks and containers: never on the user's demo.
if (local.cluster === "demo") throw new Error('tests and benchmarks run on a cluster of their own: set BERTH_CLUSTER (npm test uses "test")');

const clusterScript = path.join(__dirname, "../../../scripts/cluster.sh");

/** Where test listeners bind: this cluster's own loopback address, so they never collide with the demo's. */
export const slbAddress = local.slbs[0].address;
export const listenerUrl = (port: number) => `http://${slbAddress}:${port}/`;

/** A local cluster's hosts as a Cluster's nodes. */
export const nodeSpecsOf = (on: LocalCluster) => on.hosts.map((h) => ({ name: h.name, docker: h.docker, address: h.address, zone: h.zone }));
export const nodeSpecs = () => nodeSpecsOf(local);

export function hosts(): DockerHost[] {
    return nodeSpecs().map((n) => new DockerHost(n));
}

export async function containersOf(service?: string): Promise<ContainerState[]> {
    const labels: Record<string, string> = service ? { [LABEL.service]: service } : { [LABEL.managed]: "true" };
    return (await Promise.all(hosts().map((h) => h.list(labels)))).flat();
}

export function slbDriver(index = 0): HaproxyDriver {
    const s = local.slbs[index];
    return new HaproxyDriver({ adminSocket: s.adminSocket, masterSocket: s.masterSocket, configPath: s.configPath });
}

/** The pool's backends on a local SLB; a pool that does not exist has none, and an SLB that does not answer is an error. */
export async function backendsIn(pool: string, index = 0): Promise<BackendStatus[]> {
    return slbDriver(index).backends(pool);
}

/**
 * Reads a count over and over while `run` runs: the fewest it saw over the reads that succeeded,
 * how many did, and every read that failed (a failed read is no count: the caller asserts there is none).
 */
export async function fewestDuring<T>(
    read: () => Promise<number>,
    run: () => Promise<T>,
): Promise<{ result: T; fewest: number; reads: number; failedReads: string[] }> {
    let sampling = true;
    let fewest = Infinity;
    let reads = 0;
    const failedReads: string[] = [];
    const sampler = (async () => {
        while (sampling) {
            try {
                fewest = Math.min(fewest, await read());
                reads++;
            } catch (e: any) {
                failedReads.push(e?.message ?? String(e));
            }
            await new Promise((r) => setTimeout(r, 50));
        }
    })();
    try {
        return { result: await run(), fewest, reads, failedReads };
    } finally {
        sampling = false;
        await sampler;
    }
}

/**
 * Repairs the local cluster if a test broke part of it, then removes what berth manages on it (containers
 * labelled berth.managed, berth's sections of the load balancers' configs) and nothing else.
 * Quiet unless it fails.
 */
export function cleanSlate(): void {
    for (const command of ["start", "clean"]) {
        const run = spawnSync("bash", [clusterScript, command], { encoding: "utf8" });
        if (run.status !== 0) throw new Error(`scripts/cluster.sh ${command} failed (${run.status ?? run.signal}):\n${run.stdout}${run.stderr}`);
    }
}

export async function httpGet(url: string): Promise<{ status: number; body: string }> {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text() };
}

/** Waits until `url` answers with `expected` in the body. */
export async function waitForBody(url: string, expected: RegExp, timeoutSeconds = 30): Promise<string> {
    return waitUntil(
        async () => {
            const r = await httpGet(url);
            return expected.test(r.body) ? r.body : undefined;
        },
        { timeoutSeconds, what: `${url} to answer ${expected}` },
    );
}

/**
 * A second local cluster of `count` hosts beside this one (named after it), for tests that need
 * more nodes than the suite's cluster has. `stop` removes it again.
 */
export function sideCluster(count: number): { cluster: LocalCluster; clean: () => void; stop: () => void } {
    const script = path.join(__dirname, "../../../scripts/cluster.sh");
    const env = { ...process.env, BERTH_CLUSTER: `${local.cluster}x`.slice(0, 12), BERTH_HOSTS: String(count) };
    const run = (cmd: string) => execFileSync("bash", [script, cmd], { stdio: "inherit", env });
    run("start");
    run("clean");
    return {
        cluster: readLocalCluster(execFileSync("bash", [script, "path"], { env, encoding: "utf8" }).trim()),
        clean: () => run("clean"),
        stop: () => run("stop"),
    };
}
