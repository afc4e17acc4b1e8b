// Invalid inputs fail `pulumi preview` in check, naming the property and the problem, before
// anything on any host or load balancer is touched.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/automation";
import { readFileSync } from "fs";
import { Cluster, Service, SlbBinding } from "../../index";
import { openStack, removeStack } from "../../scripts/lib/stack";
import { cleanSlate, containersOf, local, nodeSpecs, slbAddress } from "../support/world";

function program() {
    const which = new pulumi.Config().require("case");
    const slb = local.slbs[0];
    const cluster = new Cluster("bad-input", { nodes: nodeSpecs() });
    const binding = new SlbBinding("bad-input", {
        haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
        listen: { address: slbAddress, port: 18099 },
    });
    new Service("bad-input", {
        cluster,
        image: which === "image" ? "Not An/Image!" : local.images.v1,
        replicas: which === "replicas" ? -1 : which === "zones" ? 4 : 1,
        placement: which === "zones" ? { zones: { count: 4, mode: "hard" } } : undefined,
        ports: [{ containerPort: which === "port" ? 70000 : 80 }],
        bindings: [binding],
    });
}

// Pulumi prints check failures as "property <path> value {...} has a problem: <reason>".
const cases: Array<[string, RegExp]> = [
    ["image", /Service resource 'bad-input': property image value .* has a problem: is not a valid image reference .*"Not An\/Image!"/],
    ["replicas", /property replicas value \{-1\} has a problem: must be a whole number from 0 to 1000, got -1/],
    ["port", /property ports\[0\]\.containerPort value .* has a problem: must be a whole number from 1 to 65535, got 70000/],
    // A node or load balancer that does not answer is no bad input: previewUnreachable.test.ts.
    // The planner says it, on what runs, with the words `up` would use.
    [
        "zones",
        /property placement\.zones value .* has a problem: service bad-input: cannot plan the release: containers span 3 zone\(s\) \(zone-a, zone-b, zone-c\), fewer than zones\.count=4 \(mode hard\)/,
    ],
];

describe("bad input fails pulumi preview", function () {
    this.timeout(300_000);
    let stack: Stack;
    let configBefore: string;

    before(async () => {
        cleanSlate();
        configBefore = readFileSync(local.slbs[0].configPath, "utf8");
        stack = await openStack("berth-bad-input", `e2e-${Date.now()}`, async () => program());
    });
    after(async () => {
        if (stack) await removeStack(stack);
    });

    for (const [which, message] of cases) {
        it(`rejects ${which}, naming the property`, async () => {
            await stack.setConfig("case", { value: which });
            await assert.rejects(stack.preview(), (e: Error) => {
                assert.match(e.message, message);
                return true;
            });
            assert.deepEqual(await containersOf(), [], "no container was started");
            assert.equal(readFileSync(local.slbs[0].configPath, "utf8"), configBefore, "HAProxy configuration untouched");
        });
    }
});
