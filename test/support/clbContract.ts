// A contract server for the Aliyun CLB OpenAPI (API version 2014-05-15): the actions berth uses,
// over HTTP, with state, the documented error shape ({RequestId, Code, Message}), signature
// checking, throttling on demand, health computed by really probing the backends, and listeners
// that forward traffic to healthy backends by weight (TCP: a connection proxy; HTTP: a request proxy),
// and keep the Description they are given (berth's owner record), checked as the API documents it.
// Behaviour follows the CLB API reference (vServer group and listener actions, DescribeHealthStatus)
// and the CLB health check FAQ (https://www.alibabacloud.com/help/doc-detail/55205.htm): a backend
// at weight 0 receives no traffic and is not health-checked, so its status stays "unavailable".
import { createHmac, randomUUID } from "crypto";
import * as http from "http";
import * as net from "net";
import { AddressInfo } from "net";

interface Server {
    ServerId: string;
    Port: number;
    Weight: number;
    Type: string;
    Description: string;
    health: "normal" | "abnormal" | "unavailable";
    ok: number;
    failed: number;
    probing?: boolean;
}

interface Listener {
    port: number;
    protocol: "tcp" | "http";
    groupId: string;
    description: string;
    running: boolean;
    check: { type: "tcp" | "http"; uri: string; intervalMs: number; timeoutMs: number; rise: number; fall: number; lastAt: number };
    server?: net.Server;
}

export interface ContractOptions {
    loadBalancerId: string;
    region: string;
    accessKeyId: string;
    accessKeySecret: string;
    /** The key is a temporary (STS) one: every request must carry this token, as Aliyun requires. */
    securityToken?: string;
    /** Address the CLB's listeners bind (the load balancer's service address). */
    listenAddress: string;
    /** server id (ECS instance or ENI) -> the address it answers at. */
    servers: Record<string, string>;
}

class ApiError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
    ) {
        super(message);
    }
}

// RFC 3986 as the signature topic specifies; written independently of provider/slb/aliyun/signature.ts
// so the server checks the client instead of agreeing with it by construction.
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function expectedSignature(query: URLSearchParams, secret: string): string {
    const pairs = [...query.entries()].filter(([k]) => k !== "Signature").sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const canonical = pairs.map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join("&");
    return createHmac("sha1", `${secret}&`)
        .update(`GET&%2F&${rfc3986(canonical)}`)
        .digest("base64");
}

/**
 * A listener's Description from a Create/Set call: 1-80 characters, letters, digits, -, /, . and _
 * (Chinese characters too), as the CreateLoadBalancerTCPListener reference says; what the call leaves out keeps its value.
 */
function descriptionOf(q: URLSearchParams, was = ""): string {
    const d = q.get("Description");
    if (d === null) return was;
    if (!/^[\w./\u4e00-\u9fff-]{1,80}$/.test(d)) {
        throw new ApiError(400, "InvalidParameter", "The specified Description is invalid: 1 to 80 letters, digits, -, /, . or _.");
    }
    return d;
}

/** A listener's health check from a Create/Set call; what the call leaves out keeps its value (or the documented default). */
function healthCheckOf(q: URLSearchParams, tcp: boolean, was?: Listener["check"]): Listener["check"] {
    const num = (name: string, fallback: number) => (q.get(name) !== null ? Number(q.get(name)) : fallback);
    const type = tcp ? (q.get("HealthCheckType") ?? was?.type ?? "tcp") : "http";
    return {
        type: type === "http" ? "http" : "tcp",
        uri: q.get("HealthCheckURI") ?? was?.uri ?? "/",
        intervalMs: num("HealthCheckInterval", (was?.intervalMs ?? 2000) / 1000) * 1000,
        // HealthCheckConnectTimeout (TCP) / HealthCheckTimeout (HTTP), seconds, default 5.
        timeoutMs: num(tcp ? "HealthCheckConnectTimeout" : "HealthCheckTimeout", (was?.timeoutMs ?? 5000) / 1000) * 1000,
        rise: num("HealthyThreshold", was?.rise ?? 3),
        fall: num("UnhealthyThreshold", was?.fall ?? 3),
        lastAt: 0,
    };
}

