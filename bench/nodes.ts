// Node-count benchmark (issue 24, item 3): one container per node behind one HAProxy binding, on a side
// cluster of 3, 10 and 20 hosts (--nodes). berth through `pulumi up` creates it, previews it unchanged
// and releases v1 -> v2, twice: as N replicas (spread one per node; a release starts the new beside the
// old) and in global mode (a release replaces in place, node by node). Beside it a raw dockerode script
// does the same starts on the same nodes (create: one container per node in parallel, until Docker calls
// them healthy; release: per node, start the new one, wait until healthy, stop and remove the old).
// berth's share is berth's time minus the raw script's in the same round; it should stay flat as the
// nodes grow. Systems interleaved per round, the first rotating.
import * as os from "os";
import { LocalCluster } from "../examples/quickstart/program";
import { DockerHost } from "../provider/docker/host";
import { ContainerState, ServiceMode } from "../provider/model";
import { sideCluster, nodeSpecsOf } from "../test/support/world";
import { CurvePoint } from "./chart";
import { AppHealth, BerthStack, UpTiming, rawContainer, round2, startHealthy } from "./rig";
import { Spread, spread } from "./scale";

const PORT = 18680;
const HEALTH: AppHealth = { intervalSeconds: 1, timeoutSeconds: 2, retries: 3 };
const STOP_GRACE_SECONDS = 5;
const GOAL_SHARE_RATIO = 1.2;
/** How often the raw script asks Docker whether its containers are healthy. */
const RAW_POLL_MS = 250;

const seconds = (since: number) => round2((Date.now() - since) / 1000);
const upFigures = (t: UpTiming) => ({ upSeconds: t.upSeconds, providerSeconds: t.providerSeconds, cliSeconds: t.cliSeconds });

interface BerthRound {
    createSeconds: number;
    previewSeconds: number;
    releaseSeconds: number;
    pulumi: { create: ReturnType<typeof upFigures>; release: ReturnType<typeof upFigures> };
    /** The Service's own step times (the release report's last line). */
    steps: { create: Record<string, number>; release: Record<string, number> };
    /** Batches of the release, from its report (the Service's `lastRelease`). */
    releaseBatches: number;
}

interface RawRound {
    createSeconds: number;
    releaseSeconds: number;
}

async function berth(on: LocalCluster, log: (l: string) => void, mode: ServiceMode): Promise<BerthRound> {
    const nodes = on.hosts.length;
    const stack = await BerthStack.open(`nodes${nodes}`, {
        cluster: on,
        mode,
        replicas: nodes,
        listeners: [[0, PORT]],
        health: HEALTH,
        stopGraceSeconds: STOP_GRACE_SECONDS,
    });
    try {
        await stack.configure(on.images.v1, nodes);
        const create = await stack.up();
        if (create.error) throw new Error(`berth: create failed: ${create.error}`);
        const running: ContainerState[] = (await stack.serviceOutputs()).containers ?? [];
        const used = new Set(running.map((c) => c.node)).size;
        if (running.length !== nodes || used !== nodes)
            throw new Error(`berth: ${running.length} containers on ${used} of ${nodes} nodes after create`);
        const createSteps = await stack.stepTimes();
        const previewSeconds = await stack.previewUnchanged();
        await stack.configure(on.images.v2, nodes);
        const release = await stack.up();
        if (release.error) throw new Error(`berth: release failed: ${release.error}`);
        const r: BerthRound = {
            createSeconds: create.upSeconds,
            previewSeconds,
            releaseSeconds: release.upSeconds,
            pulumi: { create: upFigures(create), release: upFigures(release) },
            steps: { create: createSteps, release: await stack.stepTimes() },
            releaseBatches: Number(/^batch \d+\/(\d+):/m.exec(((await stack.serviceOutputs()).lastRelease ?? []).join("\n"))?.[1] ?? 0),
        };
        log(
            `berth (${mode}) on ${nodes} nodes: create ${r.createSeconds} s, preview ${previewSeconds} s, release ${r.releaseSeconds} s in ${r.releaseBatches} batch(es); release steps ${JSON.stringify(r.steps.release)}`,
        );
        return r;
    } finally {
        await stack.remove();
    }
}

