// Inputs and outputs of RegistryBucketRotation, as plain data.
import { DEFAULTS, lbRiseSeconds, NodeSpec, SlbBindingState } from "../model";
import type { BucketContents } from "./copy";
import type { BucketStorage } from "./config";
import { PeriodKind } from "./period";

/** The bucket registries serve HTTPS only, with this certificate; nodes trust the CA that signed it. */
export interface RotationTls {
    /** PEM certificate (its chain after it) naming the stable address's host and the registries' node address. */
    certificate: string;
    /** Its PEM private key: a secret. */
    key: string;
    /** PEM certificate of the CA that signed it, which berth's own connections trust (copy-forward, reads); default: this machine's trusted CAs. */
    ca?: string;
}

/** A user of the bucket registries (htpasswd, bcrypt hashed by berth): any user may push and pull. */
export interface RegistryUser {
    /** User name (no ':'). */
    username: string;
    /** Password: a secret. */
    password: string;
}

export interface RegistryRotationArgs {
    /** Name of the rotation (container and backend names). */
    name: string;
    /** The cluster whose node runs the bucket registries. */
    cluster: { name: string; nodes: NodeSpec[] };
    /** The cluster node that runs the bucket registries. */
    node: string;
    /** Bucket names are `<prefix>-<period>`; must make valid S3 bucket names. */
    prefix: string;
    /** Length of a bucket's period: quarter (default), month or week (ISO weeks). */
    period?: PeriodKind;
    /** Buckets kept: the current one and `retain - 1` read-only ones before it. Default 2. */
    retain?: number;
    /** Newest tags per repository (by push time) copied into a new bucket, besides every image in use. Default 3. */
    keepTags?: number;
    /** Where the buckets live: a Docker volume on the node (default) or an S3-compatible store. */
    storage?: BucketStorage;
    /** Registry image; default: built on the node from this machine's Debian docker-registry. */
    image?: string;
    /**
     * Seconds the previous bucket's registry keeps its place in the binding's pool at weight 0 before it
     * leaves: until no request is in flight, or all of it where the load balancer counts none (Aliyun CLB). Default 30.
     */
    drainTimeoutSeconds?: number;
    /** The stable address for push and pull: a binding whose backend pool holds the current bucket's registry. */
    binding: SlbBindingState;
    /** HTTPS of the bucket registries; the binding forwards connections (protocol tcp), so TLS reaches them. */
    tls: RotationTls;
    /** Who may push and pull (anyone else gets 401); berth's own copies use the first. */
    users: RegistryUser[];
    /** Clock override (ISO 8601): the moment that decides the current period. Default: now. */
    now?: string;
    /** Computed by check: the bucket this moment falls in (a change shows the rotation in preview). */
    currentBucket?: string;
    /** Set by berth, never by hand: the stack that owns the rotation (organization/project/stack); its registries and buckets record it. */
    stack?: string;
}

export interface BucketState extends BucketContents {
    /** Bucket name, `<prefix>-<period>`. */
    name: string;
    /** host:port of this bucket's own registry. */
    address: string;
    /** Retained buckets serve pulls only. */
    readOnly: boolean;
}

export interface RegistryRotationState extends RegistryRotationArgs {
    currentBucket: string;
    /** Minted when the rotation was created; its registries and buckets record it, and only this resource changes them. */
    ownerId?: string;
    /** host:port to push to and pull from. */
    address: string;
    /** Current bucket first, then retained ones, newest first. */
    buckets: BucketState[];
    /** Buckets the last run purged. */
    purged: string[];
    /** What the last run did, one line per step. */
    lastRotation: string[];
}

export const ROTATION_DEFAULTS = { period: "quarter" as PeriodKind, retain: 2, keepTags: 3, drainTimeoutSeconds: DEFAULTS.drainTimeoutSeconds };

/** How long the load balancer may take to call a new bucket's registry healthy: four times its rise × check interval, at least 30 s. */
export const LB_HEALTHY_BOUND = { floorSeconds: 30, margin: 4, setting: "4 × the binding's healthCheck rise × intervalMs, at least 30 s" };

export const lbHealthySecondsOf = (binding: Pick<SlbBindingState, "healthCheck">): number =>
    Math.max(LB_HEALTHY_BOUND.floorSeconds, Math.ceil(LB_HEALTHY_BOUND.margin * lbRiseSeconds(binding.healthCheck)));
