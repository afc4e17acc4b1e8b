// Stacks of the Python examples, run through the real `pulumi` CLI with berth's Python language
// host, the generated SDK and the provider plugin.
import { execFileSync } from "child_process";
import { cpSync, existsSync, mkdtempSync, rmSync } from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { destroyStack, pulumiCommand } from "../../scripts/lib/stack";

const REPO = path.resolve(__dirname, "..", "..", "..");

/** The generated SDK, installed for PYTHONPATH (scripts/setup.sh does it; a run after only tsc may not have). */
function pythonSdkSite(): string {
    const site = path.join(REPO, "dist", "sdk", "python-site");
    if (!existsSync(site)) execFileSync("bash", [path.join(REPO, "scripts", "python-sdk.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    return site;
}

/** A new stack of examples/<example>, from a copy: the stack's config file lands beside the program. */
export async function openProgramStack(example: string, config: Record<string, string>): Promise<Stack> {
    const workDir = mkdtempSync(path.join(os.tmpdir(), `berth-${example}-`));
    cpSync(path.join(REPO, "examples", example), workDir, { recursive: true });
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: `e2e-${Date.now()}`, workDir },
        { pulumiCommand: await pulumiCommand(), envVars: { PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "", PYTHONPATH: [pythonSdkSite(), path.join(REPO, "examples", "python-shared")].join(":") } },
    );
    await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value }])));
    return stack;
}

/** Destroys what is left, removes the stack and its copy of the program. */
export async function removeProgramStack(stack: Stack | undefined): Promise<void> {
    if (!stack) return;
    await destroyStack(stack);
    rmSync(stack.workspace.workDir, { recursive: true, force: true });
}
