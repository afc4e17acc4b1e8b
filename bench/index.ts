// `npm run bench -- <name>`: runs a benchmark on the local cluster and writes bench/results/<name>.json
// (and a chart where a picture says more).
import { Command } from "commander";
import { mkdirSync, writeFileSync } from "fs";
import * as path from "path";
import { timelineSvg } from "./chart";
import { rolloutBenchmark } from "./rollout";
import { remoteBenchmark } from "./remote";
import { scaleBenchmark } from "./scale";

const RESULTS = path.join(__dirname, "../../bench/results");

/** Writes bench/results/<name>.json and shows it. */
function save(name: string, json: object): void {
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(path.join(RESULTS, `${name}.json`), JSON.stringify(json, null, 2) + "\n");
    console.log(JSON.stringify(json, null, 2));
    console.log(`written: ${path.join(RESULTS, `${name}.json`)}`);
}

const program = new Command("bench").description("berth benchmarks on the local cluster");

program
    .command("rollout")
    .description("release v1 -> v2 of a 6-replica service under ~200 requests/s; berth vs. naive baselines")
    .action(async () => {
        const { json, timelines } = await rolloutBenchmark((l) => console.log(`[bench] ${l}`));
        mkdirSync(RESULTS, { recursive: true });
        writeFileSync(path.join(RESULTS, "rollout.json"), JSON.stringify(json, null, 2) + "\n");
        writeFileSync(path.join(RESULTS, "rollout.svg"), await timelineSvg(timelines, "v1 -> v2 under load: responses/s by version, and failures"));
        console.log(JSON.stringify(json, null, 2));
        console.log(`written: ${path.join(RESULTS, "rollout.json")}, rollout.svg`);
    });

program
    .command("scale")
    .description("scale one service 0 -> 150 containers on the local hosts and back to 10; berth vs. plain parallel dockerode")
    .action(async () => {
        save("scale", await scaleBenchmark((l) => console.log(`[bench] ${l}`)));
    });

program
    .command("remote")
    .description("preview and release times on a node reached over a unix socket, mutual TLS and SSH; first vs. later request latency")
    .action(async () => {
        save("remote", await remoteBenchmark((l) => console.log(`[bench] ${l}`)));
    });

program.parseAsync().catch((e) => {
    console.error(`bench failed: ${e?.stack ?? e}`);
    process.exit(1);
});