export class ClbContractServer {
    private api?: http.Server;
    private readonly groups = new Map<string, { name: string; servers: Server[] }>();
    private readonly listeners = new Map<number, Listener>();
    private readonly nonces = new Set<string>();
    private prober?: NodeJS.Timeout;
    private throttled = 0;
    private ratePerSecond?: number;
    private recent: number[] = [];
    private readonly refusals = new Map<string, { code: string; times: number; status: number }>();
    /** Every accepted call: action, when (ms since the epoch) and, for server lists, the servers it carried. */
    readonly calls: Array<{ action: string; at: number; servers?: Array<Pick<Server, "ServerId" | "Port"> & { Weight?: number }> }> = [];
    throttledCalls = 0;
    /** Set*ListenerAttribute calls accepted: a health check changed in place. */
    healthCheckChanges = 0;

    constructor(readonly opts: ContractOptions) {}

    /** The health check a listener runs now. */
    listenerCheck(port: number): Omit<Listener["check"], "lastAt"> | undefined {
        const c = this.listeners.get(port)?.check;
        return c && { type: c.type, uri: c.uri, intervalMs: c.intervalMs, timeoutMs: c.timeoutMs, rise: c.rise, fall: c.fall };
    }

    /** The Description a listener keeps (berth's owner record). */
    listenerDescription(port: number): string | undefined {
        return this.listeners.get(port)?.description;
    }

    async start(): Promise<string> {
        this.api = http.createServer((req, res) => this.handle(req, res));
        await new Promise<void>((r) => this.api!.listen(0, "127.0.0.1", r));
        this.prober = setInterval(() => void this.probeAll(), 100);
        return this.endpoint;
    }

    get endpoint(): string {
        return `http://127.0.0.1:${(this.api!.address() as AddressInfo).port}`;
    }

    async stop(): Promise<void> {
        clearInterval(this.prober);
        for (const l of this.listeners.values()) l.server?.close();
        this.api?.closeAllConnections();
        await new Promise((r) => this.api?.close(r));
    }

    /** The next `n` calls answer Throttling, as the API does when a caller exceeds its rate. */
    throttle(n: number): void {
        this.throttled = n;
    }

    /** Calls beyond `perSecond` in any second answer Throttling (undefined: no limit), as the API's rate limits do. */
    limitRate(perSecond: number | undefined): void {
        this.ratePerSecond = perSecond;
        this.recent = [];
    }

    /** The next `times` calls of `action` fail with `code` and HTTP `status` (400: the load balancer refuses; 5xx: the API fails). */
    refuse(action: string, code: string, times = 1, status = 400): void {
        this.refusals.set(action, { code, times, status });
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const requestId = randomUUID().toUpperCase();
        const send = (status: number, body: object) => {
            res.writeHead(status, { "content-type": "application/json" });
            res.end(JSON.stringify({ RequestId: requestId, ...body }));
        };
        try {
            const q = new URL(req.url ?? "/", "http://x").searchParams;
            this.authenticate(q);
            const action = q.get("Action") ?? "";
            const now = Date.now();
            this.recent = this.recent.filter((t) => now - t < 1000);
            const overRate = this.ratePerSecond !== undefined && this.recent.length >= this.ratePerSecond;
            if (!overRate) this.recent.push(now);
            if (this.throttled > 0 || overRate) {
                if (!overRate) this.throttled--;
                this.throttledCalls++;
                throw new ApiError(400, "Throttling", "Request was denied due to request throttling.");
            }
            const refusal = this.refusals.get(action);
            if (refusal && refusal.times > 0) {
                refusal.times--;
                throw new ApiError(refusal.status, refusal.code, `The load balancer refused ${action}.`);
            }
            const servers = q.get("BackendServers");
            this.calls.push({ action, at: now, servers: servers ? JSON.parse(servers) : undefined });
            send(200, this.act(action, q));
        } catch (e: any) {
            if (e instanceof ApiError) send(e.status, { Code: e.code, Message: e.message });
            else send(500, { Code: "InternalError", Message: String(e?.message ?? e) });
        }
    }

