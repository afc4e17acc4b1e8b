import * as pulumi from "@pulumi/pulumi";
import type { PostStartHookArgs } from "../engine/hook";
import type { DeepInput } from "./inputs";
import { lazyProvider } from "./lazy";

/** A command run after each release of a service, once it is healthy; a failure rolls the service back. ServiceGroup builds these. */
export class PostStartHook extends pulumi.dynamic.Resource {
    declare readonly output: pulumi.Output<string>;

    constructor(name: string, args: { [K in keyof PostStartHookArgs]: DeepInput<PostStartHookArgs[K]> }, opts?: pulumi.CustomResourceOptions) {
        super(lazyProvider("hook", "hookProvider"), name, { ...args, output: undefined }, opts, "berth", "PostStartHook");
    }
}
