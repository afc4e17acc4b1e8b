// `npm run bench [-- <name>]`: runs one benchmark, or all of them, on the local cluster and writes
// bench/results/<name>.json and <name>.svg.
import { Command } from "commander";
import { mkdirSync, writeFileSync } from "fs";
import * as path from "path";
import { curvesSvg, timelineSvg } from "./chart";
import { nodesBenchmark } from "./nodes";
import { previewBenchmark } from "./preview";
import { rolloutBenchmark } from "./rollout";
import { remoteBenchmark } from "./remote";
import { scaleBenchmark } from "./scale";

const RESULTS = path.join(__dirname, "../../bench/results");
const log = (l: string) => console.log(`[bench] ${new Date().toISOString().slice(11, 19)} ${l}`);

/** Writes bench/results/<name>.json, and <name>.svg where the benchmark has a chart. */
async function write(name: string, json: object, svg?: Promise<string>) {
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(path.join(RESULTS, `${name}.json`), JSON.stringify(json, null, 2) + "\n");
    if (svg) writeFileSync(path.join(RESULTS, `${name}.svg`), await svg);
    console.log(JSON.stringify(json, null, 2));
    log(`written: ${path.join(RESULTS, `${name}.json`)}${svg ? `, ${name}.svg` : ""}`);
}

interface Options {
    rounds: number;
    containers: number;
    cases?: string[];
    nodes: number[];
}

const BENCHMARKS: Record<string, (opts: Options) => Promise<void>> = {
    async rollout({ cases }) {
        const { json, timelines } = await rolloutBenchmark(log, cases);
        await write("rollout", json, timelineSvg(timelines, "Release under load: berth (pulumi up) vs Docker Swarm vs stop-start"));
    },
    async scale({ rounds, containers }) {
        const { json, timelines } = await scaleBenchmark(log, rounds, containers);
        await write("scale", json, timelineSvg(timelines, "Scale-in under load: berth vs Docker Swarm, both behind HAProxy"));
    },
    /** One container per node on 3, 10, 20 hosts: create, unchanged preview, release, beside a raw dockerode script. */
    async nodes({ rounds, nodes }) {
        const { json, curves } = await nodesBenchmark(log, rounds, nodes);
        const title = `One container per node: berth vs raw dockerode, median and min-max of ${rounds} rounds`;
        await write("nodes", json, curvesSvg(curves, title, { x: "nodes", y: "seconds" }));
    },
    /** Preview and release times on nodes reached over a unix socket, mutual TLS and SSH. */
    async remote() {
        await write("remote", await remoteBenchmark(log));
    },
    /** `pulumi preview` of 50 services: the provider's time beyond the engine's own (no-op resources). */
    async preview() {
        await write("preview", await previewBenchmark(log));
    },
};

function nodeCounts(v: string): number[] {
    const counts = v.split(",").map(Number);
    if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 200)) throw new Error(`--nodes: whole numbers from 1 to 200, got ${v}`);
    return counts;
}

const program = new Command("bench")
    .description("berth benchmarks against Docker Swarm and plain scripts on the local cluster (no name: all of them)")
    .argument("[names...]", `benchmarks to run: ${Object.keys(BENCHMARKS).join(", ")}`)
    .option("--rounds <n>", "scale, nodes: interleaved rounds", (v) => Number(v), 3)
    .option("--containers <n>", "scale: containers to scale out to (150; fewer for a quick check)", (v) => Number(v), 150)
    .option("--cases <list>", "rollout: only these cases, comma-separated (default all)", (v) => v.split(","))
    .option("--nodes <list>", "nodes: node counts, comma-separated, up to 200 (default 3,10,20)", nodeCounts, [3, 10, 20])
    .action(async (names: string[], opts: Options) => {
        const unknown = names.filter((n) => !BENCHMARKS[n]);
        if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(", ")}; known: ${Object.keys(BENCHMARKS).join(", ")}`);
        const failed: string[] = [];
        for (const name of names.length ? names : Object.keys(BENCHMARKS)) {
            const started = Date.now();
            log(`${name}: starting`);
            try {
                await BENCHMARKS[name](opts);
            } catch (e: any) {
                // The next benchmark still runs; the exit code says one failed.
                log(`${name}: failed: ${e?.stack ?? e}`);
                failed.push(name);
            }
            log(`${name}: done in ${Math.round((Date.now() - started) / 1000)} s`);
        }
        if (failed.length) throw new Error(`benchmarks failed: ${failed.join(", ")}`);
    });

program.parseAsync().catch((e) => {
    console.error(`bench failed: ${e?.stack ?? e}`);
    process.exit(1);
});
