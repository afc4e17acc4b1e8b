// Derives schema.json from the TypeScript types the provider plugin serves
// (provider/plugin/types.ts, built on provider/model.ts) with the compiler API, so the schema is
// never written by hand and cannot drift. `npm run schema` rewrites schema.json;
// test/unit/schema.test.ts fails when the committed file differs from what this derives.
//
// Rules: property docs are the JSDoc comments (a property without one is an error); a property
// tagged `@secret`, or named like a key, password or token, is secret; a number is an integer
// (counts, ports, seconds, sizes: typed SDKs then get ints) unless tagged `@fractional`; interfaces
// become named object types (an `Args`, `Spec` or `State` suffix dropped for anonymous members' names);
// a union of string literals becomes an enum type named after its (documented) type alias, so typed
// SDKs get enums that every use of the words shares.
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { COMPONENTS, RESOURCES } from "../provider/plugin/types";

const REPO = path.resolve(__dirname, "..", "..");
const TYPES_FILE = path.join(REPO, "provider", "plugin", "types.ts");
export const SCHEMA_FILE = path.join(REPO, "schema.json");
const SECRET_NAME = /^(key|password|token|secret|privateKey)$|(Key|Password|Token|Secret)$/;

type TypeSpec = Record<string, unknown>;
interface ObjectSpec {
    description?: string;
    properties: Record<string, TypeSpec>;
    required: string[];
}

class Deriver {
    readonly types: Record<string, TypeSpec> = {};
    readonly undocumented: string[] = [];
    private readonly pending = new Set<string>();

    constructor(private readonly checker: ts.TypeChecker) {}

    /** Properties of an object type with their docs, optionality and secrecy. */
    object(type: ts.Type, owner: string): ObjectSpec {
        const properties: Record<string, TypeSpec> = {};
        const required: string[] = [];
        for (const prop of this.checker.getPropertiesOfType(type)) {
            const decl = prop.valueDeclaration ?? prop.declarations?.[0];
            const propType = decl ? this.checker.getTypeOfSymbolAtLocation(prop, decl) : this.checker.getTypeOfSymbol(prop);
            const spec: TypeSpec = { ...this.type(propType, decl) };
            const description = ts.displayPartsToString(prop.getDocumentationComment(this.checker)).trim();
            if (description) spec.description = description;
            else this.undocumented.push(`${owner}.${prop.name}`);
            if (prop.getJsDocTags(this.checker).some((t) => t.name === "secret") || SECRET_NAME.test(prop.name)) spec.secret = true;
            properties[prop.name] = spec;
            if (!(prop.flags & ts.SymbolFlags.Optional)) required.push(prop.name);
        }
        return { properties, required };
    }

    private type(type: ts.Type, where: ts.Node | undefined): TypeSpec {
        const parts = type.isUnion() ? type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null))) : [type];
        if (parts.every((t) => t.flags & ts.TypeFlags.BooleanLike)) return { type: "boolean" };
        if (parts.every((t) => t.flags & ts.TypeFlags.StringLiteral)) return this.enumeration(parts as ts.StringLiteralType[], type, where);
        if (parts.every((t) => t.flags & ts.TypeFlags.StringLike)) return { type: "string" };
        if (parts.every((t) => t.flags & ts.TypeFlags.NumberLike))
            return { type: where && ts.getJSDocTags(where).some((t) => t.tagName.text === "fractional") ? "number" : "integer" };
        if (parts.length !== 1) throw new Error(`cannot describe the union ${this.checker.typeToString(type)} in a schema`);
        const t = parts[0];
        if (this.checker.isArrayType(t)) return { type: "array", items: this.type(this.checker.getTypeArguments(t as ts.TypeReference)[0], where) };
        const index = this.checker.getIndexInfoOfType(t, ts.IndexKind.String);
        if (index && this.checker.getPropertiesOfType(t).length === 0) return { type: "object", additionalProperties: this.type(index.type, where) };
        if (t.flags & ts.TypeFlags.Object) return { $ref: `#/types/berth:index:${this.named(t)}` };
        throw new Error(`cannot describe ${this.checker.typeToString(t)} in a schema`);
    }

    /**
     * Registers the enum of a union of words under its type alias's name. An optional property's type
     * (the union with undefined) has lost the alias: the declaration's type node still names it.
     */
    private enumeration(parts: ts.StringLiteralType[], type: ts.Type, where: ts.Node | undefined): TypeSpec {
        const node = where && ts.isPropertySignature(where) ? where.type : undefined;
        const alias = type.aliasSymbol ?? (node && this.checker.getTypeFromTypeNode(node).aliasSymbol);
        const values = parts.map((p) => p.value).sort();
        if (!alias) throw new Error(`give the union ${values.map((v) => `"${v}"`).join(" | ")} a name (a type alias): it becomes a schema enum`);
        const members = values.map((value) => ({ value }));
        const known = this.types[alias.name];
        if (known && JSON.stringify(known.enum) !== JSON.stringify(members)) throw new Error(`two schema types are named ${alias.name}`);
        if (!known) {
            const description = ts.displayPartsToString(alias.getDocumentationComment(this.checker)).trim();
            if (!description) this.undocumented.push(`${alias.name} (its type alias)`);
            this.types[alias.name] = { type: "string", description, enum: members };
        }
        return { $ref: `#/types/berth:index:${alias.name}` };
    }

    /** Registers an object type under its interface name (or its owner's and property's) and returns the name. */
    private named(t: ts.Type): string {
        const decl = t.symbol?.declarations?.[0];
        let name = t.aliasSymbol?.name ?? t.symbol?.name;
        if (!name || name === "__type") {
            const member = decl?.parent;
            const owner = member?.parent;
            if (!member || !ts.isPropertySignature(member) || !owner || !ts.isInterfaceDeclaration(owner)) {
                throw new Error(`give the type ${this.checker.typeToString(t)} a name`);
            }
            const prop = member.name.getText();
            name = owner.name.text.replace(/(Args|Spec|State)$/, "") + prop[0].toUpperCase() + prop.slice(1);
        }
        if (!this.types[name] && !this.pending.has(name)) {
            this.pending.add(name);
            const docs = t.symbol ? ts.displayPartsToString(t.symbol.getDocumentationComment(this.checker)).trim() : "";
            const o = this.object(t, name);
            this.types[name] = {
                type: "object",
                ...(docs ? { description: docs } : {}),
                properties: o.properties,
                ...(o.required.length ? { required: o.required } : {}),
            };
        }
        return name;
    }
}

