// Docker API over SSH: one SSH connection per node, each HTTP connection an exec channel running
// `docker system dial-stdio` on the node (as the docker CLI does for ssh:// hosts). docker-modem's
// own ssh transport opens a new SSH connection for every request, a full handshake each time.
import * as http from "http";
import * as net from "net";
import { Duplex } from "stream";
import { Client, ClientChannel, ConnectConfig } from "ssh2";

const DIAL = "docker system dial-stdio";
/** sshd allows 10 sessions per connection by default (MaxSessions): stay below it. */
const MAX_CHANNELS = 8;
/** An unused connection closes after this long, so nothing lingers on the node. */
const IDLE_CLOSE_MS = 10_000;

/** What node's http client calls on its sockets; an SSH channel has none of these. */
type SocketLike = Duplex & { setTimeout(ms: number, cb?: () => void): SocketLike };

function asSocket(channel: ClientChannel): SocketLike {
    let ms = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
        clearTimeout(timer);
        timer = ms > 0 ? setTimeout(() => channel.emit("timeout"), ms).unref() : undefined;
    };
    // Inactivity is measured on what the node sends.
    const push = channel.push.bind(channel);
    channel.push = (chunk: any, encoding?: BufferEncoding) => {
        arm();
        return push(chunk, encoding);
    };
    channel.once("close", () => clearTimeout(timer));
    const self = channel as unknown as SocketLike;
    return Object.assign(self, {
        // As net.Socket's: 0 disarms and takes the callback off (node's http client relies on it).
        setTimeout(msecs: number, cb?: () => void) {
            ms = msecs;
            if (cb && msecs === 0) channel.removeListener("timeout", cb);
            else if (cb) channel.once("timeout", cb);
            arm();
            return self;
        },
        setNoDelay: () => self,
        setKeepAlive: () => self,
        ref: () => self,
        unref: () => self,
    });
}

export class SshAgent extends http.Agent {
    private client?: Promise<Client>;
    private socket?: net.Socket;
    /** Open channels, and those of them a request uses. */
    private readonly channels = new Set<Duplex>();
    private readonly busy = new Set<Duplex>();
    private opening = 0;
    private readonly waiting: Array<(err: Error | null, socket?: Duplex) => void> = [];
    private idle?: NodeJS.Timeout;

    /** `config` carries host, port, username, privateKey, hostVerifier and readyTimeout. */
    constructor(private readonly config: ConnectConfig & { host: string; port: number }) {
        super({ keepAlive: true, maxSockets: MAX_CHANNELS });
    }

    createConnection(_options: unknown, callback: (err: Error | null, socket?: Duplex) => void): undefined {
        // node's agent counts a socket only once it exists, so it cannot hold asynchronous
        // connections to maxSockets: channels are counted here.
        this.waiting.push(callback);
        this.openWaiting();
        return undefined;
    }

    keepSocketAlive(socket: Duplex): boolean {
        this.use(socket, false);
        super.keepSocketAlive(socket as net.Socket);
        // A request waits for a channel: make room rather than keep this one idle.
        return this.waiting.length === 0;
    }

    reuseSocket(socket: Duplex, req: http.ClientRequest): void {
        super.reuseSocket(socket as net.Socket, req);
        this.use(socket, true);
    }

    private openWaiting(): void {
        while (this.waiting.length && this.channels.size + this.opening < MAX_CHANNELS) {
            const callback = this.waiting.shift()!;
            this.opening++;
            this.connect()
                .then((client) =>
                    client.exec(DIAL, (err, channel) => {
                        this.opening--;
                        if (err) {
                            this.settle();
                            callback(err);
                            return this.openWaiting();
                        }
                        const socket = asSocket(channel);
                        this.channels.add(socket);
                        this.use(socket, true);
                        socket.once("close", () => {
                            this.channels.delete(socket);
                            this.use(socket, false);
                            this.openWaiting();
                        });
                        callback(null, socket);
                    }),
                )
                .catch((e) => {
                    this.opening--;
                    this.settle();
                    callback(e);
                });
        }
        // Every channel is taken: an idle one makes room.
        if (this.waiting.length) [...this.channels].find((c) => !this.busy.has(c))?.destroy();
        this.settle();
    }

    destroy(): void {
        super.destroy();
        clearTimeout(this.idle);
        this.client?.then(
            (c) => c.end(),
            () => undefined,
        );
        this.client = undefined;
    }

    private connect(): Promise<Client> {
        if (this.client) return this.client;
        const client = new Client();
        const socket = (this.socket = net.connect({ host: this.config.host, port: this.config.port, noDelay: true }));
        const ready = new Promise<Client>((resolve, reject) => {
            client.once("ready", () => resolve(client));
            client.once("error", reject);
            client.once("close", () => {
                if (this.client === ready) this.client = undefined;
                reject(new Error("SSH connection closed"));
            });
        });
        // A failed connection is not kept: the next request tries again.
        ready.catch(() => {
            if (this.client === ready) this.client = undefined;
        });
        client.on("error", () => undefined);
        this.client = ready;
        try {
            client.connect({ ...this.config, sock: socket });
        } catch (e) {
            // (a key ssh2 cannot parse throws here rather than emitting "error")
            socket.destroy();
            client.emit("error", e);
        }
        return ready;
    }

    private use(socket: Duplex, busy: boolean): void {
        if (busy) this.busy.add(socket);
        else this.busy.delete(socket);
        this.settle();
    }

    /** The connection holds the process open only while a request is under way, and closes when unused. */
    private settle(): void {
        clearTimeout(this.idle);
        if (this.busy.size + this.opening + this.waiting.length > 0) {
            this.socket?.ref();
            return;
        }
        this.socket?.unref();
        this.idle = setTimeout(() => this.destroy(), IDLE_CLOSE_MS).unref();
    }
}
