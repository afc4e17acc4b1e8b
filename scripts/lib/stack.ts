// Runs Pulumi programs through the real `pulumi` CLI (Automation API, local file backend).
import { InlineProgramArgs, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { mkdirSync, mkdtempSync } from "fs";
import * as os from "os";
import * as path from "path";
import { isolateInlineRunChannels } from "./inlineRuns";
import { linkBerthInto } from "../../provider/resources/lazy";

isolateInlineRunChannels();

export async function pulumiCommand(): Promise<PulumiCommand> {
    const bin = process.env.BERTH_PULUMI_BIN;
    if (!bin) throw new Error("BERTH_PULUMI_BIN is not set: run through scripts/env.sh");
    return PulumiCommand.get({ root: path.dirname(bin), skipVersionCheck: true });
}

/**
 * Opens (or creates) a stack of an inline program. Stack config lives in the workspace directory:
 * give `workDir` for config that must outlast this process (the demo); without it a temporary one is used.
 * The dynamic provider runs in the work directory and loads berth by package name from there.
 */
export async function openStack(
    projectName: string,
    stackName: string,
    program: InlineProgramArgs["program"],
    config: Record<string, string> = {},
    workDir?: string,
): Promise<Stack> {
    workDir = workDir ?? mkdtempSync(path.join(os.tmpdir(), "berth-inline-"));
    mkdirSync(workDir, { recursive: true });
    linkBerthInto(workDir);
    const stack = await LocalWorkspace.createOrSelectStack(
        { projectName, stackName, program },
        {
            workDir,
            pulumiCommand: await pulumiCommand(),
            projectSettings: { name: projectName, runtime: "nodejs", backend: { url: process.env.PULUMI_BACKEND_URL } },
            envVars: { PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "" },
        },
    );
    for (const [k, v] of Object.entries(config)) await stack.setConfig(k, { value: v });
    return stack;
}

/** Removes a stack whatever state it is in, so a failed test does not poison the next. */
export async function removeStack(stack: Stack): Promise<void> {
    try {
        await stack.cancel();
    } catch {
        // nothing running
    }
    await stack.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
}

/** The outputs Pulumi state holds for one resource (refresh updates these; stack outputs only change on up). */
export async function resourceOutputs(stack: Stack, type: string, name: string): Promise<Record<string, any>> {
    const state = await stack.exportStack();
    const resource = (state.deployment.resources ?? []).find((r: any) => r.type === type && r.urn.endsWith(`::${name}`));
    if (!resource) throw new Error(`no ${type} ${name} in stack ${stack.name}`);
    return resource.outputs;
}

/** Where `npm run demo` keeps its stack config (the last options given): per cluster, so a run on the test cluster never changes the user's demo. */
export function demoWorkspace(cluster: string): string {
    const name = cluster === "demo" ? "berth-quickstart" : `berth-quickstart-${cluster}`;
    return path.join(process.env.BERTH_CACHE ?? path.join(os.homedir(), ".cache/berth"), "workspaces", name);
}

/** Destroys what a test left behind, if anything, and removes its stack. */
export async function destroyStack(stack: Stack | undefined, onOutput?: (out: string) => void): Promise<void> {
    if (!stack) return;
    await stack.destroy({ onOutput }).catch(() => undefined);
    await removeStack(stack);
}
