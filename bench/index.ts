// `npm run bench [-- <name>]`: runs one benchmark, or all of them, on the local cluster and writes
// bench/results/<name>.json and <name>.svg.
import { Command } from "commander";
import { mkdirSync, writeFileSync } from "fs";
import * as path from "path";
import { Timeline, timelineSvg } from "./chart";
import { previewBenchmark } from "./preview";
import { rolloutBenchmark } from "./rollout";
import { remoteBenchmark } from "./remote";
import { scaleBenchmark } from "./scale";

const RESULTS = path.join(__dirname, "../../bench/results");
const log = (l: string) => console.log(`[bench] ${new Date().toISOString().slice(11, 19)} ${l}`);

/** Writes bench/results/<name>.json, and <name>.svg where the benchmark has timelines to chart. */
async function write(name: string, json: object, timelines?: Timeline[], title = name) {
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(path.join(RESULTS, `${name}.json`), JSON.stringify(json, null, 2) + "\n");
    if (timelines) writeFileSync(path.join(RESULTS, `${name}.svg`), await timelineSvg(timelines, title));
    console.log(JSON.stringify(json, null, 2));
    log(`written: ${path.join(RESULTS, `${name}.json`)}${timelines ? `, ${name}.svg` : ""}`);
}

const BENCHMARKS: Record<string, (opts: { rounds: number; containers: number; cases?: string[] }) => Promise<void>> = {
    async rollout({ cases }) {
        const { json, timelines } = await rolloutBenchmark(log, cases);
        await write("rollout", json, timelines, "Release under load: berth (pulumi up) vs Docker Swarm vs stop-start");
    },
    async scale({ rounds, containers }) {
        const { json, timelines } = await scaleBenchmark(log, rounds, containers);
        await write("scale", json, timelines, "Scale-in under load: berth vs Docker Swarm, both behind HAProxy");
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

const program = new Command("bench")
    .description("berth benchmarks against Docker Swarm and plain scripts on the local cluster (no name: all of them)")
    .argument("[names...]", `benchmarks to run: ${Object.keys(BENCHMARKS).join(", ")}`)
    .option("--rounds <n>", "scale: interleaved rounds", (v) => Number(v), 3)
    .option("--containers <n>", "scale: containers to scale out to (150; fewer for a quick check)", (v) => Number(v), 150)
    .option("--cases <list>", "rollout: only these cases, comma-separated (default all)", (v) => v.split(","))
    .action(async (names: string[], opts: { rounds: number; containers: number; cases?: string[] }) => {
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
