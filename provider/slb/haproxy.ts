// HAProxy driver: servers change through the runtime API (no reload, no dropped connection) and
// every change is persisted in the managed section of the configuration file, so that a reload
// or restart keeps them. Listeners (frontend + backend) need a reload via the master socket.
// The HAProxy may run here or on its own host, reached over SSH (haproxyHost.ts).
import retry from "async-retry";
import { HaproxyEndpoint, SlbBindingArgs } from "../model";
import { mapLimited } from "../limit";
import { waitUntil } from "../wait";
import { Backend, BackendStatus, isDrained, keptListener, ListenerClash, ListenerOwner, SlbDriver } from "./driver";
import { listenerClash, PersistedServer, readSection, renderSection, serverOptions, writeSection } from "./haproxyConfig";
import { HaproxyHost, LocalHaproxyHost, quote, SshHaproxyHost } from "./haproxyHost";

const SOCKET_TIMEOUT_MS = 5000;

/**
 * Sends one command; HAProxy answers and closes. The master CLI answers only after our half-close.
 * EAGAIN (the socket's accept queue is full under a burst) and ECONNREFUSED (the master CLI
 * just after a reload, while it re-executes itself) are retried; anything else is an answer.
 */
function socketCommand(host: HaproxyHost, path: string, command: string, halfClose = false): Promise<string> {
    return retry(
        async (bail) => {
            try {
                return await sendOnce(host, path, command, halfClose);
            } catch (e: any) {
                // async-retry still runs the next attempt when the attempt throws after bail: return instead.
                if (!/EAGAIN|ECONNREFUSED/.test(String(e?.message))) return bail(e) as never;
                throw e;
            }
        },
        { retries: 8, minTimeout: 20, maxTimeout: 500 },
    );
}

async function sendOnce(host: HaproxyHost, path: string, command: string, halfClose: boolean): Promise<string> {
    // The code says whether anything answered there (see reach.ts).
    const failed = (e: NodeJS.ErrnoException & { field?: string }) =>
        Object.assign(new Error(`HAProxy socket ${path} does not answer (${command.split(" ")[0]}, on ${host.where}): ${e.message}`), {
            code: e.code,
            field: e.field,
        });
    const sock = await host.connect(path).catch((e) => Promise.reject(failed(e)));
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        const timer = setTimeout(
            () => sock.destroy(Object.assign(new Error(`no answer within ${SOCKET_TIMEOUT_MS / 1000}s`), { code: "ETIMEDOUT" })),
            SOCKET_TIMEOUT_MS,
        );
        sock.write(command + "\n");
        if (halfClose) sock.end();
        sock.on("data", (d: Buffer) => chunks.push(d));
        // HAProxy closed its side: close ours (an SSH channel stays open until both sides end).
        sock.on("end", () => sock.end());
        sock.on("error", (e: NodeJS.ErrnoException) => reject(failed(e)));
        sock.on("close", () => {
            clearTimeout(timer);
            resolve(Buffer.concat(chunks).toString("utf8"));
        });
    });
}

/** Parses `show stat` CSV into rows keyed by column name. */
export function parseStat(csv: string): Array<Record<string, string>> {
    const lines = csv.split("\n").filter((l) => l.trim() !== "");
    if (lines.length === 0 || !lines[0].startsWith("# ")) return [];
    const header = lines[0].slice(2).split(",");
    return lines.slice(1).map((line) => {
        const cells = line.split(",");
        return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ""]));
    });
}

export class HaproxyDriver implements SlbDriver {
    readonly countsInFlight = true;

    private readonly host: HaproxyHost;

    constructor(private readonly endpoint: HaproxyEndpoint) {
        this.host = endpoint.ssh ? new SshHaproxyHost(endpoint.ssh) : new LocalHaproxyHost();
    }

    private admin(command: string): Promise<string> {
        return socketCommand(this.host, this.endpoint.adminSocket, command);
    }

    private async run(command: string, ok: RegExp = /^$/): Promise<string> {
        const out = (await this.admin(command)).trim();
        if (!ok.test(out)) throw new Error(`HAProxy refused '${command}': ${out}`);
        return out;
    }

    async ping(): Promise<void> {
        const info = await this.admin("show info");
        if (!/^Name: HAProxy/m.test(info))
            throw new Error(`HAProxy socket ${this.endpoint.adminSocket} answered, but not as HAProxy: ${info.slice(0, 80)}`);
    }

