// berth from Go: the local Docker hosts as a cluster, a service released behind two HAProxy bindings
// (public and private, as the WebService component does in TypeScript). Config: image, replicas,
// publicPort, privatePort, healthRetries, healthyTimeout, updateTimeout. The local hosts and load
// balancers come from the local cluster's description (local.go).
package main

import (
	"github.com/berth-dev/berth/sdk/go/berth"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		intOr := func(key string, fallback int) int {
			if v, err := cfg.TryInt(key); err == nil {
				return v
			}
			return fallback
		}
		local, err := readLocalCluster()
		if err != nil {
			return err
		}
		cluster, err := berth.NewCluster(ctx, "local", &berth.ClusterArgs{Nodes: local.nodes()})
		if err != nil {
			return err
		}
		listener := func(name string, port int) (*berth.SlbBinding, error) {
			return berth.NewSlbBinding(ctx, name, &berth.SlbBindingArgs{
				Haproxy:     local.haproxy(),
				Listen:      berth.SlbBindingListenArgs{Address: pulumi.String(local.Slbs[0].Address), Port: pulumi.Int(port)},
				HealthCheck: berth.SlbBindingHealthCheckArgs{HttpPath: pulumi.String("/health"), IntervalMs: pulumi.Int(500)},
			})
		}
		public, err := listener("go-public", intOr("publicPort", 18182))
		if err != nil {
			return err
		}
		private, err := listener("go-private", intOr("privatePort", 18183))
		if err != nil {
			return err
		}
		image := cfg.Get("image")
		if image == "" {
			image = local.Images["v1"]
		}
		web, err := berth.NewService(ctx, "go-web", &berth.ServiceArgs{
			Cluster:  cluster.Ref,
			Image:    pulumi.String(image),
			Replicas: pulumi.Int(intOr("replicas", 2)),
			Ports:    berth.PortSpecArray{berth.PortSpecArgs{ContainerPort: pulumi.Int(80)}},
			HealthCheck: berth.HealthCheckSpecArgs{
				HttpPath: pulumi.String("/health"), IntervalSeconds: pulumi.Int(1), TimeoutSeconds: pulumi.Int(3),
				Retries: pulumi.Int(intOr("healthRetries", 5)),
			},
			StopGracePeriodSeconds: pulumi.Int(5),
			Bindings: berth.ServiceBindingArray{
				berth.ServiceBindingArgs{Slb: public.Ref},
				berth.ServiceBindingArgs{Slb: private.Ref, Weight: pulumi.Int(50)},
			},
			Release: berth.ReleaseSpecArgs{
				HealthyTimeoutSeconds: pulumi.Int(intOr("healthyTimeout", 60)), LbHealthyTimeoutSeconds: pulumi.Int(30),
				DrainTimeoutSeconds: pulumi.Int(30),
			},
			// customTimeouts bound a whole release: its waits end there and the unfinished batch rolls back.
		}, pulumi.Timeouts(&pulumi.CustomTimeouts{Update: cfg.Get("updateTimeout")}))
		if err != nil {
			return err
		}
		ctx.Export("publicUrl", public.Url)
		ctx.Export("privateUrl", private.Url)
		ctx.Export("revision", web.Revision)
		ctx.Export("containers", web.Containers.ApplyT(func(cs []berth.ContainerState) []string {
			names := make([]string, len(cs))
			for i, c := range cs {
				names[i] = c.Name
			}
			return names
		}))
		return nil
	})
}
