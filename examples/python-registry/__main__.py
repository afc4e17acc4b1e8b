"""A RegistryBucketRotation from Python: the registry behind a stable address on the local hosts'
bridge (so the nodes can pull through it) keeps one bucket per quarter and drops the oldest whole.
The bucket registries serve HTTPS with the local cluster's certificate (every host trusts its CA)
and take pushes and pulls only from the users listed.
Config: now (the moment that decides the quarter; default: the time of the run), port,
registryPassword (secret: the password of the registry's user "ci")."""
import pulumi
import pulumi_berth as berth
from berth_local import haproxy, local, local_cluster

config = pulumi.Config()

cluster = local_cluster()
bridge = local["registry"].split(":")[0]
# tcp: TLS passes through the load balancer to the bucket registries.
address = berth.SlbBinding("py-registry", haproxy=haproxy, protocol="tcp",
                           listen=berth.SlbBindingListenArgs(address=bridge, port=config.get_int("port") or 5111))
pki = {k: open(path).read() for k, path in local["pki"].items()}

rotation = berth.RegistryBucketRotation("py-images",
                                        cluster=cluster.ref,
                                        node=local["hosts"][0]["name"],
                                        binding=address.state,
                                        prefix="images",
                                        # An SDK enum; the plain string "quarter" works as well (the enums are strings).
                                        period=berth.PeriodKind.QUARTER,
                                        retain=2,
                                        tls=berth.RotationTlsArgs(certificate=pki["certificate"],
                                                                  key=pulumi.Output.secret(pki["key"]), ca=pki["ca"]),
                                        users=[berth.RegistryUserArgs(username="ci",
                                                                      password=config.require_secret("registryPassword"))],
                                        now=config.get("now"))

pulumi.export("address", rotation.address)
pulumi.export("currentBucket", rotation.current_bucket)
pulumi.export("buckets", rotation.buckets.apply(lambda bs: [f"{b.name}{' (read-only)' if b.read_only else ''}" for b in bs]))
