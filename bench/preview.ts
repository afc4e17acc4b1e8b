// Preview benchmark (issue 8, item 7): `pulumi preview` of a stack of 50 one-replica services on the
// 3 local hosts, with no change and with an image change (every Service's check/diff plans a
// release), against a stack of the same shape whose resources are no-op dynamic resources: the
// difference is the provider's time beyond the engine's own. Cases interleaved, median of 3 rounds.
import * as os from "os";
import * as pulumi from "@pulumi/pulumi";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { Cluster, Service, SlbBinding } from "../index";
import { LocalCluster } from "../examples/quickstart/program";
import { destroyStack, openStack } from "../scripts/lib/stack";
import { cleanSlate, local, nodeSpecs, nodeSpecsOf, sideCluster } from "../test/support/world";
import { Noop, round2 } from "./rig";
import { Spread, spread } from "./scale";

const SERVICES = 50;
const ROUNDS = 3;
const GOAL_SECONDS = 2;
const PROJECT = "berth-bench-preview";

// Both stacks: one cluster resource and 50 resources that take it and the image, with the same inputs
// and the same secret outputs (the nodes), so the engine encrypts and stores the same state.
const serviceArgs = (image: string) => ({ image, replicas: 1, ports: [{ containerPort: 80 }] });

function berthProgram() {
    const image = new pulumi.Config().require("image");
    const cluster = new Cluster("preview-cluster", { nodes: nodeSpecs() });
    for (let i = 0; i < SERVICES; i++) new Service(`preview-${i}`, { cluster, ...serviceArgs(image) });
}

function noopProgram() {
    const image = new pulumi.Config().require("image");
    const cluster = new Noop("preview-cluster", { nodes: nodeSpecs() }, ["nodes"]);
    for (let i = 0; i < SERVICES; i++)
        new Noop(`preview-${i}`, { cluster: { name: cluster.name, nodes: cluster.nodes }, ...serviceArgs(image) }, ["cluster"]);
}

interface Timing {
    seconds: number;
    /** From the first to the last of the 50 resources' step events: the engine checks and diffs resources one at a time, so this is mostly their check/diff. */
    stepsSeconds: number;
}

/** One timed `pulumi preview`; the change it reports must be the case's, or the figure would measure something else. */
async function preview(stack: Stack, image: string, updates: number): Promise<Timing> {
    await stack.setConfig("image", { value: image });
    const stepAt: number[] = [];
    const onEvent = (e: EngineEvent) => {
        if (/::preview-\d+$/.test(e.resourcePreEvent?.metadata.urn ?? "")) stepAt.push(Date.now());
    };
    const started = Date.now();
    const r = await stack.preview({ onEvent });
    const seconds = (Date.now() - started) / 1000;
    const summary = r.changeSummary;
    if ((summary.update ?? 0) !== updates || (summary.same ?? 0) !== SERVICES + 2 - updates) {
        throw new Error(`${stack.name}: preview expected ${updates} update(s), got ${JSON.stringify(summary)}`);
    }
    return { seconds: round2(seconds), stepsSeconds: round2((stepAt[stepAt.length - 1] - stepAt[0]) / 1000) };
}

/** A service behind one binding on the given cluster's hosts: what `preview --diff` shows a reviewer of its image change. */
function reviewedProgram(on: LocalCluster) {
    const image = new pulumi.Config().require("image");
    const slb = on.slbs[0];
    const cluster = new Cluster("reviewed", { nodes: nodeSpecsOf(on) });
    const binding = new SlbBinding("reviewed-public", {
        haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
        listen: { address: slb.address, port: 18580 },
        healthCheck: { httpPath: "/health", intervalMs: 500, rise: 2, fall: 2 },
    });
    new Service("reviewed", {
        cluster,
        ...serviceArgs(image),
        replicas: 3,
        healthCheck: { httpPath: "/health", intervalSeconds: 1 },
        bindings: [binding],
    });
}

