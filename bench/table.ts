// `node dist/bench/table.js`: the README's results tables (markdown) from bench/results/*.json.
import { existsSync, readFileSync } from "fs";
import * as path from "path";

const RESULTS = path.join(__dirname, "../../bench/results");
const read = (name: string) => (existsSync(path.join(RESULTS, name)) ? JSON.parse(readFileSync(path.join(RESULTS, name), "utf8")) : undefined);
const cell = (v: unknown) => (v === undefined ? "–" : String(v).replace(/\|/g, "/"));

function rolloutTable(json: any): string {
    const rows = [
        "| case | system | outcome | failed / total requests | release s | release / forced waits | update step over forced waits s | pulumi up s (provider + CLI) | CLI over a no-op provider's up s |",
        "|---|---|---|---|---|---|---|---|---|",
    ];
    for (const [caseName, systems] of Object.entries<any>(json.cases)) {
        for (const [system, r] of Object.entries<any>(systems)) {
            const p = r.pulumi ? `${r.pulumi.upSeconds} (${r.pulumi.providerSeconds} + ${r.pulumi.cliSeconds})` : undefined;
            const outcome = String(r.outcome ?? "").slice(0, 90);
            rows.push(
                `| ${caseName} | ${system} | ${cell(outcome)} | ${cell(r.failedRequests)} / ${cell(r.totalRequests)} | ${cell(r.releaseSeconds)} | ${cell(r.releaseOverForcedWaits)} | ${cell(r.updateOverForcedWaitsSeconds)} | ${cell(p)} | ${cell(r.pulumi?.cliOverNoopSeconds)} |`,
            );
        }
    }
    return rows.join("\n");
}

const fmt = (s: any) => (s ? `${s.median} (${s.min}–${s.max})` : "–");

function scaleTable(json: any): string {
    const rows = ["| system | 0 → N s | containers/s | N → 10 s | failed requests in scale-in |", "|---|---|---|---|---|"];
    for (const [system, s] of Object.entries<any>(json.summary)) {
        rows.push(
            `| ${system} | ${fmt(s.scaleOutSeconds)} | ${fmt(s.containersPerSecond)} | ${fmt(s.scaleInSeconds)} | ${fmt(s.scaleInFailedRequests)} |`,
        );
    }
    const r = json.scaleOutSecondsRatio;
    rows.push(
        "",
        `Scale-out time ratios, median (min–max): berth / raw ${fmt(r.berthToRawDockerode)}, Swarm / raw ${fmt(r.swarmToRawDockerode)}, berth / Swarm ${fmt(r.berthToSwarm)}.`,
    );
    return rows.join("\n");
}

function previewTable(json: any): string {
    const rows = ["| case | preview s | 50 resources' steps s |", "|---|---|---|"];
    for (const [name, s] of Object.entries<any>(json.summary)) rows.push(`| ${name} | ${fmt(s.seconds)} | ${fmt(s.stepsSeconds)} |`);
    const b = json.beyondEngineSeconds;
    rows.push(
        "",
        `Beyond the engine (berth median − no-op median): ${b.unchanged} s unchanged, ${b.imageChange} s with the image change (goal: under ${json.goal.beyondEngineSeconds} s).`,
    );
    return rows.join("\n");
}

function nodesTable(json: any): string {
    const rows = [
        "| nodes | load avg before → after | system | create s | preview s | release s | release batches | share create s | share release s |",
        "|---|---|---|---|---|---|---|---|---|",
    ];
    for (const r of json.byNodes) {
        const load = `${r.loadAverage.before} → ${r.loadAverage.after}`;
        for (const [system, label] of [
            ["berth", "berth, replicas = nodes"],
            ["berthGlobal", "berth, mode global"],
        ]) {
            const b = r[system];
            rows.push(
                `| ${r.nodes} | ${load} | ${label} | ${fmt(b.createSeconds)} | ${fmt(b.previewSeconds)} | ${fmt(b.releaseSeconds)} | ${fmt(b.releaseBatches)} | ${fmt(b.shareSeconds.create)} | ${fmt(b.shareSeconds.release)} |`,
            );
        }
        rows.push(
            `| ${r.nodes} | ${load} | raw dockerode | ${fmt(r.rawDockerode.createSeconds)} | – | ${fmt(r.rawDockerode.releaseSeconds)} | – | – | – |`,
        );
    }
    const ratio = (x: any) => `create ${cell(x.create)}, release ${cell(x.release)}`;
    rows.push(
        "",
        `berth's share, ${json.shareRatio.what}: replicas = nodes ${ratio(json.shareRatio.berth)}; mode global ${ratio(json.shareRatio.berthGlobal)}.`,
    );
    return rows.join("\n");
}

const rollout = read("rollout.json");
const scale = read("scale.json");
const preview = read("preview.json");
const nodes = read("nodes.json");
if (rollout) console.log(`Rollout (${rollout.at}):\n\n${rolloutTable(rollout)}\n`);
if (scale)
    console.log(`Scale, ${scale.rig.containers} containers, ${scale.rig.rounds} rounds, median (min–max) (${scale.at}):\n\n${scaleTable(scale)}\n`);
if (preview)
    console.log(
        `Preview, ${preview.rig.services} services, ${preview.rig.rounds} rounds, median (min–max) (${preview.at}):\n\n${previewTable(preview)}\n`,
    );
if (nodes) console.log(`Nodes, one container per node, ${nodes.rig.rounds} rounds, median (min–max) (${nodes.at}):\n\n${nodesTable(nodes)}\n`);
