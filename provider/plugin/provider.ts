// The provider plugin's resources: each schema token served by the same engine as the dynamic
// provider (provider/engine/*), with what a real provider adds around it: the resource name as
// default, secrets in and out, a detailed diff, progress lines against the resource's URN.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../canonical";
import { clusterOutputs, clusterProvider } from "../engine/cluster";
import { changedProperties, serviceProvider } from "../engine/service";
import { slbBindingOutputs, slbBindingProvider } from "../engine/slbBinding";
import { ClusterArgs, defined, ServiceArgs, ServiceState, SlbBindingArgs, slbRefOf } from "../model";
import { withProgressSink } from "../progress";
import { BerthConfig, CONFIG_KEYS, readConfig, withConfigDefaults } from "../config";
import { Severity } from "../engineLog";
import { buildCanary } from "../../components/canary";
import { BerthKit } from "../../components/kit";
import { buildServiceGroup } from "../../components/serviceGroup";
import { buildWebService } from "../../components/webService";
import { hookProvider } from "../engine/hook";
import { registryRotationProvider } from "../engine/registryRotation";
import { pluginKit } from "./kit";
import { COMPONENTS, ResourceToken } from "./types";
import { cancelWaits } from "../surroundings";
import { holdsUnknown } from "../validate";
import { resourceReferenceFailures, schemaSecretKeys, unwrapSecrets, wrapSecrets } from "./wire";

type Values = Record<string, any>;
export type DiffKind = "UPDATE" | "UPDATE_REPLACE";
export interface DetailedDiff {
    changes: boolean;
    replaces: string[];
    deleteBeforeReplace?: boolean;
    /** property -> how it changes, for the preview */
    detailedDiff: Record<string, DiffKind>;
}

interface Served {
    engine: pulumi.dynamic.ResourceProvider;
    /** Inputs the TypeScript class fills in when the program leaves them out. */
    defaults: (name: string, stack: string) => Values;
    /** The outputs the inputs alone say, for a preview; without it a preview's outputs are the inputs. */
    previewOutputs?: (inputs: Values) => Values;
    /** Outputs the plugin adds: what other resources take as inputs. */
    extraOutputs: (outs: Values) => Values;
    /** Which properties changed, as the engine sees it (inputs only, by default). */
    changed?: (olds: Values, news: Values) => string[];
    /** Where a resource reference is a mistake, what to pass instead. */
    referenceHints?: Record<string, string>;
}

const SERVED: Record<ResourceToken, Served> = {
    "berth:index:Cluster": {
        engine: clusterProvider,
        defaults: (name) => ({ name }),
        previewOutputs: (i) => clusterOutputs(i as ClusterArgs),
        extraOutputs: (o) => ({ ref: { name: o.name, nodes: o.nodes } }),
    },
    "berth:index:SlbBinding": {
        engine: slbBindingProvider,
        defaults: (name, stack) => ({ name, driver: "haproxy", stack }),
        previewOutputs: (i) => slbBindingOutputs(i as SlbBindingArgs),
        extraOutputs: (o) => ({
            ref: slbRefOf(o as SlbBindingArgs),
            state: defined({
                name: o.name,
                driver: o.driver,
                haproxy: o.haproxy,
                aliyun: o.aliyun,
                protocol: o.protocol,
                listen: o.listen,
                healthCheck: o.healthCheck,
                url: o.url,
            }),
        }),
    },
    "berth:index:Service": {
        engine: serviceProvider,
        defaults: (name, stack) => ({ name, replicas: 1, ports: [], env: {}, stack }),
        extraOutputs: () => ({}),
        changed: (olds, news) => changedProperties(olds as ServiceState, news as ServiceArgs),
        referenceHints: { cluster: "the Cluster's `ref` output", bindings: "the SlbBinding's `ref` output as `slb`" },
    },
    "berth:index:PostStartHook": {
        engine: hookProvider,
        defaults: () => ({}),
        extraOutputs: () => ({}),
    },
    "berth:index:RegistryBucketRotation": {
        engine: registryRotationProvider,
        defaults: (name, stack) => ({ name, stack }),
        extraOutputs: () => ({}),
        referenceHints: { cluster: "the Cluster's `ref` output", binding: "the SlbBinding's `state` output" },
    },
};

