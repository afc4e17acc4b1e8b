"""berth from Python: the local Docker hosts as a cluster, a service released behind two HAProxy
bindings (public and private, as the WebService component does in TypeScript). Config: image,
replicas, publicPort, privatePort, healthRetries, healthyTimeout. The local hosts and load
balancers come from examples/python-shared/berth_local.py (on PYTHONPATH)."""
import pulumi
import pulumi_berth as berth
from berth_local import haproxy, local, local_cluster, slb

config = pulumi.Config()

cluster = local_cluster()


def listener(name, port):
    return berth.SlbBinding(name, haproxy=haproxy,
                            listen=berth.SlbBindingListenArgs(address=slb["address"], port=port),
                            health_check=berth.SlbBindingHealthCheckArgs(http_path="/health", interval_ms=500))


public = listener("py-public", config.get_int("publicPort") or 18180)
private = listener("py-private", config.get_int("privatePort") or 18181)

web = berth.Service("py-web",
                    cluster=cluster.ref,
                    image=config.get("image") or local["images"]["v1"],
                    replicas=config.get_int("replicas") or 2,
                    ports=[berth.PortSpecArgs(container_port=80)],
                    health_check=berth.HealthCheckSpecArgs(http_path="/health", interval_seconds=1, timeout_seconds=3,
                                                           retries=config.get_int("healthRetries") or 5),
                    stop_grace_period_seconds=5,
                    bindings=[
                        berth.ServiceBindingArgs(slb=public.state),
                        berth.ServiceBindingArgs(slb=private.state, weight=50),
                    ],
                    release=berth.ReleaseSpecArgs(healthy_timeout_seconds=config.get_int("healthyTimeout") or 60, lb_healthy_timeout_seconds=30,
                                                  drain_timeout_seconds=30),
                    # customTimeouts bound a whole release: its waits end there and the unfinished batch rolls back.
                    opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(update=config.get("updateTimeout"))))

pulumi.export("publicUrl", public.url)
pulumi.export("privateUrl", private.url)
pulumi.export("revision", web.revision)
pulumi.export("containers", web.containers.apply(lambda cs: [c.name for c in cs]))
