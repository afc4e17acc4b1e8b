"""The local cluster for berth's Python examples: scripts/cluster.sh describes the cluster named by
BERTH_CLUSTER in a JSON file; an infra repo would list its own hosts and load balancers instead."""
import json
import os

import pulumi_berth as berth

_name = os.environ.get("BERTH_CLUSTER", "demo")
local = json.load(open(os.environ.get("BERTH_CLUSTER_FILE") or (
    "/run/berth/cluster.json" if _name == "demo" else f"/run/berth-{_name}/cluster.json")))
slb = local["slbs"][0]
haproxy = berth.HaproxyEndpointArgs(admin_socket=slb["adminSocket"], master_socket=slb["masterSocket"],
                                    config_path=slb["configPath"])


def local_cluster():
    """The local hosts as a berth Cluster."""
    return berth.Cluster("local", nodes=[
        berth.NodeSpecArgs(name=h["name"], docker=h["docker"], address=h["address"], zone=h["zone"])
        for h in local["hosts"]
    ])