/** Lines under the Service in `pulumi preview --diff` of an image change, and how many of them are the plan. */
async function diffLines(on: LocalCluster, log: (l: string) => void): Promise<{ nodes: number; serviceLines: number; planLines: number }> {
    const stack = await openStack(PROJECT, `reviewed-${on.cluster}-${Date.now()}`, async () => reviewedProgram(on), { image: on.images.v1 });
    try {
        await stack.up();
        await stack.setConfig("image", { value: on.images.v2 });
        const out = (await stack.preview({ diff: true })).stdout.split("\n");
        const start = out.findIndex((l) => /berth:Service: \(update\)/.test(l));
        if (start < 0) throw new Error(`no Service update in the preview:\n${out.join("\n")}`);
        const end = out.findIndex((l, i) => i > start && (/^\s*--outputs:--/.test(l) || /^\s*[~+-]? ?\S+:\S+: \(/.test(l) || /^Resources:/.test(l)));
        const block = out.slice(start, end);
        // The plan's lines are indented deeper than the Service's properties (8 columns, or 6 and a marker).
        const at = block.findIndex((l) => /plannedChange\s*:/.test(l));
        const next = block.findIndex((l, i) => i > at && /^( {6}[~+-] | {8})\S/.test(l));
        const plan = block.slice(at + 1, next < 0 ? block.length : next);
        log(`preview --diff on ${on.hosts.length} nodes: ${block.length} lines under the Service, ${plan.length} of them the plan`);
        return { nodes: on.hosts.length, serviceLines: block.length, planLines: plan.length };
    } finally {
        await destroyStack(stack);
    }
}

/** The diff's length on the bench cluster's 3 hosts and on a side cluster of 50: it must not grow with the nodes. */
async function diffLinesByNodes(log: (l: string) => void) {
    const results = [await diffLines(local, log)];
    log("starting a side cluster of 50 hosts");
    const side = sideCluster(50);
    try {
        results.push(await diffLines(side.cluster, log));
    } finally {
        side.stop();
    }
    return results;
}

export async function previewBenchmark(log: (l: string) => void) {
    const { v1, v2 } = local.images;
    // The figures are a few seconds: the machine's load says how far to trust them.
    const loadBefore = round2(os.loadavg()[0]);
    cleanSlate();
    const stamp = Date.now();
    const stacks: Stack[] = [];
    try {
        const berth = await openStack(PROJECT, `berth-${stamp}`, async () => berthProgram(), { image: v1 });
        stacks.push(berth);
        const noop = await openStack(PROJECT, `noop-${stamp}`, async () => noopProgram(), { image: v1 });
        stacks.push(noop);
        for (const stack of stacks) {
            const started = Date.now();
            await stack.up();
            log(`${stack.name}: up in ${round2((Date.now() - started) / 1000)} s`);
        }
        const cases: Record<string, () => Promise<Timing>> = {
            berthUnchanged: () => preview(berth, v1, 0),
            berthImageChange: () => preview(berth, v2, SERVICES),
            noopUnchanged: () => preview(noop, v1, 0),
            noopInputChange: () => preview(noop, v2, SERVICES),
        };
        const names = Object.keys(cases);
        const runs: Record<string, Timing[]> = Object.fromEntries(names.map((n) => [n, []]));
        for (let round = 0; round < ROUNDS; round++) {
            // Rotate who goes first, so no case always runs on the freshest (or most tired) machine.
            for (const name of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
                const t = await cases[name]();
                runs[name].push(t);
                log(`round ${round + 1}/${ROUNDS}: ${name} ${t.seconds} s (steps ${t.stepsSeconds} s)`);
            }
        }
        const summary: Record<string, { seconds?: Spread; stepsSeconds?: Spread }> = Object.fromEntries(
            names.map((n) => [n, { seconds: spread(runs[n].map((t) => t.seconds)), stepsSeconds: spread(runs[n].map((t) => t.stepsSeconds)) }]),
        );
        const beyond = (b: string, n: string) => round2(summary[b].seconds!.median - summary[n].seconds!.median);
        const beyondEngineSeconds = {
            unchanged: beyond("berthUnchanged", "noopUnchanged"),
            imageChange: beyond("berthImageChange", "noopInputChange"),
        };
        for (const stack of stacks.splice(0)) await destroyStack(stack);
        const diffs = await diffLinesByNodes(log);
        return {
            benchmark: "preview",
            at: new Date().toISOString(),
            rig: {
                hosts: local.hosts.length,
                services: SERVICES,
                replicasEach: 1,
                rounds: ROUNDS,
                image: "berth-demo from the cluster's registry, v1 (v2 for the change)",
                berth: "pulumi preview through the Automation API and the real CLI (local file backend) of a Cluster and 50 Services (no binding, no health check)",
                noop: "the same stack shape and inputs, every resource a dynamic resource whose provider does nothing; its input change is the same image config",
                stepsSeconds:
                    "from the first to the last of the 50 resources' step events, as the Automation API receives them (it polls the event log every 200 ms)",
                loadAverage: { before: loadBefore, after: round2(os.loadavg()[0]) },
            },
            summary,
            beyondEngineSeconds,
            goal: { beyondEngineSeconds: GOAL_SECONDS, met: Math.max(beyondEngineSeconds.unchanged, beyondEngineSeconds.imageChange) < GOAL_SECONDS },
            runs,
            previewDiffLines: {
                what: "lines under the Service in `pulumi preview --diff` of an image change (3 replicas, one binding)",
                byNodes: diffs,
            },
        };
    } finally {
        for (const stack of stacks) await destroyStack(stack);
        cleanSlate();
    }
}
