// Components built inside the provider plugin (construct) create the plugin's own resource types,
// which the engine serves with this same plugin: dynamic resources cannot be created there.
import * as pulumi from "@pulumi/pulumi";
import type { BerthKit, KitBinding, KitService } from "../../components/kit";

class BerthResource extends pulumi.CustomResource {}

/** A berth:index resource registered from within the plugin; `outputs` become its Output properties. */
function resource<T>(token: string, name: string, args: object, outputs: string[], opts: pulumi.CustomResourceOptions): T {
    const props = { ...Object.fromEntries(outputs.map((o) => [o, undefined])), ...args };
    return new BerthResource(token, name, props, opts) as unknown as T;
}

export const pluginKit: BerthKit = {
    slbBinding: (name, args, opts) => resource<KitBinding>("berth:index:SlbBinding", name, args, ["url", "state"], opts),
    service: (name, args, opts) => resource<KitService>("berth:index:Service", name, args, ["revision", "containers", "ownerId"], opts),
    postStartHook: (name, args, opts) => resource<pulumi.CustomResource>("berth:index:PostStartHook", name, args, ["output"], opts),
};
