#!/usr/bin/env node
// `npx berth-restate --stack <name>`: for a stack whose state was written by a berth that loaded its
// engines by absolute path, from a checkout that is gone. Pulumi runs the stored provider to delete
// a resource, and no code of ours runs before that provider's `require`: so the fix is in the state.
// Through `pulumi stack export` / `import`, every berth resource's stored provider becomes the one
// this berth serializes (engines loaded by package name). Secrets stay encrypted: nothing is decrypted.
import { execFileSync } from "child_process";
import { Command } from "commander";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import * as os from "os";
import * as path from "path";
import { EngineModule, lazyProvider } from "../provider/resources/lazy";

const ENGINES: Record<string, [EngineModule, string]> = {
    Service: ["service", "serviceProvider"],
    SlbBinding: ["slbBinding", "slbBindingProvider"],
    Cluster: ["cluster", "clusterProvider"],
    PostStartHook: ["hook", "hookProvider"],
    RegistryBucketRotation: ["registryRotation", "registryRotationProvider"],
};

/** The text Pulumi stores for a provider: the same function the dynamic Resource calls when a program runs. */
async function serialized(engine: EngineModule, exportName: string): Promise<string> {
    const { serializeFunction } = require("@pulumi/pulumi/runtime/closure/serializeClosure");
    const provider = lazyProvider(engine, exportName);
    return (await serializeFunction(() => provider, { allowSecrets: true })).text;
}

/** Rewrites the stored providers of berth's resources in an exported deployment; returns how many changed. */
export async function restate(deployment: { resources?: Array<Record<string, any>> }): Promise<number> {
    let changed = 0;
    for (const r of deployment.resources ?? []) {
        const kind = /^pulumi-nodejs:dynamic\/berth:(\w+)$/.exec(r.type)?.[1];
        if (!kind || !ENGINES[kind]) continue;
        const text = await serialized(...ENGINES[kind]);
        let touched = false;
        for (const props of [r.inputs, r.outputs]) {
            if (props && typeof props.__provider === "string" && props.__provider !== text) {
                props.__provider = text;
                touched = true;
            }
        }
        if (touched) changed++;
    }
    return changed;
}

async function main() {
    const cli = new Command("berth-restate")
        .description("rewrite the berth providers stored in a stack's state, so that it runs from any checkout")
        .requiredOption("--stack <name>", "the stack (as `pulumi stack select` takes it)")
        .option("--cwd <dir>", "the Pulumi project directory", process.cwd())
        .option("--dry-run", "say how many resources would change, import nothing")
        .parse();
    const opts = cli.opts();
    const pulumi = (args: string[]) =>
        execFileSync("pulumi", [...args, "--stack", opts.stack], { cwd: opts.cwd, encoding: "utf8", maxBuffer: 1 << 30 });
    const exported = JSON.parse(pulumi(["stack", "export"]));
    const changed = await restate(exported.deployment);
    if (changed === 0 || opts.dryRun) {
        console.log(
            `berth-restate: ${changed} resource(s) of stack ${opts.stack} ${opts.dryRun ? "would change" : "already load berth by package name"}`,
        );
        return;
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), "berth-restate-"));
    try {
        const file = path.join(dir, "state.json");
        writeFileSync(file, JSON.stringify(exported), { mode: 0o600 });
        pulumi(["stack", "import", "--file", file]);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
    console.log(`berth-restate: rewrote the stored provider of ${changed} resource(s) of stack ${opts.stack}`);
}

if (require.main === module) {
    main().catch((e) => {
        console.error(`berth-restate: ${e?.stderr ?? e?.message ?? e}`);
        process.exit(1);
    });
}
