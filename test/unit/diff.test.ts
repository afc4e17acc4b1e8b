import * as assert from "node:assert/strict";
import { canonicalJson, containerName, containerNamePattern, revisionOf, specHash } from "../../provider/docker/labels";
import { changedProperties } from "../../provider/engine/service";
import { ServiceState } from "../../provider/model";
import { container } from "./fixtures";

const cluster = { name: "c", nodes: [{ name: "h1", docker: "unix:///s", address: "10.0.0.1" }] };
const deployed: ServiceState = {
    name: "web", cluster, image: "r/web:v1", replicas: 2, ports: [{ containerPort: 80 }], env: { A: "1" },
    bindings: [], imageDigest: "r/web@sha256:x", revision: "rev", backends: {}, lastRelease: [],
    containers: [container("h1", 0, "rev"), container("h1", 1, "rev")],
};

describe("service diff", () => {
    it("sees no change when inputs match and every replica serves", () => {
        assert.deepEqual(changedProperties(deployed, { ...deployed }), []);
    });

    it("names changed inputs", () => {
        assert.deepEqual(changedProperties(deployed, { ...deployed, image: "r/web:v2", replicas: 3 }), ["image", "replicas"]);
    });

    it("sees drift: a container missing or of another revision", () => {
        assert.deepEqual(changedProperties({ ...deployed, containers: [deployed.containers[0]] }, deployed), ["containers"]);
        const mixed = [...deployed.containers, container("h1", 0, "old")];
        assert.deepEqual(changedProperties({ ...deployed, containers: mixed }, deployed), ["containers"]);
    });

    it("hashes specs independently of key order", () => {
        assert.equal(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] }), '{"a":[1,{"c":3,"d":2}],"b":1}');
        assert.equal(specHash({ a: 1, b: 2 }), specHash({ b: 2, a: 1 }));
        assert.equal(revisionOf(specHash({ a: 1 })).length, 10);
    });
});

describe("container names", () => {
    it("are unique per start, and matched by the service's pattern only", () => {
        const a = containerName("web", 2, "0123456789");
        assert.notEqual(a, containerName("web", 2, "0123456789"));
        assert.match(a, containerNamePattern("web"));
        assert.doesNotMatch(containerName("web-api", 0, "0123456789"), containerNamePattern("web"));
    });
});
