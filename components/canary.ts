// A canary from existing resources, no engine change: the main Service and, while a canary is
// given, a small Service of the new image at a low weight in the same bindings. Promote by
// changing inputs: set the main image to the canary's and remove the canary; the main service
// releases blue-green and the canary's containers are drained and removed after it.
import * as pulumi from "@pulumi/pulumi";
import { ServiceArgs, ServiceBinding } from "../provider/model";
import type { ServiceInputs } from "../provider/model";
import { Cluster, clusterRef } from "../provider/resources/cluster";
import { BerthKit, DeepInput, dynamicKit, Inputs, KitService } from "./kit";

/** The canary Service: the main one's settings with another image, fewer replicas, a low weight. */
export interface CanarySpec {
    /** Image the canary runs. */
    image: string;
    /** Canary containers. Default 1. */
    replicas?: number;
    /** HAProxy weight of each canary container in every binding (the main ones keep theirs). Default 10. */
    weight?: number;
}

/** A Service and, while `canary` is set, a small Service of a new image in the same bindings. */
export interface CanaryInputs extends Omit<ServiceInputs, "bindings"> {
    /** The bindings both serve through: each SlbBinding's `state` as `slb`, with the main service's weight. */
    bindings: ServiceBinding[];
    /** The canary; remove it (after setting `image` to its image) to promote. */
    canary?: CanarySpec;
}

/** A Canary's outputs. */
export interface CanaryOutputs {
    /** Revision of the main service's containers. */
    revision: string;
    /** Revision of the canary's containers, while there is a canary. */
    canaryRevision?: string;
}

export interface CanaryArgs extends Omit<Inputs<CanaryInputs>, "cluster"> {
    cluster: Cluster | DeepInput<ServiceArgs["cluster"]>;
}

/** Builds a Canary's resources under `parent` with `kit`; returns its outputs. */
export function buildCanary(parent: pulumi.Resource, name: string, args: Inputs<CanaryInputs>, kit: BerthKit) {
    const { canary: canarySpec, ...mainArgs } = args;
    const main = kit.service(name, mainArgs, { parent });
    let canary: KitService | undefined;
    if (canarySpec !== undefined) {
        const spec = pulumi.output(canarySpec as pulumi.Input<CanarySpec>);
        canary = kit.service(
            `${name}-canary`,
            {
                ...mainArgs,
                name: pulumi.output(args.name ?? name).apply((n) => `${n}-canary`),
                image: spec.image,
                replicas: spec.apply((c) => c.replicas ?? 1),
                bindings: pulumi.all([args.bindings, spec]).apply(([bindings, c]) => bindings.map((b) => ({ ...b, weight: c.weight ?? 10 }))),
            },
            { parent },
        );
    }
    return { main, canary, revision: main.revision, canaryRevision: canary?.revision };
}

export class Canary extends pulumi.ComponentResource {
    readonly main: KitService;
    readonly canary?: KitService;
    readonly revision: pulumi.Output<string>;
    readonly canaryRevision?: pulumi.Output<string>;

    constructor(name: string, args: CanaryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:components:Canary", name, {}, opts);
        const cluster = clusterRef(args.cluster);
        const built = buildCanary(this, name, { ...args, cluster }, dynamicKit);
        this.main = built.main;
        this.canary = built.canary;
        this.revision = built.revision;
        this.canaryRevision = built.canaryRevision;
        this.registerOutputs({ revision: this.revision, canaryRevision: this.canaryRevision });
    }
}
