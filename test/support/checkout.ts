// An infra repo as a CI job checks it out: a Pulumi project whose program (plain JavaScript) loads
// berth from its own node_modules, at a path of its own.
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { packageRoot } from "../../provider/resources/lazy";
import { pulumiCommand } from "../../scripts/lib/stack";

/** An infra repo as a CI job checks it out: the program, and berth installed in its node_modules (a copy, at this path only). */
export function checkout(root: string, name: string, program: string): string {
    const dir = path.join(root, name);
    const modules = path.join(dir, "node_modules");
    mkdirSync(modules, { recursive: true });
    // berth's dependencies as links (so @pulumi/pulumi is one instance), berth itself copied.
    for (const entry of readdirSync(path.join(packageRoot, "node_modules"))) {
        if (!entry.startsWith(".")) symlinkSync(path.join(packageRoot, "node_modules", entry), path.join(modules, entry));
    }
    const berth = path.join(modules, "pulumi-berth");
    mkdirSync(berth);
    cpSync(path.join(packageRoot, "package.json"), path.join(berth, "package.json"));
    cpSync(path.join(packageRoot, "dist"), path.join(berth, "dist"), { recursive: true });
    writeFileSync(
        path.join(dir, "Pulumi.yaml"),
        "name: berth-portable\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n",
    );
    writeFileSync(path.join(dir, "index.js"), program);
    return dir;
}

/** The checkout's stack, run by the real CLI in its directory; `env` adds to the CLI's environment (a state backend, its credentials). */
export async function checkoutStack(dir: string, name: string, env: Record<string, string> = {}): Promise<Stack> {
    return LocalWorkspace.createOrSelectStack(
        { stackName: name, workDir: dir },
        { pulumiCommand: await pulumiCommand(), envVars: { PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "", ...env } },
    );
}
