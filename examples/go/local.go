package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/berth-dev/berth/sdk/go/berth"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// localCluster is what scripts/cluster.sh writes about the local cluster named by BERTH_CLUSTER; an
// infra repo would list its own hosts and load balancers instead.
type localCluster struct {
	Hosts []struct {
		Name, Docker, Address, Zone string
	}
	Slbs []struct {
		AdminSocket, MasterSocket, ConfigPath, Address string
	}
	Images map[string]string
}

func readLocalCluster() (*localCluster, error) {
	file := os.Getenv("BERTH_CLUSTER_FILE")
	if file == "" {
		name := os.Getenv("BERTH_CLUSTER")
		if name == "" || name == "demo" {
			file = "/run/berth/cluster.json"
		} else {
			file = fmt.Sprintf("/run/berth-%s/cluster.json", name)
		}
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var local localCluster
	if err := json.Unmarshal(raw, &local); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &local, nil
}

// nodes are the local hosts as a berth Cluster's nodes.
func (l *localCluster) nodes() berth.NodeSpecArray {
	var nodes berth.NodeSpecArray
	for _, h := range l.Hosts {
		nodes = append(nodes, berth.NodeSpecArgs{
			Name: pulumi.String(h.Name), Docker: pulumi.String(h.Docker), Address: pulumi.String(h.Address), Zone: pulumi.String(h.Zone),
		})
	}
	return nodes
}

// haproxy is the local cluster's first load balancer.
func (l *localCluster) haproxy() berth.HaproxyEndpointArgs {
	slb := l.Slbs[0]
	return berth.HaproxyEndpointArgs{
		AdminSocket: pulumi.String(slb.AdminSocket), MasterSocket: pulumi.String(slb.MasterSocket), ConfigPath: pulumi.String(slb.ConfigPath),
	}
}