async function raw(on: LocalCluster, log: (l: string) => void): Promise<RawRound> {
    const hosts = nodeSpecsOf(on).map((n) => new DockerHost(n));
    const spec = (i: number, tag: "v1" | "v2") => rawContainer(`raw-${i}-${tag}`, on.images[tag], "raw", HEALTH, STOP_GRACE_SECONDS);
    const createStarted = Date.now();
    const old = await startHealthy(
        hosts.map((h, i) => [h, spec(i, "v1")]),
        RAW_POLL_MS,
    );
    const createSeconds = seconds(createStarted);
    const releaseStarted = Date.now();
    await Promise.all(
        hosts.map(async (h, i) => {
            await startHealthy([[h, spec(i, "v2")]], RAW_POLL_MS);
            await h.stop(old[i].id, STOP_GRACE_SECONDS);
            await h.remove(old[i].id);
        }),
    );
    const releaseSeconds = seconds(releaseStarted);
    log(`raw dockerode on ${hosts.length} nodes: create ${createSeconds} s, release ${releaseSeconds} s`);
    return { createSeconds, releaseSeconds };
}

/** berth's two ways to run one container per node: N replicas spread over N nodes, and global mode. */
const BERTH_MODES: Record<string, ServiceMode> = { berth: "replicated", berthGlobal: "global" };
const OPERATIONS = ["create", "release"] as const;
type Operation = (typeof OPERATIONS)[number];

interface BerthSummary {
    mode: ServiceMode;
    createSeconds?: Spread;
    previewSeconds?: Spread;
    releaseSeconds?: Spread;
    releaseBatches?: Spread;
    /** berth's time minus the raw script's in the same round (they ran back to back). */
    shareSeconds: Record<Operation, Spread | undefined>;
    /** `pulumi up` split into the Service's step (provider) and the CLI and engine around it. */
    pulumi: Record<Operation, Record<"providerSeconds" | "cliSeconds", Spread | undefined>>;
    /** The Service's step times, median over the rounds. */
    steps: Record<Operation, Record<string, number>>;
}

type Round = { [system: string]: BerthRound | RawRound | Record<string, string> | undefined } & { failed?: Record<string, string> };

interface NodeCountResult {
    nodes: number;
    loadAverage: { before: number; after: number };
    rawDockerode: Record<"createSeconds" | "releaseSeconds", Spread | undefined>;
    berth: BerthSummary;
    berthGlobal: BerthSummary;
    rounds: Round[];
}

/** Median of each step over the rounds, in the order the steps first ran. */
function medianSteps(rounds: Array<Record<string, number>>): Record<string, number> {
    const steps = [...new Set(rounds.flatMap((r) => Object.keys(r)))];
    return Object.fromEntries(steps.map((s) => [s, spread(rounds.map((r) => r[s]).filter((v) => v !== undefined))!.median]));
}

function summarizeBerth(name: string, rounds: Round[]): BerthSummary {
    const b = rounds.flatMap((p) => (p[name] ? [p[name] as BerthRound] : []));
    const share = (op: Operation) =>
        spread(
            rounds.flatMap((p) => {
                const [mine, raw] = [p[name] as BerthRound | undefined, p.rawDockerode as RawRound | undefined];
                return mine && raw ? [mine[`${op}Seconds`] - raw[`${op}Seconds`]] : [];
            }),
        );
    const split = (op: Operation) => ({
        providerSeconds: spread(b.map((x) => x.pulumi[op].providerSeconds)),
        cliSeconds: spread(b.map((x) => x.pulumi[op].cliSeconds)),
    });
    return {
        mode: BERTH_MODES[name],
        createSeconds: spread(b.map((x) => x.createSeconds)),
        previewSeconds: spread(b.map((x) => x.previewSeconds)),
        releaseSeconds: spread(b.map((x) => x.releaseSeconds)),
        releaseBatches: spread(b.map((x) => x.releaseBatches)),
        shareSeconds: { create: share("create"), release: share("release") },
        pulumi: { create: split("create"), release: split("release") },
        steps: { create: medianSteps(b.map((x) => x.steps.create)), release: medianSteps(b.map((x) => x.steps.release)) },
    };
}

type Side = ReturnType<typeof sideCluster>;

async function measureNodeCount(side: Side, rounds: number, log: (l: string) => void): Promise<NodeCountResult> {
    const on = side.cluster;
    const nodes = on.hosts.length;
    // No system pays a pull: both images are on every node before the first round.
    await Promise.all(nodeSpecsOf(on).map(async (n) => Promise.all([on.images.v1, on.images.v2].map((i) => new DockerHost(n).ensureImage(i)))));
    const before = round2(os.loadavg()[0]);
    const runs: Record<string, () => Promise<BerthRound | RawRound>> = {
        berth: () => berth(on, log, BERTH_MODES.berth),
        rawDockerode: () => raw(on, log),
        berthGlobal: () => berth(on, log, BERTH_MODES.berthGlobal),
    };
    const names = Object.keys(runs);
    const perRound: Round[] = [];
    for (let r = 0; r < rounds; r++) {
        const round: Round = {};
        // Rotate who goes first, so no system always runs on the freshest (or most tired) hosts.
        for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
            side.clean();
            log(`${nodes} nodes, round ${r + 1}/${rounds}: ${name}`);
            try {
                round[name] = await runs[name]();
            } catch (e: any) {
                // A failed run is reported and left out of the spreads; the other runs still count.
                log(`${nodes} nodes, round ${r + 1}: ${name} failed: ${e?.message ?? e}`);
                round.failed = { ...round.failed, [name]: String(e?.message ?? e).slice(0, 600) };
            }
        }
        perRound.push(round);
    }
    side.clean();
    const w = perRound.flatMap((p) => (p.rawDockerode ? [p.rawDockerode as RawRound] : []));
    return {
        nodes,
        loadAverage: { before, after: round2(os.loadavg()[0]) },
        rawDockerode: { createSeconds: spread(w.map((x) => x.createSeconds)), releaseSeconds: spread(w.map((x) => x.releaseSeconds)) },
        berth: summarizeBerth("berth", perRound),
        berthGlobal: summarizeBerth("berthGlobal", perRound),
        rounds: perRound,
    };
}