type Builder = (parent: pulumi.Resource, name: string, args: any, kit: BerthKit) => Record<string, unknown>;
/** The components' builders, shared with the TypeScript classes; only their outputs are registered. */
const BUILDERS: Record<keyof typeof COMPONENTS, { build: Builder; outputs: string[]; resolve?: string[] }> = {
    "berth:components:WebService": { build: buildWebService, outputs: ["publicUrl", "privateUrl", "revision"] },
    "berth:components:Canary": { build: buildCanary, outputs: ["revision", "canaryRevision"] },
    // The members must be known to create their resources: construct resolves the list first.
    "berth:components:ServiceGroup": { build: buildServiceGroup, outputs: ["order", "revisions"], resolve: ["services"] },
};

class PluginComponent extends pulumi.ComponentResource {
    done(outputs: pulumi.Inputs): void {
        this.registerOutputs(outputs);
    }
}

export const schemaJson = (): string => fs.readFileSync(path.resolve(__dirname, "..", "..", "..", "schema.json"), "utf8");

/** urn:pulumi:stack::project::type::name -> type, name, and the stack as project/stack (a URN names no organization) */
function parseUrn(urn: string): { token: ResourceToken; name: string; stack: string } {
    const parts = urn.split("::");
    const token = parts[2].split("$").pop()!;
    if (!(token in SERVED)) throw new Error(`berth serves no resource type ${token}`);
    return { token: token as ResourceToken, name: parts[3], stack: `${parts[1]}/${parts[0].split(":").pop()}` };
}

export interface ProgressLog {
    (urn: string, line: string, severity?: Severity): void;
}

export class BerthProvider implements pulumi.provider.Provider {
    readonly version: string;
    private readonly spec = JSON.parse(schemaJson());

    constructor(private readonly log: ProgressLog) {
        this.version = this.spec.version;
    }

    getSchema = async () => schemaJson();

    private config: BerthConfig = {};

    /** The stack's `berth:` keys (Configure's arguments; secrets arrive wrapped). */
    configure(args: Values): void {
        const plain = unwrapSecrets(args).plain;
        this.config = readConfig((key) =>
            typeof plain[key] === "string" ? plain[key] : plain[key] === undefined ? undefined : JSON.stringify(plain[key]),
        );
    }

    /** The `berth:` keys whose values differ. */
    configChanged(olds: Values, news: Values): string[] {
        const [o, n] = [unwrapSecrets(olds).plain, unwrapSecrets(news).plain];
        return CONFIG_KEYS.filter((k) => canonicalJson(o[k] ?? null) !== canonicalJson(n[k] ?? null));
    }

    /** Ctrl-C in `pulumi up`: releases stop waiting at their next safe point and roll the unfinished batch back. */
    cancel = async () => cancelWaits();

    private inputsSchema(token: ResourceToken) {
        return this.spec.resources[token].inputProperties as Record<string, unknown>;
    }

    /** Output secrets: what was secret in the inputs, plus what the schema marks secret. */
    private sealed(token: ResourceToken, outs: Values, secretInputs: Set<string>): Values {
        const extra = SERVED[token].extraOutputs(outs);
        const all = { ...outs, ...extra };
        const keys = new Set([...secretInputs, ...schemaSecretKeys(this.spec, this.spec.resources[token].properties, all)]);
        // The added outputs are built from the inputs: any secret input makes them secret.
        if (secretInputs.size) for (const k of Object.keys(extra)) keys.add(k);
        return wrapSecrets(all, keys);
    }

    /** Runs an engine call with its progress lines going to the engine's log against `urn`. */
    private run<T>(urn: string, fn: () => Promise<T>): Promise<T> {
        return withProgressSink((line, severity) => this.log(urn, line, severity), fn);
    }

    /** Keeps the secrets of a failed create/update's recorded state secret. */
    private async sealFailure<T>(token: ResourceToken, secretKeys: Set<string>, fn: () => Promise<T>): Promise<T> {
        try {
            return await fn();
        } catch (e: any) {
            if (e?.properties) e.properties = this.sealed(token, e.properties, secretKeys);
            throw e;
        }
    }

    async check(urn: string, olds: Values, news: Values) {
        const { token, name, stack } = parseUrn(urn);
        const served = SERVED[token];
        const referenceFailures = resourceReferenceFailures(news, served.referenceHints ?? {});
        if (referenceFailures.length) return { inputs: news, failures: referenceFailures };
        const n = unwrapSecrets(news);
        const given = {
            ...served.defaults(name, stack),
            ...Object.fromEntries(Object.entries(n.plain).filter(([, v]) => v !== undefined && v !== null)),
        };
        const inputs = withConfigDefaults(token, given, this.config);
        const result = await this.run(urn, () => served.engine.check!(unwrapSecrets(olds).plain, inputs));
        const secretKeys = [...n.secretKeys, ...schemaSecretKeys(this.spec, this.inputsSchema(token), result.inputs ?? inputs)];
        return { inputs: wrapSecrets(result.inputs ?? inputs, secretKeys), failures: result.failures ?? [] };
    }

