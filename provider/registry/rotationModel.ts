// Inputs and outputs of RegistryBucketRotation, as plain data.
import { NodeSpec, SlbBindingState } from "../model";
import type { BucketContents } from "./copy";
import type { BucketStorage } from "./config";
import { PeriodKind } from "./period";

export interface RegistryRotationArgs {
    name: string;
    cluster: { name: string; nodes: NodeSpec[] };
    /** The cluster node that runs the bucket registries. */
    node: string;
    /** Bucket names are `<prefix>-<period>`; must make valid S3 bucket names. */
    prefix: string;
    period?: PeriodKind;
    /** Buckets kept: the current one and `retain - 1` read-only ones before it. */
    retain?: number;
    /** Newest tags per repository (by push time) copied into a new bucket, besides every image in use. */
    keepTags?: number;
    storage?: BucketStorage;
    /** Registry image; default: built on the node from this machine's Debian docker-registry. */
    image?: string;
    /** The stable address for push and pull: a binding whose backend pool holds the current bucket's registry. */
    binding: SlbBindingState;
    /** Clock override (ISO 8601): the moment that decides the current period. Default: now. */
    now?: string;
    /** Computed by check: the bucket this moment falls in (a change shows the rotation in preview). */
    currentBucket?: string;
}

export interface BucketState extends BucketContents {
    name: string;
    /** host:port of this bucket's own registry. */
    address: string;
    readOnly: boolean;
}

export interface RegistryRotationState extends RegistryRotationArgs {
    currentBucket: string;
    /** host:port to push to and pull from. */
    address: string;
    /** Current bucket first, then retained ones, newest first. */
    buckets: BucketState[];
    /** Buckets the last run purged. */
    purged: string[];
    /** What the last run did, one line per step. */
    lastRotation: string[];
}

export const ROTATION_DEFAULTS = { period: "quarter" as PeriodKind, retain: 2, keepTags: 3 };
