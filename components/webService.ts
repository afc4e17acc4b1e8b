// A reusable web service: one Service behind a public and a private listener, the common shape
// that a single-SLB-per-service platform cannot express.
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../provider/resources/cluster";
import { Service, ServiceResourceArgs } from "../provider/resources/service";
import { SlbBinding } from "../provider/resources/slbBinding";
import { HaproxyEndpoint } from "../provider/model";

export interface ListenerArgs {
    haproxy: pulumi.Input<HaproxyEndpoint>;
    address?: pulumi.Input<string>;
    port: pulumi.Input<number>;
    /** HAProxy weight of each container in this listener. Default 100. */
    weight?: pulumi.Input<number>;
}

export interface WebServiceArgs extends Omit<ServiceResourceArgs, "bindings" | "cluster"> {
    cluster: Cluster;
    public: ListenerArgs;
    private?: ListenerArgs;
    /** HTTP path both the containers and the load balancers check. Default /health. */
    healthPath?: string;
}

export class WebService extends pulumi.ComponentResource {
    readonly service: Service;
    readonly publicUrl: pulumi.Output<string>;
    readonly privateUrl?: pulumi.Output<string>;

    constructor(name: string, args: WebServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("berth:components:WebService", name, {}, opts);
        const healthPath = args.healthPath ?? "/health";
        const listener = (suffix: string, l: ListenerArgs) =>
            new SlbBinding(
                `${name}-${suffix}`,
                { haproxy: l.haproxy, listen: { address: l.address, port: l.port }, healthCheck: { httpPath: healthPath } },
                { parent: this },
            );
        const pub = listener("public", args.public);
        const priv = args.private ? listener("private", args.private) : undefined;
        this.service = new Service(
            name,
            {
                ...args,
                healthCheck: args.healthCheck ?? { httpPath: healthPath },
                bindings: [
                    { binding: pub, weight: args.public.weight },
                    ...(priv && args.private ? [{ binding: priv, weight: args.private.weight }] : []),
                ],
            },
            { parent: this },
        );
        this.publicUrl = pub.url;
        this.privateUrl = priv?.url;
        this.registerOutputs({ publicUrl: this.publicUrl, privateUrl: this.privateUrl });
    }
}
