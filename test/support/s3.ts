// An S3-compatible server (moto's server mode, installed by the set-up) on a free port, with one
// bucket: Pulumi state in object storage, as a team keeps it; on the cluster's bridge address, the
// store a rotation's bucket registries on the nodes write to.
import { ChildProcess, spawn } from "child_process";
import * as net from "net";
import { waitUntil } from "../../provider/wait";

export interface S3Server {
    endpoint: string;
    bucket: string;
    /** `pulumi login` URL of the bucket. */
    backendUrl: string;
    /** What the CLI needs to reach it (the server checks no signature; the SDK wants some credentials). */
    env: Record<string, string>;
    /** The keys the bucket holds under `prefix`. */
    keys(prefix: string): Promise<string[]>;
    stop(): Promise<void>;
}

async function freePort(host: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer().listen(0, host, () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
        server.once("error", reject);
    });
}

export async function startS3(bucket: string, host = "127.0.0.1"): Promise<S3Server> {
    const bin = process.env.BERTH_S3_SERVER_BIN;
    if (!bin) throw new Error("BERTH_S3_SERVER_BIN is not set: run through scripts/env.sh");
    const port = await freePort(host);
    const endpoint = `http://${host}:${port}`;
    const child: ChildProcess = spawn(bin, ["-H", host, "-p", String(port)], { stdio: "ignore" });
    let exited: string | undefined;
    child.once("exit", (code, signal) => (exited = `moto_server exited (${code ?? signal})`));
    await waitUntil(
        async () => {
            if (exited) throw new Error(exited);
            return (await fetch(`${endpoint}/`).catch(() => undefined))?.ok ? true : undefined;
        },
        { timeoutSeconds: 30, what: `the S3 server at ${endpoint} to answer` },
    );
    const made = await fetch(`${endpoint}/${bucket}`, { method: "PUT" });
    if (!made.ok) throw new Error(`cannot create bucket ${bucket}: ${made.status} ${await made.text()}`);
    return {
        endpoint,
        bucket,
        backendUrl: `s3://${bucket}?endpoint=${endpoint}&use_path_style=true&region=us-east-1`,
        env: { AWS_ACCESS_KEY_ID: "berth-test", AWS_SECRET_ACCESS_KEY: "berth-test", AWS_REGION: "us-east-1" },
        async keys(prefix) {
            const listing = await (await fetch(`${endpoint}/${bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`)).text();
            return [...listing.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]);
        },
        async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const gone = new Promise((r) => child.once("exit", r));
            child.kill("SIGTERM");
            await gone;
        },
    };
}
