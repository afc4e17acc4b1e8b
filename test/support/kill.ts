// `pulumi up` killed with SIGKILL (and its plugins) when a progress line appears: what a crash or an
// OOM kill does to a release.
import * as assert from "node:assert/strict";
import { Stack } from "@pulumi/pulumi/automation";
import { execFileSync } from "child_process";

/** SIGKILLs this stack's running `pulumi up` and everything it started (the provider plugins), and no one else's. */
function killPulumiUp(stack: string): number {
    const pids = execFileSync("pgrep", ["-f", `pulumi up .*--exec-kind auto.inline.*--stack ${stack}( |$)`], { encoding: "utf8" })
        .trim()
        .split("\n")
        .filter(Boolean);
    const tree = (pid: string): string[] => {
        let children: string[] = [];
        try {
            children = execFileSync("pgrep", ["-P", pid], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
        } catch {
            // no children
        }
        return [pid, ...children.flatMap(tree)];
    };
    const all = pids.flatMap(tree);
    for (const pid of all) {
        try {
            process.kill(Number(pid), "SIGKILL");
        } catch {
            // already gone
        }
    }
    return all.length;
}

/** Runs `pulumi up` and kills it when a progress line matches `at`. */
export async function upKilledAt(stack: Stack, at: RegExp): Promise<string> {
    let killed = 0;
    const out: string[] = [];
    await assert.rejects(
        stack.up({
            onOutput: (s) => {
                out.push(s);
                if (!killed && at.test(s)) killed = killPulumiUp(stack.name);
            },
        }),
    );
    assert.ok(killed > 0, `never reached ${at}:\n${out.join("")}`);
    // What a user does after a killed run: `pulumi cancel` releases the stack's lock.
    await stack.cancel();
    return out.join("");
}
