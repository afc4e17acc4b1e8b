// A small client of the registry HTTP API (distribution v2) for what berth reads: manifest digests,
// repositories, tags and sizes. Copying images between registries is left to skopeo.
import axios, { AxiosResponse } from "axios";
import { createHash } from "crypto";
import * as http from "http";
import * as https from "https";

/** A registry's own answer (or a network failure), quoted as the registry said it. */
export class RegistryError extends Error {
    constructor(
        message: string,
        readonly status?: number,
    ) {
        super(message);
    }
    /** Retrying helps when the registry could not be reached or failed on its side, not when it said no. */
    get retryable(): boolean {
        return this.status === undefined || this.status >= 500 || this.status === 429;
    }
}

export const MANIFEST_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

export interface Manifest {
    digest: string;
    mediaType: string;
    /** Blobs this manifest references directly (config and layers), or child manifests of an index. */
    blobs: Array<{ digest: string; size: number }>;
    children: string[];
}

const TIMEOUT_MS = 10000;

export class RegistryClient {
    private base?: string;
    private bearer?: string;
    // No keep-alive, as Docker's own registry client: a connection held open through a TCP load
    // balancer would keep a drained backend busy.
    private readonly agents: { httpAgent: http.Agent; httpsAgent: https.Agent };
    constructor(
        readonly server: string,
        private readonly credentials?: { username: string; password: string },
        /** PEM of the CA the registry's certificate is signed by, when this machine does not trust it. */
        ca?: string,
    ) {
        this.agents = { httpAgent: new http.Agent(), httpsAgent: new https.Agent(ca ? { ca } : {}) };
    }

    /** https first, plain http when the server does not speak TLS (a local or insecure registry). */
    private async baseUrl(): Promise<string> {
        if (this.base) return this.base;
        const host = this.server === "docker.io" ? "registry-1.docker.io" : this.server;
        try {
            await axios.get(`https://${host}/v2/`, { ...this.agents, timeout: TIMEOUT_MS, validateStatus: () => true });
            this.base = `https://${host}`;
        } catch (e: any) {
            const tlsRefused = /EPROTO|SSL|wrong version|ECONNRESET/i.test(`${e?.code} ${e?.message}`);
            if (!tlsRefused) throw new RegistryError(`registry ${this.server} does not answer: ${e?.code ?? e?.message}`);
            this.base = `http://${host}`;
        }
        return this.base;
    }

    private authHeader(): Record<string, string> {
        if (this.bearer) return { Authorization: `Bearer ${this.bearer}` };
        if (!this.credentials) return {};
        const basic = Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString("base64");
        return { Authorization: `Basic ${basic}` };
    }

    /** Token auth (Docker Hub, Harbor, ...): trade the credentials for a bearer token for the challenged scope. */
    private async fetchToken(challenge: string): Promise<boolean> {
        const m = /^Bearer\s+(.*)$/i.exec(challenge);
        if (!m) return false;
        const params = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((p) => [p[1], p[2]]));
        const res = await axios.get(params.realm, {
            params: { service: params.service, scope: params.scope },
            auth: this.credentials,
            timeout: TIMEOUT_MS,
            validateStatus: () => true,
        });
        if (res.status !== 200) return false;
        this.bearer = res.data.token ?? res.data.access_token;
        return Boolean(this.bearer);
    }

    async request(method: "GET" | "DELETE", path: string, headers: Record<string, string> = {}): Promise<AxiosResponse<Buffer>> {
        const base = await this.baseUrl();
        const send = () =>
            axios.request<Buffer>({
                method,
                url: base + path,
                ...this.agents,
                headers: { ...headers, ...this.authHeader() },
                responseType: "arraybuffer",
                timeout: TIMEOUT_MS,
                validateStatus: () => true,
            });
        let res: AxiosResponse<Buffer>;
        try {
            res = await send();
            const challenge = String(res.headers["www-authenticate"] ?? "");
            if (res.status === 401 && !this.bearer && (await this.fetchToken(challenge))) res = await send();
        } catch (e: any) {
            throw new RegistryError(`registry ${this.server} does not answer: ${e?.code ?? e?.message}`);
        }
        if (res.status >= 300)
            throw new RegistryError(`registry ${this.server} answered ${res.status} to ${method} ${path}: ${errorText(res)}`, res.status);
        return res;
    }

    private async json<T>(path: string): Promise<T> {
        return JSON.parse((await this.request("GET", path)).data.toString("utf8")) as T;
    }

    async ping(): Promise<void> {
        await this.request("GET", "/v2/");
    }

    async manifest(repository: string, reference: string): Promise<Manifest> {
        const res = await this.request("GET", `/v2/${repository}/manifests/${reference}`, { Accept: MANIFEST_TYPES.join(", ") });
        const digest = String(res.headers["docker-content-digest"] ?? "") || `sha256:${createHash("sha256").update(res.data).digest("hex")}`;
        const body = JSON.parse(res.data.toString("utf8"));
        const blobs = [...(body.config ? [body.config] : []), ...(body.layers ?? [])].map((b: any) => ({ digest: b.digest, size: b.size }));
        return {
            digest,
            mediaType: body.mediaType ?? String(res.headers["content-type"] ?? ""),
            blobs,
            children: (body.manifests ?? []).map((m: any) => m.digest),
        };
    }

    /** Every repository, page by page (registries answer at most 1000 per request by default). */
    async repositories(): Promise<string[]> {
        const all: string[] = [];
        for (;;) {
            const last = all.length ? `&last=${encodeURIComponent(all[all.length - 1])}` : "";
            const page = (await this.json<{ repositories?: string[] }>(`/v2/_catalog?n=1000${last}`)).repositories ?? [];
            all.push(...page);
            if (page.length < 1000) return all;
        }
    }

    async tags(repository: string): Promise<string[]> {
        try {
            return (await this.json<{ tags?: string[] | null }>(`/v2/${repository}/tags/list`)).tags ?? [];
        } catch (e) {
            // Listed in the catalog while its first push is still uploading blobs: no tag yet.
            if (e instanceof RegistryError && e.status === 404) return [];
            throw e;
        }
    }
}

/** The registry's error list (`CODE: message`), or the start of whatever it sent. */
function errorText(res: AxiosResponse<Buffer>): string {
    const text = Buffer.from(res.data ?? "").toString("utf8");
    try {
        const errors = JSON.parse(text).errors as Array<{ code: string; message: string }>;
        if (errors?.length) return errors.map((e) => `${e.code}: ${e.message}`).join("; ");
    } catch {
        // not JSON: quote it as is
    }
    return text.slice(0, 200) || res.statusText;
}
