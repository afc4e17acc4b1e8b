export { Cluster, ClusterResourceArgs } from "./provider/resources/cluster";
export { Service, ServiceResourceArgs, ServiceBindingArgs } from "./provider/resources/service";
export { SlbBinding, SlbBindingResourceArgs } from "./provider/resources/slbBinding";
export * from "./provider/model";
export { WebService, WebServiceArgs, ListenerArgs } from "./components/webService";
export { Canary, CanaryArgs, CanarySpec } from "./components/canary";
export { ServiceGroup, ServiceGroupArgs, GroupMemberArgs } from "./components/serviceGroup";
export { PostStartHookSpec } from "./provider/engine/hook";
