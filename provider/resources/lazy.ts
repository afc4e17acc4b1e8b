// Dynamic providers are serialized as closures into Pulumi state. Serializing the engine itself
// would capture sockets and class instances, so the serialized provider only holds the engine
// module's path and loads it, with `require`, inside the provider process.
import type * as pulumi from "@pulumi/pulumi";

export function lazyProvider(modulePath: string, exportName: string): pulumi.dynamic.ResourceProvider {
    const load = (): pulumi.dynamic.ResourceProvider => require(modulePath)[exportName];
    return {
        check: (olds, news) => load().check!(olds, news),
        diff: (id, olds, news) => load().diff!(id, olds, news),
        create: (inputs) => load().create(inputs),
        read: (id, props) => load().read!(id, props),
        update: (id, olds, news) => load().update!(id, olds, news),
        delete: (id, props) => load().delete!(id, props),
    };
}

/** Marks outputs secret whatever the inputs were: outputs that carry node keys must never be stored in plain text. */
export function withSecretOutputs(opts: pulumi.CustomResourceOptions | undefined, outputs: string[]): pulumi.CustomResourceOptions {
    return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...outputs] };
}