    async diff(id: string, urn: string, olds: Values, news: Values): Promise<DetailedDiff> {
        const { token } = parseUrn(urn);
        const served = SERVED[token];
        const n = unwrapSecrets(news).plain;
        // The engines compare their own outputs: leave out the ones the plugin adds.
        const o = unwrapSecrets(olds).plain;
        for (const k of Object.keys(served.extraOutputs(o))) delete o[k];
        const result = await this.run(urn, () => served.engine.diff!(id, o, n));
        const replaces = result.replaces ?? [];
        const changed = served.changed
            ? served.changed(o, n)
            : Object.keys(this.inputsSchema(token)).filter((k) => canonicalJson(o[k] ?? null) !== canonicalJson(n[k] ?? null));
        const detailedDiff: Record<string, DiffKind> = {};
        if (result.changes) {
            for (const k of changed) detailedDiff[k] = "UPDATE";
            // The computed plan of the next `pulumi up` (Service) shows beside the inputs that caused it.
            if (n.plannedChange !== undefined && n.plannedChange !== o.plannedChange) detailedDiff.plannedChange = "UPDATE";
        }
        for (const k of replaces) detailedDiff[k] = "UPDATE_REPLACE";
        return { changes: !!result.changes, replaces, deleteBeforeReplace: result.deleteBeforeReplace, detailedDiff };
    }

    async create(urn: string, inputs: Values) {
        const { token } = parseUrn(urn);
        const i = unwrapSecrets(inputs);
        return this.sealFailure(token, i.secretKeys, () =>
            this.run(urn, async () => {
                const r = await SERVED[token].engine.create(i.plain);
                return { id: r.id, outs: this.sealed(token, r.outs, i.secretKeys) };
            }),
        );
    }

    async read(id: string, urn: string, props: Values) {
        const { token } = parseUrn(urn);
        const p = unwrapSecrets(props);
        return this.run(urn, async () => {
            const r = await SERVED[token].engine.read!(id, p.plain);
            return { id: r.id, props: this.sealed(token, r.props ?? p.plain, p.secretKeys) };
        });
    }

    async update(id: string, urn: string, olds: Values, news: Values) {
        const { token } = parseUrn(urn);
        const n = unwrapSecrets(news);
        return this.sealFailure(token, n.secretKeys, () =>
            this.run(urn, async () => {
                const r = await SERVED[token].engine.update!(id, unwrapSecrets(olds).plain, n.plain);
                return { outs: this.sealed(token, r.outs ?? {}, n.secretKeys) };
            }),
        );
    }

    /**
     * A create or an update in `pulumi preview` (the plugin says it supports previews): the outputs as far
     * as the inputs say, nothing touched. A binding's `state` and a cluster's `ref` are so known at a new
     * stack's first preview, and its Services plan then, as in TypeScript.
     */
    previewOutputs(urn: string, inputs: Values): Values {
        const { token } = parseUrn(urn);
        const i = unwrapSecrets(inputs);
        // What derives from an unknown input stays unknown: left out, as the engine itself would leave it.
        if (holdsUnknown(i.plain)) return inputs;
        return this.sealed(token, SERVED[token].previewOutputs?.(i.plain) ?? i.plain, i.secretKeys);
    }

    async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions) {
        const component = BUILDERS[type as keyof typeof COMPONENTS];
        if (!component) throw new Error(`berth has no component ${type}`);
        const parent = new PluginComponent(type, name, {}, options);
        const args: Record<string, unknown> = { ...inputs };
        for (const k of component.resolve ?? []) args[k] = await (pulumi.output(inputs[k]) as any).promise();
        const built = component.build(parent, name, args, pluginKit);
        const state = Object.fromEntries(component.outputs.filter((k) => built[k] !== undefined).map((k) => [k, built[k]])) as pulumi.Inputs;
        parent.done(state);
        return { urn: parent.urn, state };
    }

    async delete(id: string, urn: string, props: Values) {
        const { token } = parseUrn(urn);
        await this.run(urn, () => SERVED[token].engine.delete!(id, unwrapSecrets(props).plain) as Promise<void>);
    }
}