    private authenticate(q: URLSearchParams): void {
        for (const p of ["AccessKeyId", "Signature", "SignatureNonce", "Timestamp", "Action", "Version"]) {
            if (!q.get(p)) throw new ApiError(400, "MissingParameter", `${p} is mandatory for this action.`);
        }
        if (q.get("AccessKeyId") !== this.opts.accessKeyId)
            throw new ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
        if (this.opts.securityToken !== undefined && q.get("SecurityToken") !== this.opts.securityToken) {
            throw new ApiError(
                400,
                q.get("SecurityToken") ? "InvalidSecurityToken.Mismatch" : "InvalidSecurityToken.Missing",
                "The security token of a temporary access key is missing or wrong.",
            );
        }
        if (q.get("SignatureMethod") !== "HMAC-SHA1" || q.get("SignatureVersion") !== "1.0")
            throw new ApiError(400, "InvalidParameter", "SignatureMethod/SignatureVersion");
        if (q.get("Signature") !== expectedSignature(q, this.opts.accessKeySecret)) {
            throw new ApiError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.");
        }
        if (this.nonces.has(q.get("SignatureNonce")!)) throw new ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.");
        this.nonces.add(q.get("SignatureNonce")!);
        if (q.get("Version") !== "2014-05-15") throw new ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.");
    }

    private need(q: URLSearchParams, name: string): string {
        const v = q.get(name);
        if (!v) throw new ApiError(400, "MissingParameter", `${name} is mandatory for this action.`);
        return v;
    }

    private group(q: URLSearchParams) {
        const g = this.groups.get(this.need(q, "VServerGroupId"));
        if (!g) throw new ApiError(400, "InvalidParameter.VServerGroupId", "The specified VServerGroupId does not exist.");
        return g;
    }

    private lb(q: URLSearchParams): void {
        if (this.need(q, "LoadBalancerId") !== this.opts.loadBalancerId)
            throw new ApiError(404, "InvalidLoadBalancerId.NotFound", "The specified LoadBalancerId does not exist.");
    }

    private serversOf(q: URLSearchParams): Array<Partial<Server>> {
        const list = JSON.parse(this.need(q, "BackendServers")) as Array<Partial<Server>>;
        if (!Array.isArray(list) || list.length > 20)
            throw new ApiError(400, "InvalidParameter.BackendServers", "BackendServers must hold 1 to 20 servers.");
        for (const s of list) {
            if (!s.ServerId || !(s.ServerId in this.opts.servers))
                throw new ApiError(400, "BackendServer.InvalidServerId", `The specified ServerId ${s.ServerId} does not exist.`);
            if (s.Weight !== undefined && (s.Weight < 0 || s.Weight > 100))
                throw new ApiError(400, "InvalidParameter.Weight", "Weight must be from 0 to 100.");
        }
        return list;
    }

