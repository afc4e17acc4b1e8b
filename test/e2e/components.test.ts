// The components from TypeScript (dynamic resources), through the real `pulumi` CLI: the same
// builders the plugin uses for other languages (pythonComponents.test.ts), here with the dynamic
// kit. A WebService behind two listeners and a ServiceGroup released in order with a hook.
import * as assert from "node:assert/strict";
import { Stack } from "@pulumi/pulumi/automation";
import { Cluster, ServiceGroup, WebService } from "../../index";
import { destroyStack, openStack } from "../../scripts/lib/stack";
import { backendsIn, cleanSlate, containersOf, listenerUrl, local, nodeSpecs, slbAddress, waitForBody } from "../support/world";
import { story } from "../support/story";

const slb = local.slbs[0];
const haproxy = { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath };
const health = { httpPath: "/health", intervalSeconds: 1, timeoutSeconds: 3, retries: 5 };

function program() {
    const cluster = new Cluster("local", { nodes: nodeSpecs() });
    const web = new WebService("ts-web", {
        cluster,
        image: local.images.v1,
        ports: [{ containerPort: 80 }],
        healthCheck: health,
        public: { haproxy, address: slbAddress, port: 18380 },
        private: { haproxy, address: slbAddress, port: 18381, weight: 50 },
    });
    const group = new ServiceGroup("ts-box", {
        cluster,
        services: [
            {
                name: "ts-db",
                image: local.images.v1,
                ports: [{ containerPort: 80 }],
                healthCheck: health,
                postStart: { command: ["sh", "-c", "echo ready"] },
            },
            { name: "ts-api", image: local.images.v1, ports: [{ containerPort: 80 }], healthCheck: health },
        ],
    });
    return { publicUrl: web.publicUrl, privateUrl: web.privateUrl, order: group.order };
}

describe("components from TypeScript (dynamic resources)", function () {
    this.timeout(600_000);
    const step = story();
    let stack: Stack;
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);

    before(async () => {
        cleanSlate();
        stack = await openStack("berth-components", `e2e-${Date.now()}`, async () => program());
    });
    after(async () => destroyStack(stack, onOutput));

    step("deploys a WebService behind two listeners and a ServiceGroup in order", async () => {
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.publicUrl.value, listenerUrl(18380));
        await waitForBody(listenerUrl(18380), /berth-demo v1/);
        await waitForBody(listenerUrl(18381), /berth-demo v1/);
        assert.deepEqual(
            (await backendsIn("ts-web-private")).map((b) => b.weight),
            [50],
        );
        assert.deepEqual(up.outputs.order.value, ["ts-db", "ts-api"]);
        const text = log.join("");
        assert.match(text, /release order: ts-db -> ts-api/);
        assert.ok(text.indexOf("ts-db: post-start hook succeeded") < text.indexOf("ts-api: revision"), "ts-api after ts-db's hook");
        assert.equal((await containersOf("ts-api")).length, 1);
    });

    step("destroys every container and backend", async () => {
        await stack.destroy({ onOutput });
        assert.deepEqual(await containersOf(), []);
        assert.deepEqual(await backendsIn("ts-web-public"), []);
    });
});
