// The provider plugin's wire handling: secrets in and out, resources passed where outputs belong.
import * as assert from "node:assert/strict";
import { resourceReferenceFailures, schemaSecretKeys, secret, unwrapSecrets, wrapSecrets } from "../../provider/plugin/wire";
import { deriveSchema } from "../../scripts/schema";

const REF = { "4dabf18193072939515e22adb298388d": "5cf8f73096256a8f31e491e813e4eb8e", urn: "urn:pulumi:s::p::berth:index:Cluster::local", id: "local" };

describe("provider plugin wire values", () => {
    it("unwraps nested secrets for the engines and remembers their top-level properties", () => {
        const { plain, secretKeys } = unwrapSecrets({ nodes: [{ name: "h1", tls: { key: secret("PEM") } }], name: "c" });
        assert.deepEqual(plain, { nodes: [{ name: "h1", tls: { key: "PEM" } }], name: "c" });
        assert.deepEqual([...secretKeys], ["nodes"]);
        assert.deepEqual(wrapSecrets(plain, secretKeys).nodes, secret(plain.nodes));
    });

    it("finds the properties that hold what the schema marks secret, however deep", () => {
        const schema = deriveSchema() as any;
        const props = schema.resources["berth:index:Service"].properties;
        const withKey = { cluster: { name: "c", nodes: [{ name: "h1", docker: "tcp://x:2376", address: "x", tls: { key: "PEM" } }] }, image: "i" };
        assert.deepEqual(schemaSecretKeys(schema, props, withKey), ["cluster"]);
        assert.deepEqual(schemaSecretKeys(schema, props, { ...withKey, cluster: { name: "c", nodes: [{ name: "h1" }] } }), []);
    });

    it("names a resource passed where its outputs belong, and what to pass", () => {
        const failures = resourceReferenceFailures({ cluster: REF, bindings: [{ slb: REF }] }, { cluster: "the Cluster's `ref` output" });
        assert.deepEqual(failures.map((f) => f.property), ["cluster", "bindings[0].slb"]);
        assert.match(failures[0].reason, /pass its outputs instead: the Cluster's `ref` output/);
    });
});
