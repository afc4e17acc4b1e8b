import * as pulumi from "@pulumi/pulumi";
import { BucketStorage } from "../rotation/config";
import { PeriodKind } from "../rotation/period";
import { BucketState, RegistryUser, RotationTls } from "../rotation/rotationModel";
import { Cluster } from "./cluster";
import { lazyProvider, stackOfProgram } from "./lazy";
import { SlbBinding } from "./slbBinding";

export interface RegistryBucketRotationArgs {
    /** Name of the rotation (container and backend names); defaults to the resource name. */
    name?: pulumi.Input<string>;
    cluster: Cluster;
    /** The cluster node that runs the bucket registries. */
    node: pulumi.Input<string>;
    /** Buckets are named `<prefix>-<period>` (images-2026q4, images-2026m11, images-2026w47). */
    prefix: pulumi.Input<string>;
    /** quarter (default), month or week (ISO weeks). */
    period?: pulumi.Input<PeriodKind>;
    /** Buckets kept: the current one and `retain - 1` read-only ones before it. Default 2. */
    retain?: pulumi.Input<number>;
    /** Newest tags per repository copied into a new bucket, besides every image in use. Default 3. */
    keepTags?: pulumi.Input<number>;
    /** `{kind: "volume"}` (default) or `{kind: "s3", region, regionEndpoint?, accessKey?, secretKey? (secret), forcePathStyle?}`. */
    storage?: pulumi.Input<BucketStorage>;
    /** Registry image; default: built on the node from this machine's Debian docker-registry. */
    image?: pulumi.Input<string>;
    /** Seconds the previous bucket's registry stays in the binding's pool at weight 0 before it leaves (all of them on Aliyun CLB, which counts no requests in flight). Default 30. */
    drainTimeoutSeconds?: pulumi.Input<number>;
    /** The stable address for push and pull: its listener (protocol "tcp", TLS passes through) must be reachable from the nodes. */
    binding: SlbBinding;
    /** HTTPS of the bucket registries: `{certificate, key (secret), ca?}`; the certificate names the binding's address and the node's, signed by a CA every node trusts. */
    tls: pulumi.Input<InputsOf<RotationTls>>;
    /** Who may push and pull (htpasswd, bcrypt): `[{username, password (secret)}]`; berth's own copies use the first. */
    users: pulumi.Input<Array<pulumi.Input<InputsOf<RegistryUser>>>>;
    /** Clock override (ISO 8601) deciding the current period; default: the time of the run. */
    now?: pulumi.Input<string>;
}

/** A registry whose storage is one bucket per period; old buckets are dropped whole, never garbage-collected. */
export class RegistryBucketRotation extends pulumi.dynamic.Resource {
    declare readonly currentBucket: pulumi.Output<string>;
    /** host:port to push to and pull from. */
    declare readonly address: pulumi.Output<string>;
    declare readonly buckets: pulumi.Output<BucketState[]>;
    declare readonly purged: pulumi.Output<string[]>;
    declare readonly lastRotation: pulumi.Output<string[]>;
    /** Minted when the rotation was created; its registries and buckets record it with the stack. */
    declare readonly ownerId: pulumi.Output<string>;

    constructor(name: string, args: RegistryBucketRotationArgs, opts?: pulumi.CustomResourceOptions) {
        warnIfPlainSecretKey(name, args.storage);
        warnIfPlain(name, "tls.key", args.tls && !pulumi.Output.isInstance(args.tls) ? (args.tls as InputsOf<RotationTls>).key : undefined);
        if (Array.isArray(args.users))
            args.users.forEach((u, i) =>
                warnIfPlain(name, `users[${i}].password`, u && !pulumi.Output.isInstance(u) ? (u as InputsOf<RegistryUser>).password : undefined),
            );
        super(
            lazyProvider("registryRotation", "registryRotationProvider"),
            name,
            {
                name: args.name ?? name,
                cluster: { name: args.cluster.name, nodes: args.cluster.nodes },
                node: args.node,
                prefix: args.prefix,
                period: args.period,
                retain: args.retain,
                keepTags: args.keepTags,
                // Secret as a whole: it may hold an S3 secret key.
                storage: args.storage === undefined ? undefined : pulumi.secret(args.storage),
                image: args.image,
                drainTimeoutSeconds: args.drainTimeoutSeconds,
                binding: args.binding.state,
                // Secret as a whole: the private key and the passwords.
                tls: pulumi.secret(args.tls),
                users: pulumi.secret(args.users),
                now: args.now,
                stack: stackOfProgram(),
                ownerId: undefined,
                currentBucket: undefined,
                address: undefined,
                buckets: undefined,
                purged: undefined,
                lastRotation: undefined,
            },
            { ...opts, additionalSecretOutputs: ["storage", "tls", "users", ...(opts?.additionalSecretOutputs ?? [])] },
            "berth",
            "RegistryBucketRotation",
        );
    }
}

type InputsOf<T> = { [K in keyof T]: pulumi.Input<T[K]> };

function warnIfPlain(resource: string, property: string, value: pulumi.Input<string> | undefined): void {
    if (typeof value === "string")
        void pulumi.log.warn(
            `${resource}: ${property} is not a secret; pass pulumi.secret(...) or a secret config value (it is stored encrypted either way)`,
        );
}

function warnIfPlainSecretKey(resource: string, storage: pulumi.Input<BucketStorage> | undefined): void {
    const key =
        storage && !pulumi.Output.isInstance(storage) && (storage as BucketStorage).kind === "s3"
            ? (storage as { secretKey?: pulumi.Input<string> }).secretKey
            : undefined;
    warnIfPlain(resource, "storage.secretKey", key);
}
