// Several services started and released in dependency order, each with an optional post-start
// hook (seed 001's "box"): a service waits for the one before it and for that one's hook. A
// failing hook rolls its service back and fails, so the services after it are not released.
// The preview logs the order. Built with a kit, like every component (components/kit.ts).
import * as pulumi from "@pulumi/pulumi";
import type { PostStartHookSpec } from "../provider/engine/hook";
import { ServiceArgs } from "../provider/model";
import type { ServiceInputs } from "../provider/model";
import { Cluster, clusterRef } from "../provider/resources/cluster";
import { stackOfProgram } from "../provider/resources/lazy";
import { BerthKit, DeepInput, dynamicKit, Inputs } from "./kit";

/** A service of a ServiceGroup and its post-start hook. */
export interface GroupMemberSpec extends Omit<ServiceInputs, "cluster" | "name"> {
    /** Service name, unique in the group (it names the resources too). */
    name: string;
    /** Command run once the service is healthy after each release; a failure rolls the service back and stops the group there. */
    postStart?: PostStartHookSpec;
}

/** Services started and released in order, each after the one before it and that one's post-start hook. */
export interface ServiceGroupInputs {
    /** The cluster's outputs (TypeScript: a Cluster or its `ref`; other languages: the Cluster's `ref` output). */
    cluster: ServiceArgs["cluster"];
    /** The services, in dependency order. */
    services: GroupMemberSpec[];
}

/** A ServiceGroup's outputs. */
export interface ServiceGroupOutputs {
    /** Service names in the order they are released. */
    order: string[];
    /** Revision of each service's containers, by service name. */
    revisions: Record<string, string>;
}

export type GroupMemberArgs = Omit<Inputs<GroupMemberSpec>, "name"> & { name: string };
export interface ServiceGroupArgs {
    cluster: Cluster | DeepInput<ServiceArgs["cluster"]>;
    services: GroupMemberArgs[];
}

/** Builds a ServiceGroup's resources under `parent` with `kit`; returns its outputs. */
export function buildServiceGroup(
    parent: pulumi.Resource,
    name: string,
    args: { cluster: DeepInput<ServiceArgs["cluster"]>; services: GroupMemberArgs[] },
    kit: BerthKit,
) {
    const order = args.services.map((m) => m.name);
    pulumi.log.info(
        `release order: ${order.join(" -> ")}${args.services.some((m) => m.postStart) ? " (each after the post-start hook before it)" : ""}`,
        parent,
    );
    const revisions: Record<string, pulumi.Output<string>> = {};
    let previous: pulumi.Resource | undefined;
    for (const member of args.services) {
        const { postStart, ...memberArgs } = member;
        const serviceArgs = { ...memberArgs, cluster: args.cluster };
        const service = kit.service(`${name}-${member.name}`, serviceArgs, { parent, dependsOn: previous ? [previous] : [] });
        revisions[member.name] = service.revision;
        previous = service;
        if (postStart !== undefined) {
            const hook = pulumi.output(postStart as pulumi.Input<PostStartHookSpec>);
            previous = kit.postStartHook(
                `${name}-${member.name}-post-start`,
                {
                    command: hook.command,
                    runIn: hook.runIn,
                    image: hook.image,
                    env: hook.apply((h) => h.env ?? {}),
                    timeoutSeconds: hook.timeoutSeconds,
                    serviceArgs: pulumi.output({ ...serviceArgs, stack: stackOfProgram() }) as pulumi.Output<any>,
                    revision: service.revision,
                    containers: service.containers,
                    ownerId: service.ownerId,
                },
                { parent, dependsOn: [service] },
            );
        }
    }
    return { order: pulumi.output(order), revisions: pulumi.output(revisions) };
}

export class ServiceGroup extends pulumi.ComponentResource {
    readonly order: pulumi.Output<string[]>;
    readonly revisions: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: ServiceGroupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:components:ServiceGroup", name, {}, opts);
        const cluster = clusterRef(args.cluster);
        const built = buildServiceGroup(this, name, { ...args, cluster }, dynamicKit);
        this.order = built.order;
        this.revisions = built.revisions;
        this.registerOutputs({ order: this.order, revisions: this.revisions });
    }
}
