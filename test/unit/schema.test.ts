// schema.json is derived from the TypeScript types (scripts/schema.ts): the committed file must be
// exactly what they describe, every property documented, secrets marked.
import * as assert from "node:assert/strict";
import { readFileSync } from "fs";
import { deriveSchema, SCHEMA_FILE } from "../../scripts/schema";

describe("schema.json", () => {
    const derived = deriveSchema() as any;

    it("is what the TypeScript types describe (run `npm run schema` after changing them)", () => {
        assert.deepEqual(JSON.parse(readFileSync(SCHEMA_FILE, "utf8")), derived);
    });

    it("documents every property of every resource and type", () => {
        const objects = [
            ...Object.values(derived.types).map((t: any) => t.properties),
            ...Object.values(derived.resources).flatMap((r: any) => [r.inputProperties, r.properties]),
        ];
        for (const props of objects) for (const [name, p] of Object.entries<any>(props)) assert.ok(p.description, name);
    });

    it("serves the engines' inputs: every ServiceArgs input but the computed plan, name optional", () => {
        const service = derived.resources["berth:index:Service"];
        assert.ok(!("plannedChange" in service.inputProperties) && !("imageDigest" in service.inputProperties));
        assert.ok("plannedChange" in service.properties);
        assert.deepEqual(service.requiredInputs.sort(), ["cluster", "image"]);
        assert.equal(derived.types["berth:index:ServiceBinding"].properties.slb.$ref, "#/types/berth:index:SlbBindingRef");
    });

    it("marks the node TLS key secret", () => {
        assert.equal(derived.types["berth:index:NodeTls"].properties.key.secret, true);
        assert.equal(derived.types["berth:index:NodeTls"].properties.cert.secret, undefined);
    });
});
