// Preview benchmark (issue 8, item 7): `pulumi preview` of a stack of 50 one-replica services on the
// 3 local hosts, with no change and with an image change (every Service's check/diff plans a
// release), against a stack of the same shape whose resources are no-op dynamic resources: the
// difference is the provider's time beyond the engine's own. Cases interleaved, median of 3 rounds.
import * as os from "os";
import * as pulumi from "@pulumi/pulumi";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { Cluster, Service } from "../index";
import { destroyStack, openStack } from "../scripts/lib/stack";
import { cleanSlate, local, nodeSpecs } from "../test/support/world";
import { round2 } from "./rig";
import { Spread, spread } from "./scale";

const SERVICES = 50;
const ROUNDS = 3;
const GOAL_SECONDS = 2;
const PROJECT = "berth-bench-preview";

/** Does nothing: what a dynamic resource costs the engine, its provider host and the program. */
const noopProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        return { inputs: news };
    },
    // A changed input still shows as an update, so the engine walks the same steps as for berth's.
    async diff(_id, olds, news) {
        return { changes: olds.image !== news.image };
    },
    async create(inputs) {
        return { id: inputs.name, outs: inputs };
    },
};

class Noop extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly nodes: pulumi.Output<unknown>;

    constructor(name: string, props: Record<string, pulumi.Input<unknown>>, secretOutputs: string[]) {
        super(noopProvider, name, { name, ...props }, { additionalSecretOutputs: secretOutputs }, "bench", "Noop");
    }
}

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
    for (let i = 0; i < SERVICES; i++) new Noop(`preview-${i}`, { cluster: { name: cluster.name, nodes: cluster.nodes }, ...serviceArgs(image) }, ["cluster"]);
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
        const beyondEngineSeconds = { unchanged: beyond("berthUnchanged", "noopUnchanged"), imageChange: beyond("berthImageChange", "noopInputChange") };
        return {
            benchmark: "preview",
            at: new Date().toISOString(),
            rig: {
                hosts: local.hosts.length, services: SERVICES, replicasEach: 1, rounds: ROUNDS, image: "berth-demo from the cluster's registry, v1 (v2 for the change)",
                berth: "pulumi preview through the Automation API and the real CLI (local file backend) of a Cluster and 50 Services (no binding, no health check)",
                noop: "the same stack shape and inputs, every resource a dynamic resource whose provider does nothing; its input change is the same image config",
                stepsSeconds: "from the first to the last of the 50 resources' step events, as the Automation API receives them (it polls the event log every 200 ms)",
                loadAverage: { before: loadBefore, after: round2(os.loadavg()[0]) },
            },
            summary,
            beyondEngineSeconds,
            goal: { beyondEngineSeconds: GOAL_SECONDS, met: Math.max(beyondEngineSeconds.unchanged, beyondEngineSeconds.imageChange) < GOAL_SECONDS },
            runs,
        };
    } finally {
        for (const stack of stacks) await destroyStack(stack);
        cleanSlate();
    }
}
