// Remote-node cost: wall time of a `pulumi preview` and of a release (`pulumi up`, v1 <-> v2, with
// load-balancer registration and drain) of a 2-replica service on one node reached over a unix
// socket, over mutual TLS and over SSH; and the latency of a node's first Docker API request (the
// handshake) against later ones (a provider call reuses its connection).
import * as pulumi from "@pulumi/pulumi";
import { Cluster, NodeArgs, Service, SlbBinding } from "../index";
import { DockerHost } from "../provider/docker/host";
import { NodeSpec } from "../provider/model";
import { openStack, removeStack } from "../scripts/lib/stack";
import { startRemoteHosts, stopRemoteHosts } from "../test/support/remote";
import { cleanSlate, local, nodeSpecs, slbAddress } from "../test/support/world";

const ROUNDS = 3;
const REQUESTS = 50;
const PORT = 18185;

const seconds = (since: number) => Math.round((Date.now() - since) / 10) / 100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The node as a program gives it: keys as secrets. */
function asArgs(node: NodeSpec): NodeArgs {
    return {
        ...node,
        tls: node.tls && { ...node.tls, key: pulumi.secret(node.tls.key) },
        ssh: node.ssh && { ...node.ssh, privateKey: pulumi.secret(node.ssh.privateKey) },
    };
}

function program(kind: string, node: NodeSpec, port: number) {
    const slb = local.slbs[0];
    const cluster = new Cluster(`bench-${kind}`, { nodes: [asArgs(node)] });
    const binding = new SlbBinding(`bench-${kind}`, {
        haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
        listen: { address: slbAddress, port },
        healthCheck: { httpPath: "/health", intervalMs: 500, rise: 2, fall: 2 },
    });
    new Service(`bench-${kind}`, {
        cluster,
        image: new pulumi.Config().require("image"),
        replicas: 2,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: 1, timeoutSeconds: 3, retries: 3 },
        stopGracePeriodSeconds: 2,
        bindings: [binding],
        release: { drainTimeoutSeconds: 10 },
    });
}

/** First request (connection set-up included) and the mean of the next REQUESTS, in ms. */
async function requestLatency(node: NodeSpec) {
    const host = new DockerHost(node);
    let t = performance.now();
    await host.ping();
    const firstMs = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < REQUESTS; i++) await host.list({ "berth.service": "bench-remote" });
    return { firstMs: Math.round(firstMs), laterMs: Math.round(((performance.now() - t) / REQUESTS) * 10) / 10 };
}

/** Each kind's stack deploys, then previews and releases ROUNDS times; kinds take turns, so the machine's load falls on all alike. */
async function cliTimes(nodes: Record<string, NodeSpec>, log: (l: string) => void) {
    const kinds = Object.keys(nodes);
    const stacks = await Promise.all(
        kinds.map((kind, i) =>
            openStack("berth-bench-remote", `bench-${kind}-${Date.now()}`, async () => program(kind, nodes[kind], PORT + i), {
                image: local.images.v1,
            }),
        ),
    );
    const times = Object.fromEntries(kinds.map((k) => [k, { deploySeconds: 0, previewSeconds: [] as number[], releaseSeconds: [] as number[] }]));
    try {
        for (const [i, kind] of kinds.entries()) {
            const started = Date.now();
            await stacks[i].up();
            times[kind].deploySeconds = seconds(started);
        }
        for (let round = 0; round < ROUNDS; round++) {
            for (const [i, kind] of kinds.entries()) {
                await stacks[i].setConfig("image", { value: round % 2 === 0 ? local.images.v2 : local.images.v1 });
                let started = Date.now();
                await stacks[i].preview();
                times[kind].previewSeconds.push(seconds(started));
                started = Date.now();
                await stacks[i].up();
                times[kind].releaseSeconds.push(seconds(started));
            }
            log(
                `round ${round + 1}: ${kinds.map((k) => `${k} preview ${times[k].previewSeconds[round]}s release ${times[k].releaseSeconds[round]}s`).join("; ")}`,
            );
        }
        for (const stack of stacks) await stack.destroy();
    } finally {
        for (const stack of stacks) await removeStack(stack);
    }
    return Object.fromEntries(
        kinds.map((k) => [
            k,
            { ...times[k], medianPreviewSeconds: median(times[k].previewSeconds), medianReleaseSeconds: median(times[k].releaseSeconds) },
        ]),
    );
}

export async function remoteBenchmark(log: (l: string) => void) {
    cleanSlate();
    const remote = startRemoteHosts();
    try {
        const nodes: Record<string, NodeSpec> = {
            unix: { ...nodeSpecs()[0], name: "node" },
            tls: { ...remote.tlsNode, name: "node" },
            ssh: { ...remote.sshNode, name: "node" },
        };
        const requests: Record<string, { firstMs: number; laterMs: number }> = {};
        for (const [kind, node] of Object.entries(nodes)) {
            requests[kind] = await requestLatency(node);
            log(`${kind}: first request ${requests[kind].firstMs} ms, later ones ${requests[kind].laterMs} ms`);
        }
        const cli = await cliTimes(nodes, log);
        const ratio = (kind: string, key: "medianPreviewSeconds" | "medianReleaseSeconds") =>
            Math.round((cli[kind][key] / cli.unix[key]) * 100) / 100;
        return {
            rounds: ROUNDS,
            requests,
            cli,
            vsUnix: Object.fromEntries(
                ["tls", "ssh"].map((k) => [k, { preview: ratio(k, "medianPreviewSeconds"), release: ratio(k, "medianReleaseSeconds") }]),
            ),
        };
    } finally {
        stopRemoteHosts();
    }
}
