// Ownership through the real CLI, under load: two stacks of one program with the same service name
// on one cluster serve side by side and never touch each other; a forced replacement of a serving
// Service (with and without a fixed host port) keeps serving; a Service moved into a component with
// an alias keeps its containers.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/automation";
import { Cluster, Service, SlbBinding } from "../../index";
import { destroyStack, openStack } from "../../scripts/lib/stack";
import { Load, summarize } from "../support/load";
import { backendsIn, cleanSlate, containersOf, listenerUrl, local, nodeSpecs, waitForBody } from "../support/world";

interface Shape {
    replicas: number;
    port: number;
    hostPort?: number;
    /** The Service inside a component (with an alias from where it was). */
    inComponent?: boolean;
    /** The listener's name; default: named after the stack. */
    bindingName?: string;
}

/** One program for every stack: the listener's section is named after the stack, as two stacks' listeners must differ. */
function program(shape: Shape) {
    return async () => {
        const slb = local.slbs[0];
        const cluster = new Cluster("own", { nodes: nodeSpecs() });
        const binding = new SlbBinding("own-web", {
            name: shape.bindingName ?? `own-web-${pulumi.getStack()}`,
            haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
            listen: { address: slb.address, port: shape.port },
            healthCheck: { httpPath: "/health", intervalMs: 300, rise: 1, fall: 2 },
        });
        const parent = shape.inComponent ? new pulumi.ComponentResource("test:index:WebGroup", "group") : undefined;
        const web = new Service(
            "web",
            {
                name: "web",
                cluster,
                image: local.images.v1,
                replicas: shape.replicas,
                ports: [{ containerPort: 80, ...(shape.hostPort ? { hostPort: shape.hostPort } : {}) }],
                healthCheck: { httpPath: "/health", intervalSeconds: 1, timeoutSeconds: 2, retries: 3 },
                stopGracePeriodSeconds: 3,
                bindings: [binding],
                release: { drainTimeoutSeconds: 10 },
            },
            parent ? { parent, aliases: [{ parent: pulumi.rootStackResource }] } : undefined,
        );
        return { url: binding.url, ownerId: web.ownerId };
    };
}

const byStack = async (stack: Stack) => (await containersOf("web")).filter((c) => c.stack?.endsWith(`/${stack.name}`));

async function serviceUrn(stack: Stack): Promise<string> {
    const state = await stack.exportStack();
    return state.deployment.resources.find((r: any) => r.type === "pulumi-nodejs:dynamic/berth:Service").urn;
}

/** Runs `action` under load on `url`; returns the summary of the requests sent meanwhile. */
async function underLoad(url: string, action: () => Promise<unknown>) {
    const load = new Load({ url, ratePerSecond: 50, slowShare: 0, maxSeconds: 300 }).start();
    await action();
    return summarize(await load.stop());
}

describe("ownership: stacks and resources change only what they own (real CLI, under load)", function () {
    this.timeout(900_000);
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);
    const stacks: Stack[] = [];
    const open = async (tag: string, shape: Shape) => {
        const stack = await openStack("berth-ownership", `${tag}-${Date.now()}`, program(shape));
        stacks.push(stack);
        return stack;
    };

    before(() => cleanSlate());
    afterEach(async () => {
        for (const stack of stacks.splice(0)) await destroyStack(stack, onOutput);
        cleanSlate();
    });

    it("two stacks of one program, one service name: both serve; each up and destroy leaves the other untouched", async () => {
        const a = await open("a", { replicas: 3, port: 18094 });
        const b = await open("b", { replicas: 2, port: 18095 });
        await a.up({ onOutput });
        await b.up({ onOutput });
        await waitForBody(listenerUrl(18094), /berth-demo v1/);
        await waitForBody(listenerUrl(18095), /berth-demo v1/);
        const aIds = (await byStack(a)).map((c) => c.id).sort();
        assert.equal(aIds.length, 3, "B's up left A's three containers");
        assert.equal((await byStack(b)).length, 2);
        assert.equal(new Set((await containersOf("web")).map((c) => c.name)).size, 5, "no two containers share a name");
        assert.equal((await a.preview({ onOutput })).changeSummary.update ?? 0, 0, "A sees B's containers as none of its business");

        const s = await underLoad(listenerUrl(18094), () => b.destroy({ onOutput }));
        console.log(`      destroy of B under load on A: ${s.total} requests, ${s.failed} failed`);
        assert.equal(s.failed, 0, JSON.stringify(s.errors));
        assert.deepEqual((await byStack(a)).map((c) => c.id).sort(), aIds, "A's containers untouched");
        assert.equal((await byStack(b)).length, 0);
        assert.equal((await backendsIn(`own-web-${a.name}`)).length, 3);
    });

    it("another stack's listener name or address is a preview error naming that stack; nothing is touched", async () => {
        const a = await open("la", { replicas: 1, port: 18098 });
        await a.up({ onOutput });
        const sameName = await open("lb", { replicas: 1, port: 18099, bindingName: `own-web-${a.name}` });
        await assert.rejects(
            sameName.preview({ onOutput }),
            new RegExp(`listener own-web-${a.name} belongs to stack organization/berth-ownership/${a.name}: give this stack's binding another name`),
        );
        const samePort = await open("lc", { replicas: 1, port: 18098 });
        await assert.rejects(
            samePort.up({ onOutput }),
            new RegExp(`:18098 is already the listener own-web-${a.name} of stack organization/berth-ownership/${a.name}`),
        );
        assert.equal((await containersOf("web")).length, 1, "no container of the refused stacks");
        await waitForBody(listenerUrl(18098), /berth-demo v1/);
    });

    for (const hostPort of [undefined, 18196]) {
        it(`pulumi up --replace of a serving Service keeps serving (${hostPort ? "fixed host port: batch by batch" : "new containers first"})`, async () => {
            const stack = await open(hostPort ? "rh" : "r", { replicas: 3, port: 18096, hostPort });
            const first = await stack.up({ onOutput });
            await waitForBody(listenerUrl(18096), /berth-demo v1/);
            const before = await byStack(stack);
            const s = await underLoad(listenerUrl(18096), async () => stack.up({ onOutput, replace: [await serviceUrn(stack)] }));
            console.log(`      --replace${hostPort ? " with a fixed host port" : ""} under load: ${s.total} requests, ${s.failed} failed`);
            assert.equal(s.failed, 0, JSON.stringify(s.errors));
            const after = await byStack(stack);
            assert.equal(after.length, 3, "the replacement serves with every replica");
            const owner = (await stack.outputs()).ownerId.value;
            assert.notEqual(owner, first.outputs.ownerId.value, "a replacement has its own owner id");
            assert.ok(
                after.every((c) => c.owner === owner && !before.some((b) => b.id === c.id)),
                "the old resource's containers are gone",
            );
            assert.equal((await backendsIn(`own-web-${stack.name}`)).length, 3);
        });
    }

    it("a Service moved into a component with an alias keeps its containers", async () => {
        const stack = await open("alias", { replicas: 2, port: 18097 });
        await stack.up({ onOutput });
        const before = (await byStack(stack)).map((c) => c.id).sort();
        stack.workspace.program = program({ replicas: 2, port: 18097, inComponent: true });
        const moved = await stack.up({ onOutput });
        const changes = moved.summary.resourceChanges ?? {};
        assert.equal(changes.delete ?? 0, 0, JSON.stringify(changes));
        assert.equal(changes.replace ?? 0, 0, JSON.stringify(changes));
        assert.deepEqual((await byStack(stack)).map((c) => c.id).sort(), before, "no container restarted");
    });
});
