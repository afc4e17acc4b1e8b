// `npm run demo`: deploys the quickstart to the local Docker hosts behind HAProxy with the real
// pulumi CLI (Automation API, local file backend) and prints the URL.
import { Command } from "commander";
import { quickstart, readLocalCluster } from "../examples/quickstart/program";
import { demoWorkspace, openStack } from "./lib/stack";

const cli = new Command("demo")
    .description("deploy the berth quickstart to the local cluster")
    .argument("[action]", "up | preview | destroy", "up")
    .option("--image <name>", "image version from the local registry (v1, v2, unhealthy) or a full reference (default: as before, first v1)")
    .option("--replicas <n>", "replicas of the web service (default: as before, first 3)")
    .option("--stack <name>", "stack name", "demo")
    .parse();

async function main() {
    const [action] = cli.args.length ? cli.args : ["up"];
    const opts = cli.opts();
    const local = readLocalCluster();
    // Only what is given changes: `--replicas 5` after `--image v2` keeps v2.
    const config: Record<string, string> = {};
    if (opts.image) config.image = local.images[opts.image] ?? opts.image;
    if (opts.replicas) config.replicas = String(opts.replicas);
    const workDir = demoWorkspace(local.cluster);
    const stack = await openStack("berth-quickstart", opts.stack, async () => quickstart(), config, workDir);
    const onOutput = (s: string) => process.stdout.write(s);
    if (action === "preview") {
        await stack.preview({ onOutput, diff: true });
    } else if (action === "destroy") {
        await stack.destroy({ onOutput });
    } else if (action === "up") {
        const result = await stack.up({ onOutput });
        const url = result.outputs.url.value;
        const answer = await (await fetch(url)).text();
        console.log(`\nberth demo is serving at ${url}\n  ${url} answers: ${answer.trim()}`);
        console.log(`  release a new version:  npm run demo -- --image v2`);
        console.log(`  remove it:              npm run demo -- destroy`);
    } else {
        cli.error(`unknown action ${action}: use up, preview or destroy`);
    }
}

main().catch((e) => {
    console.error(`demo failed: ${e?.message ?? e}`);
    process.exit(1);
});