    private act(action: string, q: URLSearchParams): object {
        const same = (a: Partial<Server>) => (b: Server) => b.ServerId === a.ServerId && Number(b.Port) === Number(a.Port);
        switch (action) {
            case "DescribeLoadBalancerAttribute":
                this.lb(q);
                return {
                    LoadBalancerId: this.opts.loadBalancerId,
                    Address: this.opts.listenAddress,
                    LoadBalancerStatus: "active",
                    ListenerPortsAndProtocol: {
                        ListenerPortAndProtocol: [...this.listeners.values()].map((l) => ({
                            ListenerPort: l.port,
                            ListenerProtocol: l.protocol,
                            Description: l.description,
                        })),
                    },
                };
            case "CreateVServerGroup": {
                this.lb(q);
                const id = `rsp-${randomUUID().slice(0, 12)}`;
                this.groups.set(id, { name: this.need(q, "VServerGroupName"), servers: [] });
                return { VServerGroupId: id };
            }
            case "DescribeVServerGroups": {
                this.lb(q);
                // The listeners of each group only with IncludeListener=true (default false).
                const listening = q.get("IncludeListener") === "true";
                const group = ([id, g]: [string, { name: string }]) => ({
                    VServerGroupId: id,
                    VServerGroupName: g.name,
                    ...(listening ? { AssociatedObjects: { Listeners: { Listener: this.listenersOf(id) } } } : {}),
                });
                return { VServerGroups: { VServerGroup: [...this.groups].map(group) } };
            }
            case "DescribeVServerGroupAttribute": {
                const g = this.group(q);
                const id = q.get("VServerGroupId");
                return {
                    VServerGroupId: id,
                    VServerGroupName: g.name,
                    BackendServers: {
                        BackendServer: g.servers.map(({ ServerId, Port, Weight, Type, Description }) => ({
                            ServerId,
                            Port,
                            Weight,
                            Type,
                            Description,
                        })),
                    },
                    AssociatedObjects: { Listeners: { Listener: this.listenersOf(id!) } },
                };
            }
            case "AddVServerGroupBackendServers": {
                const g = this.group(q);
                for (const s of this.serversOf(q)) {
                    if (g.servers.some(same(s)))
                        throw new ApiError(400, "BackendServer.AlreadyExist", `Server ${s.ServerId}:${s.Port} is already in the group.`);
                    g.servers.push({
                        ServerId: s.ServerId!,
                        Port: Number(s.Port),
                        Weight: s.Weight ?? 100,
                        Type: s.Type ?? "ecs",
                        Description: s.Description ?? "",
                        health: "unavailable",
                        ok: 0,
                        failed: 0,
                    });
                }
                return {};
            }
            case "SetVServerGroupAttribute": {
                // Changes weights and descriptions of servers already in the group; adds none.
                const g = this.group(q);
                if (q.get("VServerGroupName")) g.name = q.get("VServerGroupName")!;
                if (q.get("BackendServers")) {
                    for (const s of this.serversOf(q)) {
                        const found = g.servers.find(same(s));
                        if (!found) throw new ApiError(400, "BackendServer.NotExist", `Server ${s.ServerId}:${s.Port} is not in the group.`);
                        if (s.Weight !== undefined) found.Weight = Number(s.Weight);
                        if (found.Weight === 0) Object.assign(found, { health: "unavailable", ok: 0, failed: 0 });
                    }
                }
                return {};
            }
            case "RemoveVServerGroupBackendServers": {
                const g = this.group(q);
                for (const s of this.serversOf(q)) g.servers = g.servers.filter((b) => !same(s)(b));
                return {};
            }
            case "DeleteVServerGroup": {
                const id = this.need(q, "VServerGroupId");
                this.group(q);
                if ([...this.listeners.values()].some((l) => l.groupId === id))
                    throw new ApiError(400, "RspoolVipExist", "There are listeners using this vServer group.");
                this.groups.delete(id);
                return {};
            }
            case "CreateLoadBalancerTCPListener":
            case "CreateLoadBalancerHTTPListener": {
                this.lb(q);
                const port = Number(this.need(q, "ListenerPort"));
                if (this.listeners.has(port)) throw new ApiError(400, "ListenerAlreadyExists", "The listener already exists.");
                const groupId = this.need(q, "VServerGroupId");
                this.group(q);
                const tcp = action === "CreateLoadBalancerTCPListener";
                const check = healthCheckOf(q, tcp);
                this.listeners.set(port, { port, protocol: tcp ? "tcp" : "http", groupId, description: descriptionOf(q), running: false, check });
                return {};
            }
            // Set*ListenerAttribute: the given attributes change, the rest stay; the protocol cannot.
            case "SetLoadBalancerTCPListenerAttribute":
            case "SetLoadBalancerHTTPListenerAttribute": {
                this.lb(q);
                const l = this.listener(q);
                const tcp = action === "SetLoadBalancerTCPListenerAttribute";
                if (l.protocol !== (tcp ? "tcp" : "http"))
                    throw new ApiError(400, "ListenerNotFound", `There is no ${tcp ? "TCP" : "HTTP"} listener on port ${l.port}.`);
                if (q.get("VServerGroupId")) {
                    this.group(q);
                    l.groupId = q.get("VServerGroupId")!;
                }
                l.description = descriptionOf(q, l.description);
                l.check = healthCheckOf(q, tcp, l.check);
                this.healthCheckChanges++;
                return {};
            }
            case "StartLoadBalancerListener": {
                this.lb(q);
                const l = this.listener(q);
                if (!l.running) {
                    l.server =
                        l.protocol === "tcp"
                            ? net.createServer((c) => this.forwardConnection(l, c))
                            : http.createServer((rq, rs) => this.forwardRequest(l, rq, rs));
                    l.server.listen(l.port, this.opts.listenAddress);
                    l.running = true;
                }
                return {};
            }
            case "DeleteLoadBalancerListener": {
                this.lb(q);
                const l = this.listener(q);
                l.server?.close();
                this.listeners.delete(l.port);
                return {};
            }
            case "DescribeHealthStatus": {
                this.lb(q);
                const ls = q.get("ListenerPort") ? [this.listener(q)] : [...this.listeners.values()];
                return {
                    BackendServers: {
                        BackendServer: ls.flatMap((l) =>
                            (this.groups.get(l.groupId)?.servers ?? []).map((s) => ({
                                ServerId: s.ServerId,
                                Port: s.Port,
                                ServerHealthStatus: s.health,
                                ListenerPort: l.port,
                                ServerIp: this.opts.servers[s.ServerId],
                            })),
                        ),
                    },
                };
            }
            default:
                throw new ApiError(400, "InvalidAction.NotFound", `Specified api ${action} is not found.`);
        }
    }

