import * as pulumi from "@pulumi/pulumi";
import {
    BackendState,
    ContainerState,
    HealthCheckSpec,
    NodeSpec,
    PlacementSpec,
    PlanCounts,
    PortSpec,
    ReleaseSpec,
    RestartPolicySpec,
    ServiceBinding,
    ServiceMode,
} from "../model";
import { Cluster, clusterRef } from "./cluster";
import { lazyProvider, stackConfig, stackOfProgram, withSecretOutputs } from "./lazy";
import { releaseWithDefaults } from "../config";
import { SlbBinding } from "./slbBinding";

export interface ServiceBindingArgs {
    binding: SlbBinding;
    /** HAProxy weight 1..256 of each container in this binding. Default 100. */
    weight?: pulumi.Input<number>;
    /** Container port the binding sends traffic to. Default: the first of `ports`. */
    containerPort?: pulumi.Input<number>;
}

export interface ServiceResourceArgs {
    /** Service name, used in container names and labels; defaults to the resource name. */
    name?: pulumi.Input<string>;
    cluster: Cluster | pulumi.Input<{ name: string; nodes: NodeSpec[] }>;
    /** Image reference; a tag is resolved to a digest at deploy and every node runs that digest. */
    image: pulumi.Input<string>;
    replicas?: pulumi.Input<number>;
    /** replicated (default) or global: one container on every eligible node. */
    mode?: pulumi.Input<ServiceMode>;
    placement?: pulumi.Input<PlacementSpec>;
    ports?: pulumi.Input<pulumi.Input<PortSpec>[]>;
    env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    command?: pulumi.Input<pulumi.Input<string>[]>;
    healthCheck?: pulumi.Input<HealthCheckSpec>;
    /** CPU and memory limits; a change is applied in place (docker update), no restart. */
    cpus?: pulumi.Input<number>;
    memoryMb?: pulumi.Input<number>;
    restartPolicy?: pulumi.Input<RestartPolicySpec>;
    /** Writable-layer size limit; needs a storage driver with quotas. */
    diskQuotaMb?: pulumi.Input<number>;
    stopGracePeriodSeconds?: pulumi.Input<number>;
    /** SlbBindings (or their weights and ports), or the bindings as the engine takes them (what components pass). */
    bindings?: Array<SlbBinding | ServiceBindingArgs> | pulumi.Output<ServiceBinding[]>;
    release?: pulumi.Input<ReleaseSpec>;
    /** Any value; changing it rolls every container without an image change (a smooth restart). */
    restartTrigger?: pulumi.Input<string>;
}

/** Containers of one image on a cluster, released blue-green behind every binding. */
export class Service extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly image: pulumi.Output<string>;
    declare readonly imageDigest: pulumi.Output<string>;
    declare readonly revision: pulumi.Output<string>;
    declare readonly replicas: pulumi.Output<number>;
    declare readonly containers: pulumi.Output<ContainerState[]>;
    declare readonly backends: pulumi.Output<Record<string, BackendState[]>>;
    declare readonly lastRelease: pulumi.Output<string[]>;
    /** What the last `pulumi up` was planned to do (the preview shows the next one). */
    declare readonly plannedChange: pulumi.Output<string>;
    /** How many changes of each kind that plan makes. */
    declare readonly plannedCounts: pulumi.Output<PlanCounts>;
    /** Minted when the resource was created: its containers carry it; a forced replacement gets a new one. */
    declare readonly ownerId: pulumi.Output<string>;

    constructor(name: string, args: ServiceResourceArgs, opts?: pulumi.CustomResourceOptions) {
        const cluster = clusterRef(args.cluster);
        const bindings = pulumi.Output.isInstance(args.bindings)
            ? args.bindings
            : (args.bindings ?? []).map((b) =>
                  b instanceof SlbBinding ? { slb: b.state } : { slb: b.binding.state, weight: b.weight, containerPort: b.containerPort },
              );
        super(
            lazyProvider("service", "serviceProvider"),
            name,
            {
                name: args.name ?? name,
                cluster,
                image: args.image,
                replicas: args.replicas ?? 1,
                mode: args.mode,
                placement: args.placement,
                ports: args.ports ?? [],
                env: args.env ?? {},
                command: args.command,
                healthCheck: args.healthCheck,
                cpus: args.cpus,
                memoryMb: args.memoryMb,
                restartPolicy: args.restartPolicy,
                diskQuotaMb: args.diskQuotaMb,
                stopGracePeriodSeconds: args.stopGracePeriodSeconds,
                bindings,
                release: pulumi.output(args.release).apply((r) => releaseWithDefaults(r, stackConfig())),
                restartTrigger: args.restartTrigger,
                registries: args.cluster instanceof Cluster ? args.cluster.registries : undefined,
                stack: stackOfProgram(),
                ownerId: undefined,
                imageDigest: undefined,
                revision: undefined,
                containers: undefined,
                backends: undefined,
                lastRelease: undefined,
                plannedChange: undefined,
                plannedCounts: undefined,
            },
            // The cluster's nodes carry TLS and SSH keys, and delete needs them from the stored outputs.
            withSecretOutputs(opts, ["cluster", "registries"]),
            "berth",
            "Service",
        );
    }
}
