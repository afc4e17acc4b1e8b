// A reusable web service: one Service behind a public and a private listener, the common shape
// that a single-SLB-per-service platform cannot express. Built with a kit (components/kit.ts), so
// the same code serves the TypeScript class below and the provider plugin (other languages).
import * as pulumi from "@pulumi/pulumi";
import { HaproxyEndpoint, ServiceArgs } from "../provider/model";
import type { ServiceInputs } from "../provider/model";
import { Cluster, clusterRef } from "../provider/resources/cluster";
import { BerthKit, DeepInput, dynamicKit, Inputs, KitService } from "./kit";

/** A listener of a WebService. */
export interface ListenerSpec {
    /** The HAProxy to configure. */
    haproxy: HaproxyEndpoint;
    /** Bind address. Default 127.0.0.1. */
    address?: string;
    /** Bind port. */
    port: number;
    /** HAProxy weight of each container in this listener. Default 100. */
    weight?: number;
}

/** One Service behind a public and, optionally, a private listener, both checking the same health path. */
export interface WebServiceInputs extends Omit<ServiceInputs, "bindings"> {
    /** The public listener. */
    public: ListenerSpec;
    /** The private listener, if any. */
    private?: ListenerSpec;
    /** HTTP path both the containers and the load balancers check. Default /health. */
    healthPath?: string;
}

/** A WebService's outputs. */
export interface WebServiceOutputs {
    /** URL of the public listener. */
    publicUrl: string;
    /** URL of the private listener. */
    privateUrl?: string;
    /** Revision of the service's containers. */
    revision: string;
}

export type ListenerArgs = Inputs<ListenerSpec>;
export interface WebServiceArgs extends Omit<Inputs<WebServiceInputs>, "cluster" | "public" | "private"> {
    cluster: Cluster | DeepInput<ServiceArgs["cluster"]>;
    public: ListenerArgs;
    private?: ListenerArgs;
}

/** Builds a WebService's resources under `parent` with `kit`; returns its outputs. */
export function buildWebService(parent: pulumi.Resource, name: string, args: Inputs<WebServiceInputs>, kit: BerthKit) {
    const healthPath = pulumi.output(args.healthPath ?? "/health");
    const listener = (suffix: string, spec: DeepInput<ListenerSpec | undefined>) => {
        const l = pulumi.output(spec as pulumi.Input<ListenerSpec>);
        return {
            weight: l.apply((x) => x.weight),
            binding: kit.slbBinding(
                `${name}-${suffix}`,
                { haproxy: l.haproxy, listen: l.apply((x) => ({ address: x.address, port: x.port })), healthCheck: { httpPath: healthPath } },
                { parent },
            ),
        };
    };
    const listeners = [listener("public", args.public), ...(args.private !== undefined ? [listener("private", args.private)] : [])];
    const { public: _public, private: _private, healthPath: _healthPath, ...serviceArgs } = args;
    const service: KitService = kit.service(
        name,
        {
            ...serviceArgs,
            healthCheck: args.healthCheck ?? { httpPath: healthPath },
            bindings: listeners.map((l) => ({ slb: l.binding.state, weight: l.weight })),
        },
        { parent },
    );
    return { service, publicUrl: listeners[0].binding.url, privateUrl: listeners[1]?.binding.url, revision: service.revision };
}

export class WebService extends pulumi.ComponentResource {
    readonly service: KitService;
    readonly publicUrl: pulumi.Output<string>;
    readonly privateUrl?: pulumi.Output<string>;
    readonly revision: pulumi.Output<string>;

    constructor(name: string, args: WebServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:components:WebService", name, {}, opts);
        const cluster = clusterRef(args.cluster);
        const built = buildWebService(this, name, { ...args, cluster }, dynamicKit);
        this.service = built.service;
        this.publicUrl = built.publicUrl;
        this.privateUrl = built.privateUrl;
        this.revision = built.revision;
        this.registerOutputs({ publicUrl: this.publicUrl, privateUrl: this.privateUrl, revision: this.revision });
    }
}
