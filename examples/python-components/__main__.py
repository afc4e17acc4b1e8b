"""berth's components from Python, built by the provider plugin with the same code as the
TypeScript classes: a WebService with a public and a private listener, a Canary (a small service of
a new image at a low weight beside the main one, in the same binding), and a ServiceGroup (three
services released in order, with post-start hooks).
Config: image (the main image), canaryImage (unset: no canary; promote by setting image to it and
unsetting it), canaryWeight, groupImage, failHook (the api's hook fails when set)."""
import pulumi
import pulumi_berth as berth
from berth_local import haproxy, local, local_cluster, slb
from pulumi_berth import components

config = pulumi.Config()
image = config.get("image") or local["images"]["v1"]
health = berth.HealthCheckSpecArgs(http_path="/health", interval_seconds=1, timeout_seconds=3, retries=5)
release = berth.ReleaseSpecArgs(healthy_timeout_seconds=60, lb_healthy_timeout_seconds=30, drain_timeout_seconds=10)

cluster = local_cluster()

web = components.WebService("pyc-web", cluster=cluster.ref, image=image, replicas=1, health_check=health,
                            ports=[berth.PortSpecArgs(container_port=80)], stop_grace_period_seconds=5, release=release,
                            public=berth.ListenerSpecArgs(haproxy=haproxy, address=slb["address"], port=18280),
                            private=berth.ListenerSpecArgs(haproxy=haproxy, address=slb["address"], port=18281, weight=50))

shop = berth.SlbBinding("pyc-shop", haproxy=haproxy,
                        listen=berth.SlbBindingListenArgs(address=slb["address"], port=18282),
                        health_check=berth.SlbBindingHealthCheckArgs(http_path="/health", interval_ms=500))
canary_image = config.get("canaryImage")
shop_service = components.Canary("pyc-shop", cluster=cluster.ref, image=image, replicas=1,
                                 ports=[berth.PortSpecArgs(container_port=80)], health_check=health,
                                 stop_grace_period_seconds=5, release=release,
                                 bindings=[berth.ServiceBindingArgs(slb=shop.state, weight=100)],
                                 canary=berth.CanarySpecArgs(image=canary_image, weight=config.get_int("canaryWeight") or 50)
                                 if canary_image else None)

group_image = config.get("groupImage") or local["images"]["v1"]
member = dict(image=group_image, ports=[berth.PortSpecArgs(container_port=80)], health_check=health,
              stop_grace_period_seconds=2, release=release)
box = components.ServiceGroup("box", cluster=cluster.ref, services=[
    berth.GroupMemberSpecArgs(name="box-db", **member, post_start=berth.PostStartHookSpecArgs(
        run_in="oneOff", command=["sh", "-c", "echo migrated schema"])),
    berth.GroupMemberSpecArgs(name="box-api", **member, post_start=berth.PostStartHookSpecArgs(
        command=["sh", "-c", 'if [ -n "$FAIL" ]; then echo smoke test failed; exit 3; fi; echo api ready'],
        env={"FAIL": "1"} if config.get_bool("failHook") else {})),
    berth.GroupMemberSpecArgs(name="box-web", **member),
])

pulumi.export("groupOrder", box.order)
pulumi.export("groupRevisions", box.revisions)
pulumi.export("publicUrl", web.public_url)
pulumi.export("privateUrl", web.private_url)
pulumi.export("shopUrl", shop.url)
pulumi.export("shopCanaryRevision", shop_service.canary_revision)
