// The resources a component builds with, behind one interface: the TypeScript package builds with
// the dynamic resource classes (dynamicKit), the provider plugin with its own resource types
// (provider/plugin/kit.ts). One component implementation then serves TypeScript and every other
// language with the same inputs.
import * as pulumi from "@pulumi/pulumi";
import type { ContainerState, SlbBindingState } from "../provider/model";
import type { PostStartHookArgs } from "../provider/engine/hook";
import type { ServiceInputs, SlbBindingInputs } from "../provider/model";
import type { DeepInput, Inputs } from "../provider/resources/inputs";
import { PostStartHook } from "../provider/resources/postStartHook";
import { Service, ServiceResourceArgs } from "../provider/resources/service";
import { SlbBinding, SlbBindingResourceArgs } from "../provider/resources/slbBinding";

export type { DeepInput, Inputs };

export interface KitBinding {
    url: pulumi.Output<string>;
    /** What a service takes as `slb` in its bindings. */
    state: pulumi.Output<SlbBindingState>;
}

export interface KitService extends pulumi.CustomResource {
    revision: pulumi.Output<string>;
    containers: pulumi.Output<ContainerState[]>;
    ownerId: pulumi.Output<string>;
}

export interface BerthKit {
    slbBinding(name: string, args: Inputs<SlbBindingInputs>, opts: pulumi.CustomResourceOptions): KitBinding;
    service(name: string, args: Inputs<ServiceInputs>, opts: pulumi.CustomResourceOptions): KitService;
    postStartHook(name: string, args: Inputs<PostStartHookArgs>, opts: pulumi.CustomResourceOptions): pulumi.CustomResource;
}

export const dynamicKit: BerthKit = {
    slbBinding: (name, args, opts) => new SlbBinding(name, args as SlbBindingResourceArgs, opts),
    service: (name, args, opts) => new Service(name, { ...args, bindings: pulumi.output(args.bindings ?? []) } as ServiceResourceArgs, opts),
    postStartHook: (name, args, opts) => new PostStartHook(name, args, opts),
};
