import * as pulumi from "@pulumi/pulumi";
import { NodeInventory, NodeSpec, RegistryCredentials } from "../model";
import { lazyProvider, withSecretOutputs } from "./lazy";

/** A node as the Cluster takes it: keys may be secrets (`config.requireSecret(...)`), and stay secret. */
export interface NodeArgs extends Omit<NodeSpec, "tls" | "ssh"> {
    tls?: pulumi.Input<{ ca: pulumi.Input<string>; cert: pulumi.Input<string>; key: pulumi.Input<string> }>;
    ssh?: pulumi.Input<{
        privateKey: pulumi.Input<string>;
        hostPublicKey: pulumi.Input<string>;
        user?: pulumi.Input<string>;
        port?: pulumi.Input<number>;
    }>;
}

export interface RegistryCredentialsArgs {
    server: pulumi.Input<string>;
    username: pulumi.Input<string>;
    /** Pass a secret (`pulumi.secret(...)`, `config.requireSecret(...)`); a plain string draws a warning. */
    password: pulumi.Input<string>;
    /** PEM of the CA that signed the registry's certificate, when this machine does not trust it. */
    ca?: pulumi.Input<string>;
}

/**
 * Credentials become one secret input, so they are encrypted in state and hidden in diffs whatever
 * was passed; a password not given as a secret draws a warning, since the program holds it in clear.
 */
export function secretCredentials(
    resource: string,
    registries: RegistryCredentialsArgs[] | undefined,
): pulumi.Output<RegistryCredentials[]> | undefined {
    if (!registries) return undefined;
    const warn = (i: number) =>
        pulumi.log.warn(
            `${resource}: registries[${i}].password is not a secret; pass pulumi.secret(...) or a secret config value (it is stored encrypted either way)`,
        );
    registries.forEach((r, i) => {
        if (!pulumi.Output.isInstance(r.password)) return void warn(i);
        void pulumi.isSecret(r.password as pulumi.Output<string>).then((secret) => {
            if (!secret) void warn(i);
        });
    });
    return pulumi.secret(registries) as pulumi.Output<RegistryCredentials[]>;
}

export interface ClusterResourceArgs {
    /** Cluster name, written on every container's labels; defaults to the resource name. */
    name?: pulumi.Input<string>;
    nodes: pulumi.Input<pulumi.Input<NodeArgs>[]>;
    /** Registry credentials every service on the cluster pulls with. */
    registries?: RegistryCredentialsArgs[];
}

/**
 * Docker hosts services run on. Cordon a node with `schedulable: false`. The `nodes` output is
 * secret: it carries the nodes' TLS and SSH keys.
 */
export class Cluster extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly nodes: pulumi.Output<NodeSpec[]>;
    declare readonly inventory: pulumi.Output<NodeInventory[]>;
    /** Secret. Services on this cluster refer to these rather than holding their own copy. */
    declare readonly registries: pulumi.Output<RegistryCredentials[]>;

    constructor(name: string, args: ClusterResourceArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            lazyProvider("cluster", "clusterProvider"),
            name,
            { name: args.name ?? name, nodes: args.nodes, registries: secretCredentials(name, args.registries) ?? [], inventory: undefined },
            withSecretOutputs(opts, ["nodes", "registries"]),
            "berth",
            "Cluster",
        );
    }

    /**
     * What a Service takes as its `cluster` input: the name and the nodes (secret, one line in a
     * diff), not the inventory, which the Service's check reads from the nodes themselves, so a
     * service's diff does not grow with the number of nodes.
     */
    get ref(): pulumi.Input<{ name: pulumi.Input<string>; nodes: pulumi.Input<NodeSpec[]> }> {
        return { name: this.name, nodes: this.nodes };
    }
}

/** A Service's `cluster` input from a Cluster resource, or the reference a caller built itself. */
export function clusterRef<T>(cluster: Cluster | T) {
    return cluster instanceof Cluster ? cluster.ref : cluster;
}
