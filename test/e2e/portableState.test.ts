// State that outlives the checkout, through the real CLI with the program in an infra repo (not
// inline), as CI runs it: `up` from one checkout, that checkout deleted, then an `up` that removes a
// resource and a `destroy` from a clone at another path. And a stack written by a berth that loaded
// its engines by absolute path: its next preview shows every resource updated (the state is
// rewritten), and where the old checkout is gone, `berth-restate` lets `destroy` run.
import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import { cpSync, mkdtempSync, rmSync } from "fs";
import * as os from "os";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { packageRoot } from "../../provider/resources/lazy";
import { removeStack } from "../../scripts/lib/stack";
import { checkout, checkoutStack } from "../support/checkout";
import { backendsIn, cleanSlate, containersOf, listenerUrl, waitForBody } from "../support/world";

const PORT = 18093;

const PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const { Cluster, Service, SlbBinding } = require("pulumi-berth");
const { readLocalCluster } = require("pulumi-berth/dist/examples/quickstart/program");
const config = new pulumi.Config();
const local = readLocalCluster();
const slb = local.slbs[0];
const cluster = new Cluster("local", { nodes: local.hosts.map((h) => ({ name: h.name, docker: h.docker, address: h.address, zone: h.zone })) });
const binding = new SlbBinding("portable", {
    haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
    listen: { address: slb.address, port: ${PORT} },
    healthCheck: { httpPath: "/health", intervalMs: 300, rise: 1, fall: 2 },
});
const healthCheck = { httpPath: "/health", intervalSeconds: 1, timeoutSeconds: 2, retries: 3 };
new Service("portable-web", { cluster, image: local.images.v1, replicas: 1, ports: [{ containerPort: 80 }], healthCheck, bindings: [binding], stopGracePeriodSeconds: 2 });
if (config.getBoolean("worker") !== false) {
    new Service("portable-worker", { cluster, image: local.images.v1, replicas: 1, ports: [{ containerPort: 80 }], healthCheck, stopGracePeriodSeconds: 2 });
}
exports.url = binding.url;
`;

const berthResources = (state: any) => (state.deployment.resources ?? []).filter((r: any) => r.type.startsWith("pulumi-nodejs:dynamic/berth:"));

describe("state that outlives the checkout (real CLI, program in an infra repo)", function () {
    this.timeout(600_000);
    const root = mkdtempSync(path.join(os.tmpdir(), "berth-portable-"));
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);
    let stack: Stack | undefined;

    before(() => cleanSlate());
    afterEach(async () => {
        if (stack) {
            await stack.destroy({ onOutput }).catch(() => undefined);
            await removeStack(stack);
        }
        stack = undefined;
        cleanSlate();
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    it("removes a resource and destroys from another checkout after the first one is deleted", async () => {
        const first = checkout(root, "ci-job-1", PROGRAM);
        const name = `portable-${Date.now()}`;
        stack = await checkoutStack(first, name);
        await stack.up({ onOutput });
        await waitForBody(listenerUrl(PORT), /berth-demo v1/);
        assert.equal((await containersOf("portable-worker")).length, 1);
        const state = await stack.exportStack();
        for (const r of berthResources(state)) {
            assert.doesNotMatch(r.outputs.__provider, new RegExp(`${root}|${packageRoot}`), `${r.urn} stores a path`);
        }
        const second = checkout(root, "ci-job-2", PROGRAM);
        // The stack's settings file (its secrets salt) is committed in an infra repo.
        cpSync(path.join(first, `Pulumi.${name}.yaml`), path.join(second, `Pulumi.${name}.yaml`));
        rmSync(first, { recursive: true, force: true });

        stack = await checkoutStack(second, name);
        await stack.setConfig("worker", { value: "false" });
        const up = await stack.up({ onOutput });
        assert.equal(up.summary.resourceChanges?.delete, 1, JSON.stringify(up.summary.resourceChanges));
        assert.equal((await containersOf("portable-worker")).length, 0, "the removed service's container is gone");
        assert.equal((await containersOf("portable-web")).length, 1, "the kept service still runs");

        await stack.destroy({ onOutput });
        assert.equal((await containersOf("portable-web")).length, 0);
        assert.equal((await backendsIn("portable")).length, 0);
        await removeStack(stack);
        stack = undefined;
    });

    it("rewrites a stack that loads berth by path: preview shows the update, berth-restate recovers a deleted checkout", async () => {
        const dir = checkout(root, "clone", PROGRAM);
        const name = `restate-${Date.now()}`;
        stack = await checkoutStack(dir, name);
        await stack.up({ onOutput });
        const current = await stack.exportStack();
        const berthCount = berthResources(current).length;
        // A state as the earlier berth wrote it: each provider requires its engine by an absolute path.
        const byPath = (engineDir: string) => {
            const state = JSON.parse(JSON.stringify(current));
            for (const r of berthResources(state)) {
                for (const props of [r.inputs, r.outputs])
                    props.__provider = props.__provider.replace("pulumi-berth/dist/provider/engine/", `${engineDir}/`);
            }
            return state;
        };
        const installed = path.join(dir, "node_modules/pulumi-berth/dist/provider/engine");
        await stack.importStack(byPath(installed));
        const preview = await stack.preview({ onOutput });
        assert.equal(preview.changeSummary.update, berthCount, `every berth resource is rewritten: ${JSON.stringify(preview.changeSummary)}`);
        await stack.up({ onOutput });
        const byPackage = new Map(berthResources(current).map((r: any) => [r.urn, r.outputs.__provider]));
        for (const r of berthResources(await stack.exportStack()))
            assert.equal(r.outputs.__provider, byPackage.get(r.urn), `${r.urn} loads berth by package name again`);
        assert.equal((await stack.preview({ onOutput })).changeSummary.same, berthCount + 1);

        await stack.importStack(byPath("/gone/checkout/dist/provider/engine"));
        await assert.rejects(stack.destroy({ onOutput }), /Cannot find module '\/gone\/checkout\/dist\/provider\/engine\//);
        assert.equal((await containersOf("portable-web")).length, 1, "a failed destroy removed nothing");
        const restate = path.join(dir, "node_modules/pulumi-berth/dist/scripts/restate.js");
        const said = execFileSync(process.execPath, [restate, "--stack", name, "--cwd", dir], { encoding: "utf8" });
        assert.match(said, new RegExp(`rewrote the stored provider of ${berthCount} resource\\(s\\)`));
        await stack.destroy({ onOutput });
        assert.equal((await containersOf("portable-web")).length, 0);
        assert.equal((await containersOf("portable-worker")).length, 0);
        await removeStack(stack);
        stack = undefined;
    });
});
