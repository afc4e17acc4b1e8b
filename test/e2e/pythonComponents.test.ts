// berth's components from Python through the provider plugin's construct (the same builders as the
// TypeScript classes), through the real `pulumi` CLI on the local hosts: a WebService serving
// through a public and a private listener; a Canary serving a new image at a low weight beside the
// main service, then promoted by changing inputs; a ServiceGroup released in order with post-start
// hooks, where a failing hook rolls its service back and stops the group there.
import * as assert from "node:assert/strict";
import { Stack } from "@pulumi/pulumi/automation";
import { openProgramStack, removeProgramStack } from "../support/programStack";
import { backendsIn, cleanSlate, containersOf, httpGet, listenerUrl, local, waitForBody } from "../support/world";
import { story } from "../support/story";

const SHOP = listenerUrl(18282);

/** Which versions answer `url` over `count` requests. */
async function versions(url: string, count: number): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    for (let i = 0; i < count; i++) {
        const v = /berth-demo (v\d)/.exec((await httpGet(url)).body)?.[1] ?? "other";
        seen[v] = (seen[v] ?? 0) + 1;
    }
    return seen;
}

/** The revision each of the group's services runs (from the containers' labels). */
async function groupRevisions(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const name of ["box-db", "box-api", "box-web"]) out[name] = [...new Set((await containersOf(name)).map((c) => c.revision))];
    return out;
}

describe("berth components from Python (WebService, Canary, ServiceGroup)", function () {
    this.timeout(600_000);
    const step = story();
    let stack: Stack;
    let log: string[] = [];
    const onOutput = (s: string) => log.push(s);
    let v1: Record<string, string[]>;

    before(async () => {
        cleanSlate();
        stack = await openProgramStack("python-components", { image: local.images.v1, canaryImage: local.images.v2 });
    });
    after(async () => removeProgramStack(stack));

    step("deploys a WebService behind two listeners and a main service with a canary in one binding", async () => {
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.publicUrl.value, listenerUrl(18280));
        assert.deepEqual(up.outputs.groupOrder.value, ["box-db", "box-api", "box-web"]);
        await waitForBody(listenerUrl(18280), /berth-demo v1/);
        await waitForBody(listenerUrl(18281), /berth-demo v1/);
        assert.deepEqual(
            (await backendsIn("pyc-web-private")).map((b) => b.weight),
            [50],
        );

        const main = await containersOf("pyc-shop");
        const canary = await containersOf("pyc-shop-canary");
        assert.equal(main.length, 1);
        assert.equal(canary.length, 1);
        const shop = await backendsIn("pyc-shop");
        assert.deepEqual(shop.map((b) => b.name).sort(), [...main, ...canary].map((c) => c.name).sort());
        assert.deepEqual(
            shop.filter((b) => b.name === canary[0].name).map((b) => b.weight),
            [50],
            "the canary at its low weight",
        );
        const seen = await versions(SHOP, 25);
        assert.ok(
            (seen.v1 ?? 0) > (seen.v2 ?? 0) && (seen.v2 ?? 0) > 0,
            `both versions answer, mostly v1 (weights 100 and 50): ${JSON.stringify(seen)}`,
        );
    });

    step("promotes the canary by changing inputs: the main service releases v2, the canary goes", async () => {
        await stack.setConfig("image", { value: local.images.v2 });
        await stack.removeConfig("canaryImage");
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.shopCanaryRevision, undefined);
        assert.deepEqual(await containersOf("pyc-shop-canary"), []);
        const main = await containersOf("pyc-shop");
        assert.equal(main.length, 1);
        assert.deepEqual((await backendsIn("pyc-shop")).map((b) => b.name).sort(), main.map((c) => c.name).sort());
        assert.deepEqual(await versions(SHOP, 10), { v2: 10 });
        await waitForBody(listenerUrl(18280), /berth-demo v2/);
    });

    step("released the group in order, each after the hook before it", async () => {
        const text = log.join("");
        assert.match(text, /release order: box-db -> box-api -> box-web/);
        const at = (line: RegExp) => text.search(line);
        const order = [/box-db: post-start hook succeeded/, /box-api: revision/, /box-api: post-start hook succeeded/, /box-web: revision/].map(at);
        assert.ok(order.every((i) => i >= 0) && order.every((i, k) => k === 0 || i > order[k - 1]), `order in the output: ${order}`);
        v1 = await groupRevisions();
        assert.ok(
            Object.values(v1).every((r) => r.length === 1),
            JSON.stringify(v1),
        );
    });

    step("stops at a failing hook: that service rolls back, the later one is not released", async () => {
        log = [];
        await stack.setAllConfig({ groupImage: { value: local.images.v2 }, failHook: { value: "true" } });
        const preview = await stack.preview({ onOutput });
        assert.match(preview.stdout, /release order: box-db -> box-api -> box-web/, "the preview says the order");
        await assert.rejects(stack.up({ onOutput }), (e: Error) =>
            /post-start hook of box-api failed \(exit 3\): smoke test failed; rolled box-api back to revision/.test(e.message),
        );
        const now = await groupRevisions();
        assert.notDeepEqual(now["box-db"], v1["box-db"], "box-db (before the failure) released");
        assert.deepEqual(now["box-api"], v1["box-api"], "box-api rolled back");
        assert.deepEqual(now["box-web"], v1["box-web"], "box-web not released");
        assert.equal((await containersOf("box-api")).length, 1);
    });

    step("releases the rest once the hook passes", async () => {
        await stack.removeConfig("failHook");
        await stack.up({ onOutput });
        const now = await groupRevisions();
        for (const name of ["box-api", "box-web"]) assert.notDeepEqual(now[name], v1[name], name);
    });

    step("destroys every container and backend", async () => {
        await stack.destroy({ onOutput });
        assert.deepEqual(await containersOf(), []);
        assert.deepEqual(await backendsIn("pyc-shop"), []);
    });
});
