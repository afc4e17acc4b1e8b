// The Docker health check berth builds, run by a real engine: a query string reaches the app whole.
import * as assert from "node:assert/strict";
import { dockerHealthcheck } from "../../provider/docker/health";
import { limitsOf } from "../../provider/engine/release/revision";
import { waitUntil } from "../../provider/wait";
import { cleanSlate, hosts, local } from "../support/world";

const LABELS = { "berth.test": "health" };

/** Its containers are not berth's (cleanSlate keeps those): the test removes them itself, before and after. */
async function removeOwnContainers(): Promise<void> {
    const host = hosts()[0];
    for (const c of await host.list(LABELS)) await host.remove(c.id);
}

describe("health check with a query string (real Docker)", function () {
    this.timeout(120_000);
    before(async () => {
        cleanSlate();
        await removeOwnContainers();
    });
    after(removeOwnContainers);

    it("passes for /health?a=1&b=2 and fails for /missing?a=1&b=2", async () => {
        const host = hosts()[0];
        await host.ensureImage(local.images.v1);
        const run = (name: string, httpPath: string) =>
            host.run({
                name,
                image: local.images.v1,
                env: {},
                labels: LABELS,
                ports: [{ containerPort: 80, hostPort: 0 }],
                healthcheck: dockerHealthcheck({ httpPath, intervalSeconds: 0.5, timeoutSeconds: 3, retries: 2 }, 80),
                limits: limitsOf({} as any),
                stopGracePeriodSeconds: 1,
            });
        const ok = await run("health-ok", "/health?a=1&b=2");
        const missing = await run("health-missing", "/missing?a=1&b=2");
        const settled = await waitUntil(
            async () => {
                const [a, b] = await Promise.all([host.inspect(ok.id), host.inspect(missing.id)]);
                return a.health !== "starting" && b.health !== "starting" ? [a, b] : undefined;
            },
            { timeoutSeconds: 30, what: "both health checks to settle" },
        );
        assert.equal(settled[0].health, "healthy", settled[0].lastHealthOutput);
        assert.equal(settled[1].health, "unhealthy", settled[1].lastHealthOutput);
        assert.match(settled[1].lastHealthOutput ?? "", /404/);
    });
});
