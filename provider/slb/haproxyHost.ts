// Where an HAProxy runs: its runtime sockets, its configuration file, its `haproxy` binary and the
// lock berth processes share, on this machine or on the load balancer's own host over SSH. Both
// run the same shell commands (cat, haproxy -c, mv, flock), so a CI runner driving the load
// balancer over SSH and a berth run on that host take the same lock and check configs the same way.
import { spawn } from "child_process";
import * as net from "net";
import { Duplex } from "stream";
import { Client, ClientChannel } from "ssh2";
import { fingerprint, hostKeyBlobs } from "../docker/credentials";
import { HaproxySsh } from "../model";

const SSH_HANDSHAKE_TIMEOUT_MS = 5000;
/** An unused SSH connection closes after this long, so nothing lingers on the load balancer's host. */
const IDLE_CLOSE_MS = 10_000;

export interface CommandResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface HaproxyHost {
    /** Where, for messages: "this machine" or "deploy@lb1:22". */
    readonly where: string;
    /** A stream to a unix socket there (the admin or master socket). */
    connect(socketPath: string): Promise<Duplex>;
    /** Runs a shell command there, `stdin` as its input. */
    run(command: string, stdin?: string): Promise<CommandResult>;
    /** Runs `fn` holding an exclusive flock on `lockPath` there; released when `fn` ends or the connection drops. */
    withLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T>;
}

/** A path as one shell word. */
export const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const LOCKED = "berth: locked";
/** Holds the lock until its input ends: our end of the pipe or channel closing, whatever the cause. */
const lockCommand = (lockPath: string) => `exec flock -x ${quote(lockPath)} -c ${quote(`echo '${LOCKED}'; exec cat >/dev/null`)}`;

/** Waits for the lock holder to say it holds the lock; fails if it exits first. */
function awaitLocked(holder: Duplex & { stderr?: NodeJS.ReadableStream | null }, lockPath: string, where: string): Promise<void> {
    return new Promise((resolve, reject) => {
        let out = "";
        let err = "";
        holder.on("data", (d: Buffer) => {
            out += d.toString();
            if (out.includes(LOCKED)) resolve();
        });
        holder.stderr?.on("data", (d: Buffer) => (err += d.toString()));
        holder.once("close", () => reject(new Error(`cannot lock ${lockPath} on ${where}: ${err.trim() || "the lock holder exited"}`)));
        holder.once("error", reject);
    });
}

export class LocalHaproxyHost implements HaproxyHost {
    readonly where = "this machine";

    connect(socketPath: string): Promise<Duplex> {
        return new Promise((resolve, reject) => {
            const sock = net.createConnection(socketPath);
            sock.once("connect", () => resolve(sock));
            sock.once("error", reject);
        });
    }

    run(command: string, stdin?: string): Promise<CommandResult> {
        return new Promise((resolve, reject) => {
            const child = spawn("sh", ["-c", command], { stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            child.stdout!.on("data", (d) => (stdout += d));
            child.stderr!.on("data", (d) => (stderr += d));
            child.once("error", reject);
            child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
            // A child that exits before reading all its input closes the pipe (EPIPE): its exit code says what happened.
            child.stdin?.on("error", (e: NodeJS.ErrnoException) => e.code === "EPIPE" || reject(e));
            child.stdin?.end(stdin);
        });
    }

    async withLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
        const child = spawn("sh", ["-c", lockCommand(lockPath)], { stdio: ["pipe", "pipe", "pipe"] });
        // The holder gone early (EPIPE on release) released the lock with it; awaitLocked reports a holder that never held it.
        child.stdin.on("error", () => undefined);
        const holder = Object.assign(child.stdout, { stderr: child.stderr });
        const closed = new Promise((r) => child.once("close", r));
        await awaitLocked(holder as unknown as Duplex, lockPath, this.where);
        try {
            return await fn();
        } finally {
            child.stdin.end();
            await closed;
        }
    }
}

/** One SSH connection per load balancer host and process, shared by every driver call, closed when idle. */
const sessions = new Map<string, SshSession>();

class SshSession {
    private client?: Promise<Client>;
    private active = 0;
    private idle?: NodeJS.Timeout;

    constructor(private readonly ssh: HaproxySsh) {}

    static for(ssh: HaproxySsh): SshSession {
        const key = `${ssh.user}@${ssh.host}:${ssh.port ?? 22}#${ssh.hostPublicKey}`;
        let s = sessions.get(key);
        if (!s) sessions.set(key, (s = new SshSession(ssh)));
        return s;
    }

