// Docker Swarm as the benchmarks' peer, on the benchmark's own namespace hosts (never a user's).
// The routing mesh needs IPVS, which these kernels lack, so tasks publish in host mode and HAProxy
// fronts the nodes' ports, as Swarm users without the mesh run it.
import { execFile } from "child_process";
import { promisify } from "util";
import { waitUntil } from "../provider/wait";
import { LocalCluster } from "../examples/quickstart/program";
import { AppHealth } from "./rig";

const run = promisify(execFile);
type Host = LocalCluster["hosts"][number];

export interface SwarmServiceSpec {
    name: string;
    image: string;
    replicas: number;
    /** A fixed host port on every node (one task per node), or undefined for a port Docker picks per task. */
    hostPort?: number;
    order: "stop-first" | "start-first";
    health: AppHealth;
    stopGraceSeconds: number;
}

export interface UpdateOutcome {
    /** completed, rollback_completed, or "did not complete within N s" */
    state: string;
    seconds: number;
    message: string;
}

export class Swarm {
    constructor(private readonly hosts: Host[]) {}

    private async docker(host: Host, args: string[]): Promise<string> {
        const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host.docker };
        delete env.DOCKER_CONTEXT;
        const { stdout } = await run("docker", args, { env, maxBuffer: 16 * 1024 * 1024 });
        return stdout.trim();
    }

    private get manager(): Host {
        return this.hosts[0];
    }

    /** Makes the hosts one swarm (first host manager), leaving any swarm an interrupted run left first. */
    async init(): Promise<void> {
        await this.leave();
        await this.docker(this.manager, ["swarm", "init", "--advertise-addr", this.manager.address, "--listen-addr", `${this.manager.address}:2377`]);
        const token = await this.docker(this.manager, ["swarm", "join-token", "-q", "worker"]);
        await Promise.all(
            this.hosts
                .slice(1)
                .map((h) => this.docker(h, ["swarm", "join", "--advertise-addr", h.address, "--token", token, `${this.manager.address}:2377`])),
        );
    }

    /** Leaves the swarm on every host and removes the bridge network Swarm leaves behind; safe when there is no swarm. */
    async leave(): Promise<void> {
        const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
        const services = await quiet(this.docker(this.manager, ["service", "ls", "-q"]));
        if (services) await quiet(this.docker(this.manager, ["service", "rm", ...String(services).split("\n")]));
        for (const h of [...this.hosts.slice(1), this.manager]) await quiet(this.docker(h, ["swarm", "leave", "--force"]));
        // On a loaded machine a node can still report itself in a swarm for a while, and a join then fails.
        await quiet(
            waitUntil(
                async () => {
                    const states = await Promise.all(this.hosts.map((h) => this.docker(h, ["info", "--format", "{{.Swarm.LocalNodeState}}"])));
                    return states.every((st) => st === "inactive") ? true : undefined;
                },
                { timeoutSeconds: 60, what: "every host out of the swarm", intervalMs: 500 },
            ),
        );
        // Tasks a departed node still ran, and the gateway bridge Swarm created on every node.
        await Promise.all(
            this.hosts.map(async (h) => {
                const ids = await quiet(this.docker(h, ["ps", "-aq", "--filter", "label=com.docker.swarm.task.id"]));
                if (ids) await quiet(this.docker(h, ["rm", "-f", ...String(ids).split("\n")]));
                await quiet(this.docker(h, ["network", "rm", "docker_gwbridge"]));
            }),
        );
    }

    /** Creates a service with Swarm's zero-downtime settings and waits until every task runs healthy. */
    async create(spec: SwarmServiceSpec): Promise<void> {
        const publish = spec.hostPort ? `mode=host,published=${spec.hostPort},target=80` : "mode=host,target=80";
        await this.docker(this.manager, [
            "service",
            "create",
            "--detach",
            "--name",
            spec.name,
            "--replicas",
            String(spec.replicas),
            "--publish",
            publish,
            "--health-cmd",
            "wget -q -O /dev/null http://127.0.0.1/health",
            "--health-interval",
            `${spec.health.intervalSeconds}s`,
            "--health-timeout",
            `${spec.health.timeoutSeconds}s`,
            "--health-retries",
            String(spec.health.retries),
            "--stop-grace-period",
            `${spec.stopGraceSeconds}s`,
            "--update-parallelism",
            "1",
            "--update-delay",
            "0s",
            "--update-order",
            spec.order,
            "--update-failure-action",
            "rollback",
            "--update-monitor",
            "2s",
            "--rollback-parallelism",
            "1",
            "--rollback-order",
            spec.order,
            "--rollback-monitor",
            "2s",
            // A fixed host port allows one task per node.
            ...(spec.hostPort ? ["--replicas-max-per-node", "1"] : []),
            spec.image,
        ]);
        await this.converged(spec.name, spec.replicas, 600);
    }

    /** Waits until `replicas` tasks run (with a health check, a task runs only once healthy). */
    async converged(name: string, replicas: number, timeoutSeconds: number): Promise<void> {
        await waitUntil(
            async () => {
                const r = await this.docker(this.manager, ["service", "ls", "--filter", `name=${name}`, "--format", "{{.Replicas}}"]);
                return r.startsWith(`${replicas}/${replicas}`) ? true : undefined;
            },
            { timeoutSeconds, what: `swarm service ${name} at ${replicas} running tasks`, intervalMs: 500 },
        );
    }

    async scale(name: string, replicas: number, timeoutSeconds: number): Promise<void> {
        await this.docker(this.manager, ["service", "update", "--detach", "--replicas", String(replicas), name]);
        await this.converged(name, replicas, timeoutSeconds);
        // Replicas counts running tasks; the stopped ones may still be shutting down.
        await waitUntil(async () => ((await this.tasks(name)).length === replicas ? true : undefined), {
            timeoutSeconds,
            what: `swarm service ${name} with ${replicas} containers`,
            intervalMs: 500,
        });
    }

    /** Rolls the service to `image` and waits for Swarm's own verdict, or gives up after `timeoutSeconds`. */
    async update(name: string, image: string, timeoutSeconds: number): Promise<UpdateOutcome> {
        const started = Date.now();
        await this.docker(this.manager, ["service", "update", "--detach", "--image", image, name]);
        let last = { State: "", Message: "" };
        try {
            return await waitUntil(
                async () => {
                    last =
                        JSON.parse((await this.docker(this.manager, ["service", "inspect", "--format", "{{json .UpdateStatus}}", name])) || "{}") ??
                        {};
                    return ["completed", "rollback_completed", "paused", "rollback_paused"].includes(last.State)
                        ? { state: last.State, seconds: (Date.now() - started) / 1000, message: last.Message }
                        : undefined;
                },
                { timeoutSeconds, what: `swarm update of ${name}`, intervalMs: 250 },
            );
        } catch {
            const why = await this.docker(this.manager, [
                "service",
                "ps",
                "--no-trunc",
                "--filter",
                "desired-state=running",
                "--format",
                "{{.Error}}",
                name,
            ]).catch(() => "");
            const reason = [...new Set(why.split("\n").filter(Boolean))].join("; ") || last.Message;
            return { state: `did not complete within ${timeoutSeconds} s`, seconds: (Date.now() - started) / 1000, message: reason };
        }
    }

    /** The running task containers of a service: node and host port, for the load balancer. */
    async tasks(name: string): Promise<Array<{ node: Host; port: number; id: string }>> {
        const perHost = await Promise.all(
            this.hosts.map(async (h) => {
                const out = await this.docker(h, ["ps", "--filter", `label=com.docker.swarm.service.name=${name}`, "--format", "{{.ID}} {{.Ports}}"]);
                return out
                    .split("\n")
                    .filter(Boolean)
                    .map((line) => {
                        const [id, ports] = line.split(" ");
                        return { node: h, id, port: Number(/:(\d+)->80\/tcp/.exec(ports)?.[1] ?? 0) };
                    });
            }),
        );
        return perHost.flat();
    }

    async remove(name: string): Promise<void> {
        await this.docker(this.manager, ["service", "rm", name]);
    }
}
