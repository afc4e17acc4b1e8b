import * as assert from "node:assert/strict";
import { canonicalJson, revisionOf, specHash } from "../../provider/canonical";
import { containerName, containerNamePattern, mintOwnerId } from "../../provider/docker/labels";
import { ownerFrom, ownership } from "../../provider/engine/release/owner";
import { changedProperties } from "../../provider/engine/service";
import { ContainerState, ServiceState } from "../../provider/model";
import { container } from "./fixtures";

const cluster = { name: "c", nodes: [{ name: "h1", docker: "unix:///s", address: "10.0.0.1" }] };
const deployed: ServiceState = {
    name: "web",
    cluster,
    image: "r/web:v1",
    replicas: 2,
    ports: [{ containerPort: 80 }],
    env: { A: "1" },
    bindings: [],
    imageDigest: "r/web@sha256:x",
    revision: "rev",
    backends: {},
    lastRelease: [],
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
    const [mine, theirs] = [mintOwnerId(), mintOwnerId()];
    it("are unique per start, and matched by the service's pattern only", () => {
        const a = containerName("web", mine, 2, "0123456789");
        assert.notEqual(a, containerName("web", mine, 2, "0123456789"));
        assert.match(a, containerNamePattern("web"));
        assert.doesNotMatch(containerName("web-api", mine, 0, "0123456789"), containerNamePattern("web"));
    });

    it("tell owners apart; names made before owners match the service's and any owner's pattern", () => {
        assert.notEqual(mine, theirs);
        assert.match(containerName("web", mine, 0, "0123456789"), containerNamePattern("web", mine));
        assert.doesNotMatch(containerName("web", theirs, 0, "0123456789"), containerNamePattern("web", mine));
        const legacy = "web-0-0123456789-ab12";
        assert.match(legacy, containerNamePattern("web", mine));
        assert.match(legacy, containerNamePattern("web"));
        // An owner id never reads as a slot number: old-style patterns cannot take new names.
        for (let i = 0; i < 200; i++) assert.match(mintOwnerId(), /^o[0-9a-f]{7}$/);
    });
});

describe("ownership of a service's containers", () => {
    const owner = ownerFrom({ stack: "org/infra/prod" }, "o1234567", [{ id: "old-1" } as ContainerState]);
    it("owns its own and the containers made before owners that its last state lists", () => {
        assert.equal(ownership(owner, { id: "a", stack: "org/infra/prod", owner: "o1234567" }), "own");
        assert.equal(ownership(owner, { id: "old-1" }), "own");
        assert.equal(ownership(owner, { id: "old-2" }), "foreign", "an unlabelled container another state lists is not adopted");
    });
    it("takes over the same stack's containers of another owner (the resource it replaces), never another stack's", () => {
        assert.equal(ownership(owner, { id: "b", stack: "org/infra/prod", owner: "o7654321" }), "predecessor");
        assert.equal(ownership(owner, { id: "c", stack: "org/infra/staging", owner: "o7654321" }), "foreign");
        assert.equal(ownership(owner, { id: "old-1", stack: "org/infra/staging", owner: "o7654321" }), "foreign");
    });
});
