// Real faults on the local hosts: a process holding a host port, a Docker engine or a load
// balancer that stops answering (its socket goes away), a container whose health check breaks.
import { ChildProcess, execFileSync, spawn } from "child_process";
import { readFileSync, renameSync } from "fs";
import * as path from "path";
import { waitUntil } from "../../provider/wait";
import { LocalCluster } from "../../examples/quickstart/program";
import { local } from "./world";

/** Starts `command` in network namespace `netns` and waits until something listens on `port` there. */
async function listenIn(netns: string, port: number, command: string[], what: string): Promise<ChildProcess> {
    const child = spawn("nsenter", [`--net=${netns}`, ...command], { stdio: "ignore" });
    await waitUntil(
        async () => {
            const out = execFileSync("nsenter", [`--net=${netns}`, "ss", "-ltn"], { encoding: "utf8" });
            return out.includes(`:${port} `) ? true : undefined;
        },
        { timeoutSeconds: 10, what },
    );
    return child;
}

/** Starts a process (not a container) listening on `port` inside host `index`'s network namespace. */
export async function holdHostPort(index: number, port: number, cluster: LocalCluster = local): Promise<ChildProcess> {
    return listenIn(
        cluster.hosts[index].netns,
        port,
        ["busybox", "httpd", "-f", "-p", String(port), "-h", "/tmp"],
        `port ${port} held on h${index + 1}`,
    );
}

/** A server that accepts connections on `port` in `netns` and never says a word: an SSH server (or dockerd) that hangs. */
export async function silentServer(netns: string, port: number): Promise<ChildProcess> {
    const listen = `require("net").createServer(() => undefined).listen(${port})`;
    return listenIn(netns, port, [process.execPath, "-e", listen], `a silent server on port ${port}`);
}

/** Makes a unix socket unreachable (the daemon keeps running) until the returned function restores it. */
export function hideSocket(path: string): () => void {
    renameSync(path, `${path}.hidden`);
    return () => renameSync(`${path}.hidden`, path);
}

const dockerPid = (index: number) => Number(readFileSync(local.hosts[index].pidFile, "utf8").trim());

/** Freezes host `index`'s Docker engine (SIGSTOP): connections hang, as with a dead host. */
export function freezeDocker(index: number): () => void {
    const pid = dockerPid(index);
    process.kill(pid, "SIGSTOP");
    return () => process.kill(pid, "SIGCONT");
}

/** Kills host `index`'s dockerd (SIGKILL): its engine stops answering at once. `cleanSlate` starts it again. */
export function killDocker(index: number): void {
    process.kill(dockerPid(index), "SIGKILL");
}

/** Restarts host `index`'s dockerd as an upgrade would: it stops its containers, then starts them again (restart policy). */
export async function restartDocker(index: number): Promise<void> {
    const pid = dockerPid(index);
    process.kill(pid, "SIGTERM");
    await waitUntil(
        async () => {
            try {
                process.kill(pid, 0);
                return undefined;
            } catch {
                return true;
            }
        },
        { timeoutSeconds: 60, what: `dockerd of h${index + 1} to stop` },
    );
    execFileSync("bash", [path.join(__dirname, "../../../scripts/cluster.sh"), "start"], { stdio: "inherit" });
}

/** Breaks a running container's health check from inside it. */
export function breakHealth(host: string, container: string): void {
    const socket = local.hosts.find((h) => h.name === host)!.docker;
    execFileSync("docker", ["-H", socket, "exec", container, "rm", "-f", "/www/health"]);
}
