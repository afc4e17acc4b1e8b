export { Cluster, ClusterResourceArgs, NodeArgs } from "./provider/resources/cluster";
export { Service, ServiceResourceArgs, ServiceBindingArgs } from "./provider/resources/service";
export { SlbBinding, SlbBindingResourceArgs } from "./provider/resources/slbBinding";
export * from "./provider/model";
export { WebService, WebServiceArgs, ListenerArgs } from "./components/webService";
