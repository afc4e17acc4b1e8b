// Runs a command to completion on a node: inside a running container (docker exec) or in a
// one-off container that is removed afterwards. What post-start hooks need, behind a narrow
// interface so that tests can inject failures.
import Docker from "dockerode";
import { PassThrough } from "stream";
import { NodeSpec } from "../model";
import { NodeConnection } from "./connection";

export interface CommandResult {
    exitCode: number;
    /** stdout and stderr, interleaved */
    output: string;
}

export interface CommandRunner {
    execIn(containerId: string, command: string[], env: Record<string, string>, timeoutSeconds: number): Promise<CommandResult>;
    /** `labels`: the owner's, on the one-off container beside berth's own hook label. */
    runOnce(
        image: string,
        command: string[],
        env: Record<string, string>,
        timeoutSeconds: number,
        labels?: Record<string, string>,
    ): Promise<CommandResult>;
}

const envList = (env: Record<string, string>) => Object.entries(env).map(([k, v]) => `${k}=${v}`);

function withTimeout<T>(what: string, seconds: number, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${seconds}s`)), seconds * 1000);
    });
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Docker's multiplexed log format: frames of an 8-byte header (stream, size) and the payload. */
export function demux(buf: Buffer): string {
    const frames: Buffer[] = [];
    for (let i = 0; i + 8 <= buf.length;) {
        const size = buf.readUInt32BE(i + 4);
        frames.push(buf.subarray(i + 8, i + 8 + size));
        i += 8 + size;
    }
    return Buffer.concat(frames).toString("utf8");
}

export class DockerCommands implements CommandRunner {
    private readonly docker: Docker;

    constructor(private readonly node: NodeSpec) {
        this.docker = new NodeConnection(node).docker(60_000);
    }

    async execIn(containerId: string, command: string[], env: Record<string, string>, timeoutSeconds: number): Promise<CommandResult> {
        const exec = await this.docker.getContainer(containerId).exec({ Cmd: command, Env: envList(env), AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        const output: Buffer[] = [];
        const sink = new PassThrough().on("data", (d: Buffer) => output.push(d));
        this.docker.modem.demuxStream(stream, sink, sink);
        await withTimeout(
            `command in ${containerId.slice(0, 12)} on ${this.node.name}`,
            timeoutSeconds,
            new Promise((resolve) => stream.on("end", resolve)),
        );
        const { ExitCode } = await exec.inspect();
        return { exitCode: ExitCode ?? -1, output: Buffer.concat(output).toString("utf8") };
    }

    async runOnce(
        image: string,
        command: string[],
        env: Record<string, string>,
        timeoutSeconds: number,
        labels: Record<string, string> = {},
    ): Promise<CommandResult> {
        const container = await this.docker.createContainer({
            Image: image,
            Cmd: command,
            Env: envList(env),
            Labels: { ...labels, "berth.hook": "true" },
        });
        try {
            await container.start();
            const { StatusCode } = await withTimeout(`one-off container of ${image} on ${this.node.name}`, timeoutSeconds, container.wait());
            const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
            return { exitCode: StatusCode, output: demux(logs) };
        } finally {
            await container.remove({ force: true }).catch(() => undefined);
        }
    }
}
