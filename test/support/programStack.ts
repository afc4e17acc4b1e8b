// Stacks of the example programs (Python, Go, YAML), run through the real `pulumi` CLI with their
// language hosts, the generated SDKs and berth's provider plugin.
import { execFileSync } from "child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { destroyStack, pulumiCommand } from "../../scripts/lib/stack";

const REPO = path.resolve(__dirname, "..", "..", "..");

/** A generated SDK's directory, made by its script when missing (scripts/setup.sh makes both; a run after only tsc may not have). */
function sdk(dir: string, script: string): string {
    const made = path.join(REPO, "dist", "sdk", dir);
    if (!existsSync(made)) execFileSync("bash", [path.join(REPO, "scripts", script)], { stdio: ["ignore", "ignore", "inherit"] });
    return made;
}

/** How a program of each runtime finds the generated SDK: its environment, and for Go its copy's go.mod. YAML needs nothing. */
const RUNTIMES: Record<string, (workDir: string) => Record<string, string>> = {
    python: () => ({ PYTHONPATH: [sdk("python-site", "python-sdk.sh"), path.join(REPO, "examples", "python-shared")].join(":") }),
    go: (workDir) => {
        // The example's replace is relative to examples/go; the copy points at the same SDK.
        execFileSync("go", ["mod", "edit", `-replace=github.com/berth-dev/berth/sdk/go=${sdk("go", "go-sdk.sh")}`], { cwd: workDir });
        // Set-up has downloaded every module the program builds on: the build needs no network.
        return { GOPROXY: "off", GOFLAGS: "-mod=mod", GOSUMDB: "off" };
    },
    yaml: () => ({}),
};

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
    const runtime = /^runtime:\s*(\w+)/m.exec(readFileSync(path.join(workDir, "Pulumi.yaml"), "utf8"))![1];
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: `e2e-${Date.now()}`, workDir },
        {
            pulumiCommand: await pulumiCommand(),
            envVars: { PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "", ...RUNTIMES[runtime](workDir) },
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
