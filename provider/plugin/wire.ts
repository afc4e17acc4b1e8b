// How values look on the wire between the engine and the plugin, and back: secrets arrive wrapped
// (the plugin accepts secrets), the engines want plain values, and outputs must come back wrapped
// where the inputs were secret or the schema says so. Pure functions, no I/O.
import { specialResourceSig, specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

type Values = Record<string, any>;
type Schema = { types: Record<string, { properties?: Record<string, any> }> };

const isSecret = (v: any): boolean => v !== null && typeof v === "object" && v[specialSigKey] === specialSecretSig;
export const isResourceReference = (v: any): boolean => v !== null && typeof v === "object" && v[specialSigKey] === specialResourceSig;
export const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });

function unwrap(v: any): { value: any; secret: boolean } {
    if (isSecret(v)) return { value: unwrap(v.value).value, secret: true };
    if (Array.isArray(v)) {
        const items = v.map(unwrap);
        return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    if (v !== null && typeof v === "object" && !isResourceReference(v)) {
        const entries = Object.entries(v).map(([k, x]) => [k, unwrap(x)] as const);
        return { value: Object.fromEntries(entries.map(([k, x]) => [k, x.value])), secret: entries.some(([, x]) => x.secret) };
    }
    return { value: v, secret: false };
}

/** Plain values for the engines, and the top-level properties that held a secret somewhere inside. */
export function unwrapSecrets(values: Values | undefined): { plain: Values; secretKeys: Set<string> } {
    const plain: Values = {};
    const secretKeys = new Set<string>();
    for (const [k, v] of Object.entries(values ?? {})) {
        const u = unwrap(v);
        plain[k] = u.value;
        if (u.secret) secretKeys.add(k);
    }
    return { plain, secretKeys };
}

/** Wraps the given top-level properties as secrets. */
export function wrapSecrets(values: Values, keys: Iterable<string>): Values {
    const out = { ...values };
    for (const k of keys) if (out[k] !== undefined && !isSecret(out[k])) out[k] = secret(out[k]);
    return out;
}

/** Whether a value of this schema type holds a property the schema marks secret. */
function holdsSchemaSecret(schema: Schema, spec: any, value: any): boolean {
    if (value === undefined || value === null || spec === undefined) return false;
    if (spec.secret) return true;
    if (spec.type === "array" && Array.isArray(value)) return value.some((v) => holdsSchemaSecret(schema, spec.items, v));
    if (spec.additionalProperties && typeof value === "object")
        return Object.values(value).some((v) => holdsSchemaSecret(schema, spec.additionalProperties, v));
    if (typeof spec.$ref === "string" && typeof value === "object") {
        const type = schema.types[spec.$ref.replace("#/types/", "")];
        return Object.entries(type?.properties ?? {}).some(([k, p]) => holdsSchemaSecret(schema, p, value[k]));
    }
    return false;
}

/** Top-level properties holding a value the schema marks secret (a TLS key given as plain text, say). */
export function schemaSecretKeys(schema: Schema, properties: Record<string, any>, values: Values): string[] {
    return Object.keys(values).filter((k) => holdsSchemaSecret(schema, properties[k], values[k]));
}

/** Points at a resource passed where the schema wants plain values, and says what to pass instead. */
export function resourceReferenceFailures(values: Values, hints: Record<string, string>): Array<{ property: string; reason: string }> {
    const failures: Array<{ property: string; reason: string }> = [];
    const visit = (v: any, path: string) => {
        if (isResourceReference(v)) {
            const hint = Object.entries(hints).find(([prefix]) => path.startsWith(prefix))?.[1];
            failures.push({ property: path, reason: `is a resource (${v.urn}); pass its outputs instead${hint ? `: ${hint}` : ""}` });
        } else if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${path}[${i}]`));
        else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) visit(x, path ? `${path}.${k}` : k);
    };
    visit(values, "");
    return failures;
}
