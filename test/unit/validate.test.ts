import * as assert from "node:assert/strict";
import { UNKNOWN, validateCluster, validatePlacement, validateService, validateSlbBinding } from "../../provider/validate";

const props = (failures: { property: string }[]) => failures.map((f) => f.property);
const cluster = { name: "c", nodes: [{ name: "h1", docker: "unix:///run/d.sock", address: "10.0.0.1" }] };

describe("input validation", () => {
    it("accepts a complete service", () => {
        const f = validateService({
            name: "web",
            cluster,
            image: "10.231.0.1:5000/berth-demo:v1",
            replicas: 3,
            ports: [{ containerPort: 80 }],
            healthCheck: { httpPath: "/health", intervalSeconds: 1 },
            env: { A: "b" },
            release: { drainTimeoutSeconds: 30 },
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
        const f = validateService({
            name: "s",
            image: "a",
            ports: [{ containerPort: 80 }],
            bindings: [{ slb: { name: "p" } as any, containerPort: 81 }],
        });
        assert.deepEqual(props(f), ["bindings[0].containerPort"]);
    });

    it("checks cluster nodes: endpoints, duplicates, addresses", () => {
        const f = validateCluster({
            name: "c",
            nodes: [
                { name: "h1", docker: "http://x", address: "1.2.3.4" },
                { name: "h1", docker: "tcp://host", address: "bad address!" },
            ],
        });
        assert.deepEqual(props(f), ["nodes[0].docker", "nodes[1].name", "nodes[1].docker", "nodes[1].address"]);
    });

    it("rejects minAvailable above replicas instead of clamping it", () => {
        const f = validateService({ name: "s", image: "a", replicas: 2, release: { minAvailable: 3 } });
        assert.deepEqual(props(f), ["release.minAvailable"]);
        assert.match(f[0].reason, /3 is more than replicas=2/);
        assert.deepEqual(validateService({ name: "s", image: "a", replicas: 3, release: { minAvailable: 3 } }), []);
    });

    it("rejects duplicate container ports", () => {
        const f = validateService({ name: "s", image: "a", ports: [{ containerPort: 80 }, { containerPort: 80, hostPort: 8080 }] });
        assert.deepEqual(props(f), ["ports[1].containerPort"]);
        assert.match(f[0].reason, /duplicates container port 80/);
    });

    it("rejects a health check port that is not among the ports", () => {
        const f = validateService({ name: "s", image: "a", ports: [{ containerPort: 80 }], healthCheck: { httpPath: "/health", port: 81 } });
        assert.deepEqual(props(f), ["healthCheck.port"]);
        assert.match(f[0].reason, /81 is not one of the service's container ports \(80\)/);
    });

    it("rejects node label keys no constraint can address", () => {
        const f = validateCluster({
            name: "c",
            nodes: [{ name: "h1", docker: "unix:///a", address: "10.0.0.1", labels: { "disk type": "ssd", "rack.id/x": "1" } }],
        });
        assert.deepEqual(props(f), ["nodes[0].labels.disk type"]);
        assert.match(f[0].reason, /no placement constraint can address this key/);
    });

    it("checks SLB bindings", () => {
        const f = validateSlbBinding({
            name: "pub",
            driver: "haproxy",
            haproxy: { adminSocket: "rel/sock", configPath: "/etc/h.cfg" },
            listen: { port: 0 },
        });
        assert.deepEqual(props(f), ["haproxy.adminSocket", "listen.port"]);
    });
});

describe("Aliyun CLB bindings at preview", () => {
    const aliyun = { loadBalancerId: "lb-bp1o94dp5i6earr9g6d1l", region: "cn-hangzhou" };

    it("rejects a bad instance id, region, half a key and an unknown protocol, naming each property", () => {
        const f = validateSlbBinding({
            name: "pub",
            driver: "aliyun",
            aliyun: { loadBalancerId: "i-123", region: "Hangzhou", accessKeyId: "a" },
            protocol: "udp" as any,
            listen: { port: 80 },
        });
        assert.deepEqual(props(f).sort(), ["aliyun.accessKeySecret", "aliyun.loadBalancerId", "aliyun.region", "protocol"]);
        assert.deepEqual(validateSlbBinding({ name: "pub", driver: "aliyun", aliyun, protocol: "tcp", listen: { port: 80 } }), []);
        assert.deepEqual(props(validateSlbBinding({ name: "pub", driver: "aliyun", listen: { port: 80 } })), ["aliyun"]);
    });

    it("takes a node's instanceId or eniId, not both", () => {
        const f = validateCluster({ name: "c", nodes: [{ ...cluster.nodes[0], cloud: { instanceId: "i-1", eniId: "" } }] });
        assert.deepEqual(props(f).sort(), ["nodes[0].cloud", "nodes[0].cloud.eniId"]);
    });

    it("rejects a weight above CLB's 100 and nodes without a cloud identity", () => {
        const slb = { name: "pub", driver: "aliyun", aliyun } as any;
        const f = validateService({ name: "s", image: "a", cluster, ports: [{ containerPort: 80 }], bindings: [{ slb, weight: 200 }] });
        assert.deepEqual(props(f).sort(), ["bindings[0].weight", "cluster.nodes[h1].cloud"]);
        const ok = { ...cluster, nodes: cluster.nodes.map((n) => ({ ...n, cloud: { instanceId: "i-bp67acfmxazb4p****" } })) };
        assert.deepEqual(
            validateService({ name: "s", image: "a", cluster: ok, ports: [{ containerPort: 80 }], bindings: [{ slb, weight: 100 }] }),
            [],
        );
    });
});

describe("placement validation against the cluster's nodes", () => {
    const zonedCluster = {
        name: "c",
        nodes: [
            { name: "h1", docker: "unix:///a", address: "10.0.0.1", zone: "a", labels: { disk: "ssd" } },
            { name: "h2", docker: "unix:///b", address: "10.0.0.2", zone: "b", labels: { disk: "hdd" } },
            { name: "h3", docker: "unix:///c", address: "10.0.0.3", zone: "c", schedulable: false },
        ],
    };
    const svc = (extra: object) => ({ name: "s", image: "a", cluster: zonedCluster, replicas: 2, ...extra });

    it("fails constraints no node's labels can meet, and bad constraint syntax", () => {
        const [g] = validatePlacement(svc({ placement: { constraints: ["node.labels.gpu == yes"] } }));
        assert.equal(g.property, "placement.constraints[0]");
        assert.match(g.reason, /no node has label "gpu"/);
        const [h] = validatePlacement(svc({ placement: { constraints: ["disk=ssd"] } }));
        assert.equal(h.property, "placement.constraints[0]");
    });

    it("leaves whether the replicas fit to the planner (check runs it on what runs)", () => {
        assert.deepEqual(validatePlacement(svc({ replicas: 3, ports: [{ containerPort: 80, hostPort: 8080 }] })), []);
        assert.deepEqual(validatePlacement(svc({ replicas: 3, placement: { zones: { count: 3, mode: "hard" } } })), []);
    });

    it("rejects zones.count above replicas instead of clamping it", () => {
        const [f] = validatePlacement(svc({ replicas: 2, placement: { zones: { count: 3, mode: "soft" } } }));
        assert.equal(f.property, "placement.zones.count");
        assert.match(f.reason, /3 zones cannot be spanned by replicas=2/);
    });
});
