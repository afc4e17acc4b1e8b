// What the provider plugin serves, as TypeScript types: the engines' own argument and state types
// (model.ts), with the resource name optional as in the TypeScript classes. scripts/schema.ts
// derives schema.json from these, so the schema cannot drift from what the engines take.
import { ClusterArgs, NodeInventory, ServiceArgs, ServiceState, SlbBindingRef, SlbBindingState } from "../model";
import { RegistryRotationArgs, RegistryRotationState } from "../rotation/rotationModel";
export type { CanaryInputs, CanaryOutputs } from "../../components/canary";
export type { ServiceGroupInputs, ServiceGroupOutputs } from "../../components/serviceGroup";
export type { PostStartHookArgs, PostStartHookState } from "../engine/hook";
export type { ServiceInputs, SlbBindingInputs } from "../model";
export type { WebServiceInputs, WebServiceOutputs } from "../../components/webService";

/** Docker hosts services run on. Cordon a node with `schedulable: false`. */
export interface ClusterInputs extends Omit<ClusterArgs, "name"> {
    /** Cluster name, written on every container's labels; defaults to the resource name. */
    name?: string;
}

/** A cluster's outputs. */
export interface ClusterOutputs extends ClusterArgs {
    /** What each node's Docker engine reports. */
    inventory: NodeInventory[];
    /** What a Service takes as its `cluster` input (the TypeScript class's `ref`). */
    ref: ServiceArgs["cluster"];
}

/** A binding's outputs. */
export interface SlbBindingOutputs extends SlbBindingState {
    /** What a Service takes as `slb` in each of its `bindings`, typed exactly as that input (Go and YAML pass it on as is). */
    ref: SlbBindingRef;
    /** The binding's settings (the TypeScript class's `state`); a Service takes it as `slb` too, where the language allows. */
    state: SlbBindingState;
}

/** A service's outputs. */
export type ServiceOutputs = ServiceState;

/** volume: one Docker volume per bucket on the node; s3: one S3-compatible bucket per bucket. */
export type BucketStorageKind = "volume" | "s3";

/** Where a rotation's buckets live (provider/rotation/config.ts's union, flattened for the schema). */
export interface BucketStorage {
    /** volume (default): one Docker volume per bucket on the node; s3: one S3-compatible bucket per bucket. */
    kind: BucketStorageKind;
    /** s3: the store's region. */
    region?: string;
    /** s3: endpoint of an S3-compatible store (Aliyun OSS, Ceph RGW, MinIO); AWS when omitted. */
    regionEndpoint?: string;
    /** s3: access key id; with secretKey, or neither for instance credentials. */
    accessKey?: string;
    /** s3: secret key. */
    secretKey?: string;
    /** s3: path-style URLs (Ceph RGW, MinIO). */
    forcePathStyle?: boolean;
    /** s3: https to the store. Default true. */
    secure?: boolean;
}

/** A registry whose storage is one bucket per period; old buckets are dropped whole, never garbage-collected. */
export interface RegistryBucketRotationInputs extends Omit<RegistryRotationArgs, "name" | "cluster" | "storage" | "currentBucket" | "stack"> {
    /** Name of the rotation (container and backend names); defaults to the resource name. */
    name?: string;
    /** The Cluster's `ref` output: the node named by `node` runs the bucket registries. */
    cluster: ServiceArgs["cluster"];
    /** Where the buckets live: a Docker volume on the node (default) or an S3-compatible store. */
    storage?: BucketStorage;
}

/** A rotation's outputs. */
export interface RegistryBucketRotationOutputs extends Omit<RegistryRotationState, "cluster" | "storage"> {
    /** The cluster whose node runs the bucket registries. */
    cluster: ServiceArgs["cluster"];
    /** Where the buckets live. */
    storage?: BucketStorage;
}

/** The resources the plugin serves: schema token -> type names above. */
export const RESOURCES = {
    "berth:index:Cluster": { inputs: "ClusterInputs", outputs: "ClusterOutputs" },
    "berth:index:SlbBinding": { inputs: "SlbBindingInputs", outputs: "SlbBindingOutputs" },
    "berth:index:Service": { inputs: "ServiceInputs", outputs: "ServiceOutputs" },
    "berth:index:PostStartHook": { inputs: "PostStartHookArgs", outputs: "PostStartHookState" },
    "berth:index:RegistryBucketRotation": { inputs: "RegistryBucketRotationInputs", outputs: "RegistryBucketRotationOutputs" },
} as const;
export type ResourceToken = keyof typeof RESOURCES;

/** The components the plugin builds (construct): schema token -> type names. */
export const COMPONENTS = {
    "berth:components:WebService": { inputs: "WebServiceInputs", outputs: "WebServiceOutputs" },
    "berth:components:Canary": { inputs: "CanaryInputs", outputs: "CanaryOutputs" },
    "berth:components:ServiceGroup": { inputs: "ServiceGroupInputs", outputs: "ServiceGroupOutputs" },
} as const;