const SERIES = { berth: "berth, replicas = nodes", berthGlobal: "berth, mode global", rawDockerode: "raw dockerode" };

/** The chart's points: seconds per node count, one panel per operation, berth beside the raw script. */
function curves(results: NodeCountResult[]): CurvePoint[] {
    const points: CurvePoint[] = [];
    const add = (panel: string, series: string, x: number, s?: Spread) => s && points.push({ panel, series, x, ...s });
    for (const r of results) {
        for (const name of ["berth", "berthGlobal"] as const) {
            add("create", SERIES[name], r.nodes, r[name].createSeconds);
            add("release v1 → v2", SERIES[name], r.nodes, r[name].releaseSeconds);
            add("preview, no change", SERIES[name], r.nodes, r[name].previewSeconds);
        }
        add("create", SERIES.rawDockerode, r.nodes, r.rawDockerode.createSeconds);
        add("release v1 → v2", SERIES.rawDockerode, r.nodes, r.rawDockerode.releaseSeconds);
    }
    return points;
}

/** berth's share at the largest node count over its share at the smallest (medians), per operation. */
function shareRatio(results: NodeCountResult[], name: "berth" | "berthGlobal") {
    const [first, last] = [results[0], results[results.length - 1]];
    const ratios = Object.fromEntries(
        OPERATIONS.map((op) => {
            const [a, z] = [first?.[name].shareSeconds[op]?.median, last?.[name].shareSeconds[op]?.median];
            return [op, a !== undefined && z !== undefined && a > 0 ? round2(z / a) : undefined];
        }),
    );
    return { ...ratios, met: Object.values(ratios).every((v) => v !== undefined && v <= GOAL_SHARE_RATIO) };
}

export async function nodesBenchmark(log: (l: string) => void, rounds: number, nodeCounts: number[]) {
    const results: NodeCountResult[] = [];
    let side: Side | undefined;
    try {
        for (const nodes of nodeCounts) {
            log(`side cluster of ${nodes} hosts: starting`);
            // One side cluster, restarted with this many hosts (grown, or shrunk); stopped at the end.
            side = sideCluster(nodes);
            results.push(await measureNodeCount(side, rounds, log));
        }
    } finally {
        side?.stop();
    }
    return {
        json: {
            benchmark: "nodes",
            at: new Date().toISOString(),
            rig: {
                nodeCounts,
                rounds,
                app: "berth-demo (busybox httpd) from the cluster's registry, both tags on every node beforehand; Docker health check GET /health every 1 s",
                berth: "pulumi up / preview through the Automation API and the real CLI (local file backend): a Cluster of the side cluster's hosts, one SlbBinding (HAProxy, check every 500 ms, rise 2) and a Service behind it with one container per node: replicas = nodes (spread one per node; a release starts the new ones beside the old, as the raw script does), and in global mode (one per node at most: a release replaces in place, minAvailable = nodes - 1 at a time)",
                rawDockerode: `create+start with dockerode on every node at once, until Docker says healthy (polled every ${RAW_POLL_MS} ms); release per node, all nodes at once: start v2, wait healthy, stop (grace ${STOP_GRACE_SECONDS} s) and remove v1; no load balancer`,
                shareSeconds: "berth's seconds minus the raw script's in the same round; median (min-max) over the rounds",
                loadAverage: "1-minute load average before the node count's first round and after its last (2 cores, shared with other work)",
            },
            byNodes: results,
            shareRatio: {
                what: `berth's share at ${results[results.length - 1]?.nodes} nodes over its share at ${results[0]?.nodes} (medians); goal ${GOAL_SHARE_RATIO}`,
                berth: shareRatio(results, "berth"),
                berthGlobal: shareRatio(results, "berthGlobal"),
            },
        },
        curves: curves(results),
    };
}
