import * as assert from "node:assert/strict";
import { UNKNOWN, validateCluster, validateService, validateSlbBinding } from "../../provider/validate";

const props = (failures: { property: string }[]) => failures.map((f) => f.property);
const cluster = { name: "c", nodes: [{ name: "h1", docker: "unix:///run/d.sock", address: "10.0.0.1" }] };

describe("input validation", () => {
    it("accepts a complete service", () => {
        const f = validateService({
            name: "web", cluster, image: "10.231.0.1:5000/berth-demo:v1", replicas: 3, ports: [{ containerPort: 80 }],
            healthCheck: { httpPath: "/health", intervalSeconds: 1 }, env: { A: "b" }, release: { drainTimeoutSeconds: 30 },
        });
        assert.deepEqual(f, []);
    });

    it("names the property and the problem", () => {
        const f = validateService({ name: "Web!", cluster, image: "UPPER CASE:tag", replicas: -1, ports: [{ containerPort: 70000 }] });
        assert.deepEqual(props(f), ["name", "image", "replicas", "ports[0].containerPort"]);
        assert.match(f[2].reason, /whole number from 0 to 1000, got -1/);
        assert.match(f[1].reason, /not a valid image reference/);
    });

    it("accepts digests and registry ports in image references", () => {
        const ok = ["busybox", "library/busybox:1.36", "10.231.0.1:5000/a/b:v1", `r.io/x@sha256:${"a".repeat(64)}`];
        for (const image of ok) assert.deepEqual(validateService({ name: "s", image }), [], image);
    });

    it("skips values not known during preview", () => {
        assert.deepEqual(validateService({ name: "s", image: UNKNOWN, replicas: UNKNOWN as any }), []);
    });

    it("rejects a binding to a container port the service does not publish", () => {
        const f = validateService({ name: "s", image: "a", ports: [{ containerPort: 80 }], bindings: [{ slb: { name: "p" } as any, containerPort: 81 }] });
        assert.deepEqual(props(f), ["bindings[0].containerPort"]);
    });

    it("checks cluster nodes: endpoints, duplicates, addresses", () => {
        const f = validateCluster({ name: "c", nodes: [
            { name: "h1", docker: "http://x", address: "1.2.3.4" },
            { name: "h1", docker: "tcp://host", address: "bad address!" },
        ] });
        assert.deepEqual(props(f), ["nodes[0].docker", "nodes[1].name", "nodes[1].docker", "nodes[1].address"]);
    });

    it("checks SLB bindings", () => {
        const f = validateSlbBinding({ name: "pub", driver: "haproxy", haproxy: { adminSocket: "rel/sock", configPath: "/etc/h.cfg" }, listen: { port: 0 } });
        assert.deepEqual(props(f), ["haproxy.adminSocket", "listen.port"]);
    });
});