    /** Runs `fn` on the connection; the connection stays open while anything uses it. */
    async use<T>(fn: (c: Client) => Promise<T>): Promise<T> {
        this.active++;
        clearTimeout(this.idle);
        try {
            return await fn(await this.connect());
        } finally {
            if (--this.active === 0) {
                this.idle = setTimeout(() => {
                    this.client?.then(
                        (c) => c.end(),
                        () => undefined,
                    );
                    this.client = undefined;
                }, IDLE_CLOSE_MS).unref();
            }
        }
    }

    private connect(): Promise<Client> {
        if (this.client) return this.client;
        const client = new Client();
        const ready = new Promise<Client>((resolve, reject) => {
            client.once("ready", () => resolve(client));
            // `field`: the input at fault, for check to name; `code`: whether anything answered (reach.ts).
            const refusedKey = (e: Error) => /authentication methods failed/.test(e.message);
            client.once("error", (e) =>
                reject(
                    Object.assign(new Error(`SSH to ${this.ssh.user}@${this.ssh.host}:${this.ssh.port ?? 22}: ${e.message}`), {
                        code: (e as NodeJS.ErrnoException).code,
                        ...(refusedKey(e) ? { field: "haproxy.ssh.privateKey" } : {}),
                    }),
                ),
            );
            client.once("close", () => {
                if (this.client === ready) this.client = undefined;
                reject(new Error(`SSH connection to ${this.ssh.host} closed`));
            });
        });
        // A failed connection is not kept: the next call tries again.
        ready.catch(() => {
            if (this.client === ready) this.client = undefined;
        });
        this.client = ready;
        let presented = "";
        client.connect({
            host: this.ssh.host,
            port: this.ssh.port ?? 22,
            username: this.ssh.user,
            privateKey: this.ssh.privateKey,
            readyTimeout: SSH_HANDSHAKE_TIMEOUT_MS,
            // Only the pinned host key: never trust on first use.
            hostVerifier: (key: Buffer) => {
                const ok = hostKeyBlobs(this.ssh.hostPublicKey).some((k) => k.equals(key));
                if (!ok) presented = fingerprint(key);
                return ok;
            },
        });
        return ready.catch((e) => {
            throw presented
                ? Object.assign(new Error(`${this.ssh.host} presented another host key (${presented}): refused`), {
                      field: "haproxy.ssh.hostPublicKey",
                  })
                : e;
        });
    }
}

export class SshHaproxyHost implements HaproxyHost {
    readonly where: string;
    private readonly session: SshSession;

    constructor(ssh: HaproxySsh) {
        this.where = `${ssh.user}@${ssh.host}:${ssh.port ?? 22}`;
        this.session = SshSession.for(ssh);
    }

    /** The socket through the connection (OpenSSH's streamlocal forwarding): nothing to install on the host. */
    connect(socketPath: string): Promise<Duplex> {
        return this.session.use(
            (c) =>
                new Promise<Duplex>((resolve, reject) =>
                    c.openssh_forwardOutStreamLocal(socketPath, (err, channel) =>
                        err
                            ? reject(Object.assign(new Error(`${socketPath} on ${this.where}: ${err.message}`), { code: "ECONNREFUSED" }))
                            : resolve(channel),
                    ),
                ),
        );
    }

    run(command: string, stdin = ""): Promise<CommandResult> {
        return this.session.use(
            (c) =>
                new Promise<CommandResult>((resolve, reject) =>
                    c.exec(command, (err, channel) => {
                        if (err) return reject(err);
                        let stdout = "";
                        let stderr = "";
                        channel.on("data", (d: Buffer) => (stdout += d));
                        channel.stderr.on("data", (d: Buffer) => (stderr += d));
                        channel.once("exit", (code: number | null) => channel.once("close", () => resolve({ code: code ?? -1, stdout, stderr })));
                        channel.end(stdin);
                    }),
                ),
        );
    }

    withLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
        return this.session.use(async (c) => {
            const holder = await new Promise<ClientChannel>((resolve, reject) =>
                c.exec(lockCommand(lockPath), (err, ch) => (err ? reject(err) : resolve(ch))),
            );
            const closed = new Promise((r) => holder.once("close", r));
            await awaitLocked(holder, lockPath, this.where);
            try {
                return await fn();
            } finally {
                holder.end();
                await closed;
            }
        });
    }
}
