// What a Service's inputs do to real containers, beyond the image: env and command, a health check by
// command and its start period, a release that never becomes healthy, batches with pauses and a
// per-node limit at run time. Real hosts, real HAProxy.
import * as assert from "node:assert/strict";
import * as sinon from "sinon";
import { NodeConnection } from "../../provider/docker/connection";
import { serviceProvider } from "../../provider/engine/service";
import { slbBindingProvider } from "../../provider/engine/slbBinding";
import { ServiceArgs, ServiceState, SlbBindingState } from "../../provider/model";
import { backendsIn, cleanSlate, containersOf, local, nodeSpecs, slbAddress, waitForBody } from "../support/world";

const ID = "it/spec";

function serviceArgs(slb: SlbBindingState, extra: Partial<ServiceArgs> = {}): ServiceArgs {
    return {
        name: "spec",
        cluster: { name: "it", nodes: nodeSpecs() },
        image: local.images.v1,
        replicas: 3,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: 0.5, timeoutSeconds: 3, retries: 2 },
        stopGracePeriodSeconds: 2,
        bindings: [{ slb }],
        release: { healthyTimeoutSeconds: 20, lbHealthyTimeoutSeconds: 20, drainTimeoutSeconds: 5 },
        ...extra,
    };
}

async function inspect(state: ServiceState, index = 0) {
    const c = state.containers[index];
    return new NodeConnection(nodeSpecs().find((n) => n.name === c.node)!).docker(30_000).getContainer(c.id).inspect();
}

describe("a Service's container settings and release settings on real containers", function () {
    this.timeout(300_000);
    let slb: SlbBindingState;
    let state: ServiceState | undefined;
    const lines: string[] = [];

    beforeEach(async () => {
        cleanSlate();
        lines.length = 0;
        sinon.stub(console, "log").callsFake((l: string) => void lines.push(String(l)));
        slb = (
            await slbBindingProvider.create({
                name: "spec-public",
                driver: "haproxy",
                haproxy: { adminSocket: local.slbs[0].adminSocket, masterSocket: local.slbs[0].masterSocket, configPath: local.slbs[0].configPath },
                listen: { address: slbAddress, port: 18131 },
                healthCheck: { httpPath: "/health", intervalMs: 300, rise: 2, fall: 2 },
            })
        ).outs as SlbBindingState;
        state = undefined;
    });
    afterEach(async () => {
        sinon.restore();
        cleanSlate();
    });

    it("env and command: the container runs the command with the environment, and serves what it wrote", async () => {
        state = (
            await serviceProvider.create(
                serviceArgs(slb, {
                    replicas: 2,
                    env: { GREETING: "from-env" },
                    command: ["/bin/sh", "-c", "printf 'berth-demo %s' \"$GREETING\" > /www/index.html && exec /bin/serve"],
                }),
            )
        ).outs as ServiceState;
        assert.match(await waitForBody(slb.url!, /berth-demo from-env/), /berth-demo from-env/);
        const info = await inspect(state);
        assert.ok(info.Config.Env.includes("GREETING=from-env"), JSON.stringify(info.Config.Env));
        assert.deepEqual(info.Config.Cmd, ["/bin/sh", "-c", "printf 'berth-demo %s' \"$GREETING\" > /www/index.html && exec /bin/serve"]);
    });

    it("healthCheck.command and startPeriodSeconds: Docker runs the command, with the start period, and the release waits for it", async () => {
        const healthCheck = {
            command: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1/health"],
            intervalSeconds: 0.5,
            timeoutSeconds: 3,
            retries: 2,
            startPeriodSeconds: 7,
        };
        state = (await serviceProvider.create(serviceArgs(slb, { healthCheck }))).outs as ServiceState;
        const info = await inspect(state);
        assert.deepEqual(info.Config.Healthcheck?.Test, ["CMD", ...healthCheck.command]);
        assert.equal(info.Config.Healthcheck?.StartPeriod, 7e9);
        assert.ok(
            state.containers.every((c) => c.health === "healthy"),
            JSON.stringify(state.containers),
        );
        assert.ok(
            lines.some((l) => /waiting for Docker health/.test(l)),
            lines.join("\n"),
        );
    });

    it("a new revision never healthy within healthyTimeoutSeconds: the release fails saying so, the old keeps serving, nothing of the new is left", async () => {
        const args = serviceArgs(slb, { release: { healthyTimeoutSeconds: 4, lbHealthyTimeoutSeconds: 20, drainTimeoutSeconds: 5 } });
        state = (await serviceProvider.create(args)).outs as ServiceState;
        const before = state.containers.map((c) => c.name).sort();
        // Failures in the start period do not count: Docker says "starting" until the timeout ends the wait.
        const failing = {
            ...args,
            healthCheck: { command: ["false"], intervalSeconds: 0.5, timeoutSeconds: 2, retries: 1, startPeriodSeconds: 120 },
        };
        await assert.rejects(serviceProvider.update!(ID, state, failing), (e: Error) => {
            assert.match(
                e.message,
                /not healthy within release\.healthyTimeoutSeconds=4s: (spec-o[0-9a-f]{7}-\d-\w+-\w+ on h\d is starting(; )?){3}/,
            );
            assert.match(e.message, /The previous revision keeps serving; the new containers were removed\./);
            return true;
        });
        assert.deepEqual((await backendsIn("spec-public")).map((b) => b.name).sort(), before, "the old backends, only");
        assert.deepEqual((await containersOf("spec")).map((c) => c.name).sort(), before, "no container of the failed revision left");
        assert.match(await waitForBody(slb.url!, /berth-demo v1/), /berth-demo v1/);
    });

    it("batchSize, pauseSeconds and maxPerNode at run time: one container per batch, a pause between, never two on a node", async () => {
        const args = serviceArgs(slb, {
            replicas: 3,
            placement: { maxPerNode: 1 },
            release: { healthyTimeoutSeconds: 20, lbHealthyTimeoutSeconds: 20, drainTimeoutSeconds: 5, batchSize: 1, pauseSeconds: 1 },
        });
        state = (await serviceProvider.create(args)).outs as ServiceState;
        assert.deepEqual(state.containers.map((c) => c.node).sort(), ["h1", "h2", "h3"]);
        lines.length = 0;
        state = (await serviceProvider.update!(ID, state, { ...args, image: local.images.v2 })).outs as ServiceState;
        const batches = state.lastRelease.filter((l) => l.startsWith("batch "));
        assert.equal(batches.length, 3, state.lastRelease.join("\n"));
        assert.deepEqual(lines.filter((l) => /pausing 1s before batch \d\/3 \(release\.pauseSeconds\)/.test(l)).length, 2, lines.join("\n"));
        const perNode = new Map<string, number>();
        for (const c of await containersOf("spec")) perNode.set(c.node, (perNode.get(c.node) ?? 0) + 1);
        assert.deepEqual([...perNode.values()], [1, 1, 1], JSON.stringify([...perNode]));
        assert.match(await waitForBody(slb.url!, /berth-demo v2/), /berth-demo v2/);
    });
});
