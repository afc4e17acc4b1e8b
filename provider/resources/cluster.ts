import * as pulumi from "@pulumi/pulumi";
import { NodeInventory, NodeSpec } from "../model";
import { lazyProvider, withSecretOutputs } from "./lazy";

/** A node as the Cluster takes it: keys may be secrets (`config.requireSecret(...)`), and stay secret. */
export interface NodeArgs extends Omit<NodeSpec, "tls" | "ssh"> {
    tls?: pulumi.Input<{ ca: pulumi.Input<string>; cert: pulumi.Input<string>; key: pulumi.Input<string> }>;
    ssh?: pulumi.Input<{ privateKey: pulumi.Input<string>; hostPublicKey: pulumi.Input<string>; user?: pulumi.Input<string>; port?: pulumi.Input<number> }>;
}

export interface ClusterResourceArgs {
    /** Cluster name, written on every container's labels; defaults to the resource name. */
    name?: pulumi.Input<string>;
    nodes: pulumi.Input<pulumi.Input<NodeArgs>[]>;
}

/**
 * Docker hosts services run on. Cordon a node with `schedulable: false`. The `nodes` output is
 * secret: it carries the nodes' TLS and SSH keys.
 */
export class Cluster extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly nodes: pulumi.Output<NodeSpec[]>;
    declare readonly inventory: pulumi.Output<NodeInventory[]>;

    constructor(name: string, args: ClusterResourceArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            lazyProvider(require.resolve("../engine/cluster"), "clusterProvider"),
            name,
            { name: args.name ?? name, nodes: args.nodes, inventory: undefined },
            withSecretOutputs(opts, ["nodes"]),
            "berth",
            "Cluster",
        );
    }

    /**
     * What a Service takes as its `cluster` input. Kept as separate outputs, not one combined value:
     * the inventory is unknown during the first preview, and the nodes must stay known so that
     * placement can be checked before anything is created.
     */
    get ref(): pulumi.Input<{ name: pulumi.Input<string>; nodes: pulumi.Input<NodeSpec[]>; inventory: pulumi.Input<NodeInventory[]> }> {
        return { name: this.name, nodes: this.nodes, inventory: this.inventory };
    }
}
