import * as pulumi from "@pulumi/pulumi";
import { AliyunEndpoint, HaproxyEndpoint, ListenerProtocol, listenerUrlOf, LoadBalancerDriver, SlbBindingState } from "../model";
import type { DeepInput } from "./inputs";
import { lazyProvider, stackConfig, stackOfProgram } from "./lazy";
import { aliyunWithDefaults } from "../config";

export interface SlbBindingResourceArgs {
    /** Listener and backend pool name on the load balancer; defaults to the resource name. */
    name?: pulumi.Input<string>;
    driver?: pulumi.Input<LoadBalancerDriver>;
    /** The HAProxy, here or (with `ssh`) on its own host; give `ssh.privateKey` as a secret. */
    haproxy?: DeepInput<HaproxyEndpoint>;
    /** With driver "aliyun": the CLB instance; the access key is kept as a secret in the state. */
    aliyun?: pulumi.Input<{ [K in keyof AliyunEndpoint]: pulumi.Input<AliyunEndpoint[K]> }>;
    protocol?: pulumi.Input<ListenerProtocol>;
    listen: pulumi.Input<{ address?: pulumi.Input<string>; port: pulumi.Input<number> }>;
    healthCheck?: pulumi.Input<{
        httpPath?: pulumi.Input<string>;
        intervalMs?: pulumi.Input<number>;
        rise?: pulumi.Input<number>;
        fall?: pulumi.Input<number>;
    }>;
}

/** A listener and backend pool on one load balancer. A service may serve through many. */
export class SlbBinding extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly driver: pulumi.Output<LoadBalancerDriver>;
    declare readonly haproxy: pulumi.Output<HaproxyEndpoint | undefined>;
    declare readonly aliyun: pulumi.Output<AliyunEndpoint | undefined>;
    declare readonly protocol: pulumi.Output<ListenerProtocol | undefined>;
    declare readonly listen: pulumi.Output<{ address: string; port: number }>;
    declare readonly healthCheck: pulumi.Output<SlbBindingState["healthCheck"]>;
    declare readonly url: pulumi.Output<string>;
    /** Minted when the resource was created; the listener records it with the stack. */
    declare readonly ownerId: pulumi.Output<string>;

    /**
     * The optional settings as given (the engine returns them unchanged). `state` takes them from here:
     * in a preview an output the engine left absent is unknown, and would make the whole state unknown.
     */
    private readonly given: Pick<SlbBindingResourceArgs, "haproxy" | "aliyun" | "protocol" | "healthCheck">;

    constructor(name: string, args: SlbBindingResourceArgs, opts?: pulumi.CustomResourceOptions) {
        // The stack's berth: region and access key where the binding names none.
        const aliyun =
            args.aliyun &&
            pulumi.all([args.aliyun, stackConfig.aliyunAccessKeySecret()]).apply(([a, secret]) => {
                const endpoint = aliyunWithDefaults(a, { ...stackConfig(), ...(secret ? { aliyunAccessKeySecret: secret } : {}) });
                return endpoint.accessKeySecret === undefined ? endpoint : pulumi.secret(endpoint);
            });
        super(
            lazyProvider("slbBinding", "slbBindingProvider"),
            name,
            {
                name: args.name ?? name,
                driver: args.driver ?? "haproxy",
                haproxy: args.haproxy,
                aliyun,
                protocol: args.protocol,
                listen: args.listen,
                healthCheck: args.healthCheck,
                stack: stackOfProgram(),
                url: undefined,
                ownerId: undefined,
            },
            { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "aliyun"] },
            "berth",
            "SlbBinding",
        );
        this.given = { haproxy: args.haproxy, aliyun, protocol: args.protocol, healthCheck: args.healthCheck };
    }

    /** What a Service takes in `bindings`: known at the first preview (the url from the settings, not the engine), so the Service can plan then. */
    get state(): pulumi.Output<SlbBindingState> {
        return pulumi
            .all([this.name, this.driver, this.given.haproxy, this.given.aliyun, this.given.protocol, this.listen, this.given.healthCheck])
            .apply(([n, driver, haproxy, aliyun, protocol, listen, healthCheck]) => ({
                name: n,
                driver,
                haproxy,
                aliyun,
                protocol,
                listen,
                healthCheck,
                url: listenerUrlOf(listen),
            }));
    }
}