/** Resource and component tokens -> the names of their input and output types in a types file. */
type Served = Record<"resources" | "components", Record<string, { inputs: string; outputs: string }>>;

/** The schema the TypeScript types describe; the tests pass a types file of their own to see its failures. */
export function deriveSchema(typesFile = TYPES_FILE, served: Served = { resources: RESOURCES, components: COMPONENTS }): Record<string, unknown> {
    const program = ts.createProgram([typesFile], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS });
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(typesFile)!;
    const exported = new Map(checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).map((s) => [s.name, s]));
    const deriver = new Deriver(checker);
    const declared = (name: string) => {
        const found = exported.get(name);
        if (!found) throw new Error(`${path.relative(REPO, typesFile)} exports no ${name}`);
        // Re-exported (the components' inputs): the docs are on the declaration it names.
        const symbol = found.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(found) : found;
        return { type: checker.getDeclaredTypeOfSymbol(symbol), docs: ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() };
    };
    const resources: Record<string, unknown> = {};
    const tokens = [
        ...Object.entries(served.resources).map(([t, r]) => [t, r, false] as const),
        ...Object.entries(served.components).map(([t, r]) => [t, r, true] as const),
    ];
    for (const [token, { inputs, outputs }, isComponent] of tokens) {
        const i = declared(inputs);
        const ins = deriver.object(i.type, inputs);
        const outs = deriver.object(declared(outputs).type, outputs);
        resources[token] = {
            ...(isComponent ? { isComponent: true } : {}),
            description: i.docs,
            inputProperties: ins.properties,
            requiredInputs: ins.required,
            properties: outs.properties,
            required: outs.required,
        };
    }
    for (const [token, r] of Object.entries(resources))
        if (!(r as { description: string }).description) deriver.undocumented.push(`${token} (its inputs' interface)`);
    if (deriver.undocumented.length) throw new Error(`document these (a JSDoc comment): ${deriver.undocumented.join(", ")}`);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
    // The Go SDK's module path is where the repository would publish it, so that a `replace` can later be dropped.
    const repo = new URL(pkg.repository.url);
    const goModule = `${repo.host}${repo.pathname}/sdk/go`;
    const sorted = Object.fromEntries(
        Object.keys(deriver.types)
            .sort()
            .map((k) => [`berth:index:${k}`, deriver.types[k]]),
    );
    return {
        name: "berth",
        displayName: "berth",
        version: pkg.version,
        repository: pkg.repository.url,
        homepage: pkg.homepage,
        description: "Zero-downtime blue-green deployments to plain Docker hosts behind load balancers.",
        keywords: ["docker", "blue-green", "haproxy", "deployment", "category/infrastructure"],
        license: pkg.license,
        publisher: "berth",
        language: {
            nodejs: { packageName: pkg.name },
            python: { packageName: "pulumi_berth", respectSchemaVersion: true },
            // The Go SDK is one module (tools/gen-sdk writes its go.mod) holding the package berth (named after
            // the import path's last element; a rootPackageName would flatten the components module into it, which
            // the generator cannot do) and berth/components. Go programs get it with a `replace` (README, "Go").
            go: { importBasePath: `${goModule}/berth`, modulePath: goModule, respectSchemaVersion: true },
        },
        types: sorted,
        resources,
    };
}

export const schemaText = (): string => JSON.stringify(deriveSchema(), null, 2) + "\n";

if (require.main === module) {
    fs.writeFileSync(SCHEMA_FILE, schemaText());
    console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