    private async workerPid(): Promise<string> {
        const info = await this.admin("show info");
        return /^Pid: (\d+)/m.exec(info)?.[1] ?? "";
    }

    /** Edits the config file under a lock (on HAProxy's host) shared with every other berth process. */
    private editConfig<T>(edit: (config: string) => { config: string; result: T }): Promise<{ changed: boolean; result: T }> {
        return this.host.withLock(`${this.endpoint.configPath}.berth-lock`, async () => {
            const before = await this.readConfig();
            const { config, result } = edit(before);
            if (config !== before) await this.replaceConfig(config);
            return { changed: config !== before, result };
        });
    }

    private async readConfig(): Promise<string> {
        const path = this.endpoint.configPath;
        const read = await this.host.run(`cat ${quote(path)}`);
        if (read.code !== 0) throw new Error(`cannot read the HAProxy config ${path} on ${this.host.where}: ${read.stderr.trim()}`);
        return read.stdout;
    }

    /**
     * Writes the config beside the file, has `haproxy -c` check it on HAProxy's host, and only then
     * renames it over the file: a reload never reads half a file, or one HAProxy rejects.
     */
    private async replaceConfig(config: string): Promise<void> {
        const [path, tmp] = [quote(this.endpoint.configPath), quote(`${this.endpoint.configPath}.berth-tmp`)];
        // haproxy lives in sbin, which a non-root user's PATH may lack.
        const haproxy = `PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" haproxy`;
        const r = await this.host.run(
            `cat > ${tmp} && { ${haproxy} -c -q -f ${tmp} || { rc=$?; rm -f ${tmp}; exit $rc; }; } && mv -f ${tmp} ${path}`,
            config,
        );
        if (r.code === 127)
            throw new Error(`haproxy is not installed on ${this.host.where}: berth checks every config with haproxy -c there before using it`);
        if (r.code !== 0)
            throw new Error(`HAProxy on ${this.host.where} rejects the new ${this.endpoint.configPath}: ${(r.stderr || r.stdout).trim()}`);
    }

    /**
     * Reloads through the master socket and waits until the new worker answers. One reload at a time
     * per HAProxy (a lock shared with every berth process): the master re-executes itself on reload
     * and drops connections meanwhile, which two listeners created at once would run into.
     */
    async reload(): Promise<void> {
        if (!this.endpoint.masterSocket) throw new Error("haproxy.masterSocket is needed to add, change or remove a listener (it reloads HAProxy)");
        const { masterSocket, configPath } = this.endpoint;
        await this.host.withLock(`${configPath}.berth-reload-lock`, async () => {
            const before = await this.workerPid();
            await socketCommand(this.host, masterSocket, "reload", true);
            await waitUntil(async () => ((await this.workerPid()) !== before ? true : undefined), {
                timeoutSeconds: 30,
                what: `HAProxy on ${this.host.where} to reload ${configPath}`,
            });
        });
    }

    async ensureListener(binding: SlbBindingArgs, owner?: ListenerOwner): Promise<void> {
        const { changed } = await this.editConfig((config) => {
            // Checked again under the config lock: another stack may have taken the name since check.
            const clash = listenerClash(config, binding, owner?.stack);
            if (clash) throw new Error(`HAProxy ${this.endpoint.configPath}: ${clash.reason}`);
            const servers = readSection(config, binding.name)?.servers ?? [];
            return { config: writeSection(config, binding.name, renderSection(binding, servers, owner)), result: undefined };
        });
        if (changed) await this.reload();
    }

    async listenerClash(binding: SlbBindingArgs, stack: string | undefined): Promise<ListenerClash | undefined> {
        const clash = listenerClash(await this.readConfig(), binding, stack);
        return clash && { ...clash, reason: `HAProxy ${this.endpoint.configPath}: ${clash.reason}` };
    }

    async hasListener(binding: SlbBindingArgs): Promise<boolean> {
        return readSection(await this.readConfig(), binding.name) !== undefined;
    }

    async removeListener(name: string, owner?: ListenerOwner): Promise<string | undefined> {
        const { changed, result } = await this.editConfig((config) => {
            const kept = keptListener(name, readSection(config, name)?.owner, owner);
            return kept ? { config, result: kept } : { config: writeSection(config, name, null), result: undefined };
        });
        if (changed) await this.reload();
        return result;
    }

