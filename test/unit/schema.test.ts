// schema.json is derived from the TypeScript types (scripts/schema.ts): the committed file must be
// exactly what they describe, every property documented, secrets marked.
import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { deriveSchema, SCHEMA_FILE } from "../../scripts/schema";

/** The error of an undocumented declaration. */
const undocumented = (what: string) => new RegExp(`^Error: document these \\(a JSDoc comment\\): ${what.replace(/[()]/g, "\\$&")}$`);

const FIXTURES = mkdtempSync(path.join(tmpdir(), "berth-schema-"));

/** The schema of a types file serving one resource, Thing (ThingInputs, ThingOutputs). */
function deriveFrom(source: string): any {
    const file = path.join(FIXTURES, "types.ts");
    writeFileSync(file, source);
    return deriveSchema(file, { resources: { "berth:index:Thing": { inputs: "ThingInputs", outputs: "ThingOutputs" } }, components: {} });
}
const OUTPUTS = `
/** Outputs. */
export interface ThingOutputs {
    /** Its id. */
    id: string;
}`;

describe("schema.json", () => {
    const derived = deriveSchema() as any;
    after(() => rmSync(FIXTURES, { recursive: true }));

    it("is what the TypeScript types describe (run `npm run schema` after changing them)", () => {
        assert.deepEqual(JSON.parse(readFileSync(SCHEMA_FILE, "utf8")), derived);
    });

    it("documents every property of every resource and type", () => {
        const objects = [
            ...Object.values(derived.types).map((t: any) => t.properties ?? {}),
            ...Object.values(derived.resources).flatMap((r: any) => [r.inputProperties, r.properties]),
        ];
        for (const props of objects) for (const [name, p] of Object.entries<any>(props)) assert.ok(p.description, name);
        for (const [name, t] of Object.entries<any>(derived.types)) if (t.enum) assert.ok(t.description, name);
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

    it("names the package's repository and homepage, from package.json", () => {
        const pkg = JSON.parse(readFileSync(path.join(path.dirname(SCHEMA_FILE), "package.json"), "utf8"));
        assert.equal(derived.repository, pkg.repository.url);
        assert.equal(derived.homepage, pkg.homepage);
    });

    it("describes every resource and component, and fails on one its inputs' interface leaves undescribed", () => {
        for (const [token, r] of Object.entries<any>(derived.resources)) assert.ok(r.description, token);
        assert.throws(() => deriveFrom(`export interface ThingInputs {}\n${OUTPUTS}`), undocumented("berth:index:Thing (its inputs' interface)"));
    });

    it("gives the fixed sets of words enum types, which typed SDKs make enums of", () => {
        const ref = (name: string) => `#/types/berth:index:${name}`;
        const { resources: r, types: t } = derived;
        assert.deepEqual(t["berth:index:ServiceMode"].enum, [{ value: "global" }, { value: "replicated" }]);
        assert.equal(r["berth:index:Service"].inputProperties.mode.$ref, ref("ServiceMode"));
        assert.equal(t["berth:index:ReleaseSpec"].properties.strategy.$ref, ref("ReleaseStrategy"));
        assert.equal(r["berth:index:SlbBinding"].inputProperties.driver.$ref, ref("LoadBalancerDriver"));
        // Except in the ref a binding hands to a Service: Pulumi YAML passes no enum output on to an enum input.
        assert.equal(t["berth:index:SlbBindingRef"].properties.driver.type, "string");
        assert.equal(t["berth:index:BucketStorage"].properties.kind.$ref, ref("BucketStorageKind"));
        assert.equal(r["berth:index:RegistryBucketRotation"].inputProperties.period.$ref, ref("PeriodKind"));
    });

    it("makes one enum of a type alias of words, wherever it is used, required, optional or in an array", () => {
        const schema = deriveFrom(`
/** A colour. */
export type Colour = "red" | "blue";
/** A thing. */
export interface ThingInputs {
    /** One. */
    colour: Colour;
    /** Maybe one. */
    other?: Colour;
    /** Many. */
    all: Colour[];
}${OUTPUTS}`);
        const colours = [{ value: "blue" }, { value: "red" }];
        assert.deepEqual(schema.types["berth:index:Colour"], { type: "string", description: "A colour.", enum: colours });
        const { colour, other, all } = schema.resources["berth:index:Thing"].inputProperties;
        for (const spec of [colour, other, all.items]) assert.equal(spec.$ref, "#/types/berth:index:Colour");
    });

    it("fails on a union of words without a documented type alias to name its enum", () => {
        const thing = (colour: string) => `
/** A thing. */
export interface ThingInputs {
    /** Its colour. */
    colour?: ${colour};
}${OUTPUTS}`;
        assert.throws(() => deriveFrom(thing(`"red" | "blue"`)), /give the union "blue" \| "red" a name/);
        assert.throws(() => deriveFrom(`export type Colour = "red" | "blue";${thing("Colour")}`), undocumented("Colour (its type alias)"));
    });
});
