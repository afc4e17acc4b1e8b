// Inputs and outputs of RegistryBucketRotation, as plain data.
import { NodeSpec, SlbBindingState } from "../model";
import type { BucketContents } from "./copy";
import type { BucketStorage } from "./config";
import { PeriodKind } from "./period";

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
    /** The stable address for push and pull: a binding whose backend pool holds the current bucket's registry. */
    binding: SlbBindingState;
    /** Clock override (ISO 8601): the moment that decides the current period. Default: now. */
    now?: string;
    /** Computed by check: the bucket this moment falls in (a change shows the rotation in preview). */
    currentBucket?: string;
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
