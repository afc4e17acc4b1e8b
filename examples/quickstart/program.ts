// The quickstart: a cluster of the local Docker hosts, one HAProxy binding, a 3-replica web
// service. Reads the local cluster's description (scripts/cluster.sh writes it); an infra repo
// would list its own hosts instead.
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "fs";
import { Cluster, Service, SlbBinding } from "../../index";

export interface LocalCluster {
    /** BERTH_CLUSTER name: the demo, the test suite and the benchmarks each have their own hosts. */
    cluster: string;
    hosts: Array<{ name: string; docker: string; address: string; zone: string; netns: string; pidFile: string }>;
    registry: string;
    images: Record<string, string>;
    slbs: Array<{ name: string; adminSocket: string; masterSocket: string; configPath: string; address: string }>;
    /** Paths of the cluster's CA (every host trusts it) and the registry certificate and key it signed (bridge and host addresses). */
    pki: { ca: string; certificate: string; key: string };
}

/** Where scripts/cluster.sh describes the local cluster named by BERTH_CLUSTER (default demo). */
export function localClusterFile(cluster = process.env.BERTH_CLUSTER ?? "demo"): string {
    return cluster === "demo" ? "/run/berth/cluster.json" : `/run/berth-${cluster}/cluster.json`;
}

export function readLocalCluster(path = process.env.BERTH_CLUSTER_FILE ?? localClusterFile()): LocalCluster {
    return JSON.parse(readFileSync(path, "utf8"));
}

export function quickstart() {
    const config = new pulumi.Config();
    const local = readLocalCluster();
    const slb = local.slbs[0];

    const cluster = new Cluster("local", {
        nodes: local.hosts.map((h) => ({ name: h.name, docker: h.docker, address: h.address, zone: h.zone })),
    });
    const binding = new SlbBinding("web-public", {
        haproxy: { adminSocket: slb.adminSocket, masterSocket: slb.masterSocket, configPath: slb.configPath },
        listen: { address: slb.address, port: config.getNumber("port") ?? 18080 },
        healthCheck: { httpPath: "/health", intervalMs: 500, rise: 2, fall: 2 },
    });
    const web = new Service("web", {
        cluster,
        image: config.get("image") ?? local.images.v1,
        replicas: config.getNumber("replicas") ?? 3,
        ports: [{ containerPort: 80 }],
        healthCheck: { httpPath: "/health", intervalSeconds: 1, timeoutSeconds: 3, retries: 3 },
        stopGracePeriodSeconds: 5,
        bindings: [binding],
        release: { healthyTimeoutSeconds: 60, lbHealthyTimeoutSeconds: 30, drainTimeoutSeconds: 30 },
    });
    return { url: binding.url, revision: web.revision, image: web.imageDigest, containers: web.containers, backends: web.backends };
}