    private listenersOf(groupId: string): Array<{ Port: number; Protocol: string }> {
        return [...this.listeners.values()].filter((l) => l.groupId === groupId).map((l) => ({ Port: l.port, Protocol: l.protocol }));
    }

    private listener(q: URLSearchParams): Listener {
        const l = this.listeners.get(Number(this.need(q, "ListenerPort")));
        if (!l) throw new ApiError(400, "ListenerNotExists", "The specified listener does not exist.");
        return l;
    }

    private async probeAll(): Promise<void> {
        const now = Date.now();
        for (const l of this.listeners.values()) {
            if (!l.running || now - l.check.lastAt < l.check.intervalMs) continue;
            l.check.lastAt = now;
            for (const s of this.groups.get(l.groupId)?.servers ?? []) {
                if (s.Weight === 0 || s.probing) continue;
                s.probing = true;
                void this.probe(l, s).then((up) => {
                    s.probing = false;
                    if (s.Weight === 0) return;
                    if (up) Object.assign(s, { ok: s.ok + 1, failed: 0 });
                    else Object.assign(s, { failed: s.failed + 1, ok: 0 });
                    if (s.ok >= l.check.rise) s.health = "normal";
                    if (s.failed >= l.check.fall) s.health = "abnormal";
                });
            }
        }
    }

    private probe(l: Listener, s: Server): Promise<boolean> {
        const host = this.opts.servers[s.ServerId];
        return new Promise((resolve) => {
            if (l.check.type === "tcp") {
                const c = net.connect({ host, port: s.Port, timeout: l.check.timeoutMs }, () => (c.destroy(), resolve(true)));
                c.on("error", () => resolve(false)).on("timeout", () => (c.destroy(), resolve(false)));
                return;
            }
            // CLB's default healthy codes are http_2xx and http_3xx.
            const r = http.get({ host, port: s.Port, path: l.check.uri, timeout: l.check.timeoutMs, agent: false }, (res) => {
                res.resume();
                resolve((res.statusCode ?? 500) < 400);
            });
            r.on("error", () => resolve(false)).on("timeout", () => (r.destroy(), resolve(false)));
        });
    }

    /** A healthy backend with weight > 0, picked at random in proportion to weight. */
    private pick(l: Listener): { host: string; port: number } | undefined {
        const candidates = (this.groups.get(l.groupId)?.servers ?? []).filter((s) => s.Weight > 0 && s.health === "normal");
        let r = Math.random() * candidates.reduce((sum, s) => sum + s.Weight, 0);
        const s = candidates.find((c) => (r -= c.Weight) < 0) ?? candidates[candidates.length - 1];
        return s && { host: this.opts.servers[s.ServerId], port: s.Port };
    }

    private forwardConnection(l: Listener, client: net.Socket): void {
        const to = this.pick(l);
        if (!to) return void client.destroy();
        const upstream = net.connect(to);
        client.pipe(upstream).pipe(client);
        client.on("error", () => upstream.destroy());
        upstream.on("error", () => client.destroy());
    }

    private forwardRequest(l: Listener, req: http.IncomingMessage, res: http.ServerResponse): void {
        const to = this.pick(l);
        if (!to) return void res.writeHead(503).end("no healthy backend\n");
        // One connection per request: a backend that leaves holds no idle connection of ours.
        const up = http.request({ ...to, method: req.method, path: req.url, headers: req.headers, agent: false }, (ur) => {
            res.writeHead(ur.statusCode ?? 502, ur.headers);
            ur.pipe(res);
        });
        up.on("error", () => (res.headersSent ? res.destroy() : res.writeHead(502).end("backend failed\n")));
        req.pipe(up);
    }
}
