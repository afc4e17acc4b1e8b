// A bounded load generator for loopback listeners: keep-alive clients, some slow requests,
// every response recorded with the version that answered. Used by tests and the benchmark.
import * as http from "http";

export interface Sample {
    /** ms since the load started */
    at: number;
    ms: number;
    ok: boolean;
    slow: boolean;
    version?: string;
    error?: string;
}

export interface LoadOptions {
    url: string;
    /** Target requests per second across all workers. */
    ratePerSecond: number;
    /** Share of requests sent to the slow (~2 s) endpoint. */
    slowShare: number;
    /** Hard bound: the load stops by itself after this long. */
    maxSeconds: number;
    slowPath?: string;
    /** Reuse connections (default); false opens one connection per request, as many clients do. */
    keepAlive?: boolean;
}

export class Load {
    readonly samples: Sample[] = [];
    private stopped = false;
    private readonly started = Date.now();
    private readonly agent: http.Agent;
    private readonly inFlight = new Set<Promise<void>>();
    private ticker?: NodeJS.Timeout;

    constructor(private readonly opts: LoadOptions) {
        this.agent = new http.Agent({ keepAlive: opts.keepAlive ?? true, maxSockets: 256 });
    }

    start(): this {
        const intervalMs = 1000 / this.opts.ratePerSecond;
        let sent = 0;
        this.ticker = setInterval(() => {
            const due = Math.floor((Date.now() - this.started) / intervalMs) - sent;
            for (let i = 0; i < due; i++) {
                sent++;
                const slow = Math.random() < this.opts.slowShare;
                const p = this.request(slow).finally(() => this.inFlight.delete(p));
                this.inFlight.add(p);
            }
            if (this.stopped || Date.now() - this.started > this.opts.maxSeconds * 1000) clearInterval(this.ticker);
        }, 10);
        return this;
    }

    private request(slow: boolean): Promise<void> {
        const at = Date.now() - this.started;
        const url = this.opts.url.replace(/\/$/, "") + (slow ? (this.opts.slowPath ?? "/cgi-bin/slow") : "/");
        return new Promise((resolve) => {
            const req = http.get(url, { agent: this.agent, timeout: 15000 }, (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (d) => (body += d));
                res.on("end", () => {
                    const ok = res.statusCode === 200;
                    this.samples.push({
                        at,
                        ms: Date.now() - this.started - at,
                        ok,
                        slow,
                        version: /berth-demo (\S+)/.exec(body)?.[1],
                        error: ok ? undefined : `HTTP ${res.statusCode}`,
                    });
                    resolve();
                });
                res.on("error", (e) => {
                    this.samples.push({ at, ms: Date.now() - this.started - at, ok: false, slow, error: e.message });
                    resolve();
                });
            });
            req.on("timeout", () => req.destroy(new Error("client timeout")));
            req.on("error", (e) => {
                this.samples.push({ at, ms: Date.now() - this.started - at, ok: false, slow, error: e.message });
                resolve();
            });
        });
    }

    /** Stops sending and waits for the requests in flight. */
    async stop(): Promise<Sample[]> {
        this.stopped = true;
        if (this.ticker) clearInterval(this.ticker);
        await Promise.all([...this.inFlight]);
        this.agent.destroy();
        return this.samples;
    }

    get elapsedMs(): number {
        return Date.now() - this.started;
    }
}

export function summarize(samples: Sample[]) {
    const failed = samples.filter((s) => !s.ok);
    const versions: Record<string, number> = {};
    for (const s of samples) if (s.version) versions[s.version] = (versions[s.version] ?? 0) + 1;
    const errors = [...new Set(failed.map((f) => f.error ?? "unknown"))].slice(0, 5);
    return { total: samples.length, failed: failed.length, slow: samples.filter((s) => s.slow).length, versions, errors };
}