    async backends(pool: string): Promise<BackendStatus[]> {
        // By name, HAProxy picks the frontend (it shares the pool's name): list all servers, filter.
        const rows = parseStat(await this.admin("show stat -1 4 -1"));
        return rows
            .filter((r) => r.pxname === pool && r.svname !== "BACKEND" && r.svname !== "FRONTEND")
            .map((r) => {
                const [address, port] = (r.addr ?? "").split(":");
                return {
                    name: r.svname,
                    address,
                    port: Number(port),
                    weight: Number(r.weight),
                    status: r.status,
                    checkStatus: (r.check_status ?? "").replace(/^\* /, ""),
                    sessions: Number(r.scur || 0),
                    queued: Number(r.qcur || 0),
                };
            });
    }

    /** Applies `change` to the persisted server list of `pool`. */
    private async persist(pool: string, change: (servers: PersistedServer[]) => PersistedServer[]): Promise<SlbBindingArgs> {
        const { result } = await this.editConfig((config) => {
            const section = readSection(config, pool);
            if (!section) throw new Error(`HAProxy ${this.endpoint.configPath} has no listener ${pool}; create its SlbBinding first`);
            return {
                config: writeSection(config, pool, renderSection(section.binding, change(section.servers), section.owner)),
                result: section.binding,
            };
        });
        return result;
    }

    // Each change is persisted once per call, whatever the number of backends: releases of
    // hundreds of containers would otherwise rewrite the file hundreds of times.
    async addBackends(pool: string, backends: Backend[]): Promise<void> {
        if (backends.length === 0) return;
        const names = new Set(backends.map((b) => b.name));
        const binding = await this.persist(pool, (servers) => [
            ...servers.filter((s) => !names.has(s.name)),
            ...backends.map((b) => ({ ...b, weight: 0 })),
        ]);
        for (const b of backends) {
            const id = `${pool}/${b.name}`;
            await this.run(
                `add server ${id} ${b.address}:${b.port} weight 0 ${serverOptions(binding)}`,
                /New server registered|Already exists a server with the same name/,
            );
            await this.run(`enable health ${id}`);
            await this.run(`enable server ${id}`);
        }
    }

    async setWeights(pool: string, weights: Array<{ name: string; weight: number }>): Promise<void> {
        if (weights.length === 0) return;
        const wanted = new Map(weights.map((w) => [w.name, w.weight]));
        await this.persist(pool, (servers) => servers.map((s) => (wanted.has(s.name) ? { ...s, weight: wanted.get(s.name)! } : s)));
        for (const { name, weight } of weights) await this.run(`set weight ${pool}/${name} ${weight}`);
    }

    async removeBackends(pool: string, names: string[]): Promise<void> {
        if (names.length === 0) return;
        const present = new Set((await this.backends(pool)).map((b) => b.name));
        const going = names.filter((n) => present.has(n));
        // In maintenance first: no new stream reaches them, so one read after it shows every one still in flight.
        await mapLimited(going, (name) => this.run(`set server ${pool}/${name} state maint`));
        const drained = async (name: string) => {
            const b = (await this.backends(pool)).find((x) => x.name === name);
            return !b || isDrained(b);
        };
        const inFlight = new Set((await this.backends(pool)).filter((b) => !isDrained(b)).map((b) => b.name));
        await mapLimited(going, async (name) => {
            const id = `${pool}/${name}`;
            // HAProxy 2.6 deletes a server that streams still point at and then crashes (fixed in 2.9:
            // "don't delete a dynamic server that has streams"). Callers drain first; after a drain
            // timeout the remaining sessions are shut down, and deletion waits until none is left.
            if (inFlight.has(name)) {
                await this.run(`shutdown sessions server ${id}`);
                await waitUntil(async () => ((await drained(name)) ? true : undefined), { timeoutSeconds: 15, what: `sessions on ${id} to end` });
            }
            // It also refuses while connections are attached; idle ones are purged shortly after maint.
            await waitUntil(async () => ((await this.admin(`del server ${id}`)).includes("Server deleted") ? true : undefined), {
                timeoutSeconds: 15,
                what: `HAProxy to delete ${id}`,
            });
        });
        const gone = new Set(names);
        await this.persist(pool, (servers) => servers.filter((s) => !gone.has(s.name)));
    }
}
