// Stacks of the example programs (Python, YAML), run through the real `pulumi` CLI with their
// language host and berth's provider plugin.
import { execFileSync } from "child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "fs";
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

/** What a program of this runtime needs in its environment: a Python one imports the SDK and the examples' shared module. */
function runtimeEnv(programDir: string): Record<string, string> {
    if (!/^runtime:\s*python\b/m.test(readFileSync(path.join(programDir, "Pulumi.yaml"), "utf8"))) return {};
    return { PYTHONPATH: [pythonSdkSite(), path.join(REPO, "examples", "python-shared")].join(":") };
}

/** Stack config: a string, or an object or list (structured config, e.g. the hosts a YAML program takes). */
export type ProgramConfig = Record<string, string | object>;

/** Sets stack config; structured values through `pulumi config set-all --json`, which keeps them objects. */
export async function setProgramConfig(stack: Stack, config: ProgramConfig): Promise<void> {
    const project = (await stack.workspace.projectSettings()).name;
    const entries = Object.entries(config).map(([key, v]) => {
        const value = typeof v === "string" ? { value: v } : { value: JSON.stringify(v), objectValue: v };
        return [`${project}:${key}`, { ...value, secret: false }];
    });
    await stack.setAllConfigJson(JSON.stringify(Object.fromEntries(entries)));
}

/** A new stack of examples/<example>, from a copy: the stack's config file lands beside the program. */
export async function openProgramStack(example: string, config: ProgramConfig): Promise<Stack> {
    const workDir = mkdtempSync(path.join(os.tmpdir(), `berth-${example}-`));
    cpSync(path.join(REPO, "examples", example), workDir, { recursive: true });
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: `e2e-${Date.now()}`, workDir },
        {
            pulumiCommand: await pulumiCommand(),
            envVars: { PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "", ...runtimeEnv(workDir) },
        },
    );
    await setProgramConfig(stack, config);
    return stack;
}

/** Destroys what is left, removes the stack and its copy of the program. */
export async function removeProgramStack(stack: Stack | undefined): Promise<void> {
    if (!stack) return;
    await destroyStack(stack);
    rmSync(stack.workspace.workDir, { recursive: true, force: true });
}
