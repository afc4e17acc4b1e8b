// The provider plugin's wire handling: secrets in and out, resources passed where outputs belong.
import * as assert from "node:assert/strict";
import { BerthProvider } from "../../provider/plugin/provider";
import { UNKNOWN } from "../../provider/validate";
import { resourceReferenceFailures, schemaSecretKeys, secret, unwrapSecrets, wrapSecrets } from "../../provider/plugin/wire";
import { deriveSchema } from "../../scripts/schema";

const REF = {
    "4dabf18193072939515e22adb298388d": "5cf8f73096256a8f31e491e813e4eb8e",
    urn: "urn:pulumi:s::p::berth:index:Cluster::local",
    id: "local",
};

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
        assert.deepEqual(
            failures.map((f) => f.property),
            ["cluster", "bindings[0].slb"],
        );
        assert.match(failures[0].reason, /pass its outputs instead: the Cluster's `ref` output/);
    });

    describe("outputs in a preview (nothing run)", () => {
        const plugin = new BerthProvider(() => undefined);
        const urn = (type: string, name: string) => `urn:pulumi:s::p::berth:index:${type}::${name}`;
        const binding = {
            name: "web",
            driver: "haproxy",
            haproxy: { adminSocket: "/run/a.sock", masterSocket: "/run/m.sock", configPath: "/etc/h.cfg" },
            listen: { port: 8080 },
        };

        it("a binding's state, its url from the listener's settings", () => {
            const outs = plugin.previewOutputs(urn("SlbBinding", "web"), binding);
            assert.deepEqual(outs.state, { ...binding, listen: { address: "127.0.0.1", port: 8080 }, url: "http://127.0.0.1:8080/" });
        });

        it("a cluster's ref, with the nodes as up gives them, secret when the nodes are", () => {
            const nodes = [{ name: "h1", docker: "tcp://h1:2375", address: "h1" }];
            const outs = plugin.previewOutputs(urn("Cluster", "c"), { name: "c", nodes: secret(nodes) });
            assert.deepEqual(outs.ref, secret({ name: "c", nodes: [{ ...nodes[0], schedulable: true }] }));
        });

        it("what derives from an unknown input stays unknown: the outputs are the inputs", () => {
            const unknownPort = { ...binding, listen: { port: UNKNOWN } };
            assert.deepEqual(plugin.previewOutputs(urn("SlbBinding", "web"), unknownPort), unknownPort);
        });
    });
});
