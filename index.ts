export { Cluster, ClusterResourceArgs, NodeArgs, RegistryCredentialsArgs } from "./provider/resources/cluster";
export { Service, ServiceResourceArgs, ServiceBindingArgs } from "./provider/resources/service";
export { SlbBinding, SlbBindingResourceArgs } from "./provider/resources/slbBinding";
export { RegistryBucketRotation, RegistryBucketRotationArgs } from "./provider/resources/registryRotation";
export { BucketState } from "./provider/registry/rotationModel";
export { BucketStorage } from "./provider/registry/config";
export { PeriodKind } from "./provider/registry/period";
export * from "./provider/model";
export { WebService, WebServiceArgs, ListenerArgs } from "./components/webService";
