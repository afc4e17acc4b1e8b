// A small OpenAPI client for the CLB (SLB, API version 2014-05-15) RPC actions berth uses: signed
// GET requests on axios, JSON answers, retries with backoff when the API throttles.
// Common parameters and error shape: https://www.alibabacloud.com/help/en/sdk/product-overview/rpc-mechanism
// Error codes (Throttling, Throttling.User, ServiceUnavailable, ...): the "Error codes" table of each
// action, e.g. https://www.alibabacloud.com/help/en/slb/classic-load-balancer/developer-reference/api-slb-2014-05-15-addvservergroupbackendservers
import { randomUUID } from "crypto";
import axios, { AxiosInstance } from "axios";
import retry from "async-retry";
import { AliyunEndpoint } from "../../model";
import { percentEncode, sign } from "./signature";

export const API_VERSION = "2014-05-15";

/** Codes after which the same request may succeed: the API asks callers to back off and retry. */
const RETRYABLE = /^(Throttling(\..*)?|ServiceUnavailable|InternalError|SystemBusy|OperationFailed\.Busy)$/;

export class AliyunApiError extends Error {
    constructor(
        readonly action: string,
        readonly code: string,
        readonly requestId: string | undefined,
        message: string,
        readonly status: number,
    ) {
        super(`Aliyun CLB ${action} failed: ${code}: ${message}${requestId ? ` (RequestId ${requestId})` : ""}`);
    }
    get retryable(): boolean {
        return RETRYABLE.test(this.code) || this.status >= 500;
    }
}

export interface Credentials {
    accessKeyId: string;
    accessKeySecret: string;
}

/** Inputs first (Pulumi secrets in the stack), then the environment the Alibaba Cloud CLI and SDKs read. */
export function credentialsOf(endpoint: AliyunEndpoint, env: NodeJS.ProcessEnv = process.env): Credentials {
    const accessKeyId = endpoint.accessKeyId ?? env.ALIBABA_CLOUD_ACCESS_KEY_ID;
    const accessKeySecret = endpoint.accessKeySecret ?? env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
    if (!accessKeyId || !accessKeySecret) {
        throw new Error("aliyun: no access key: set aliyun.accessKeyId/accessKeySecret (as secrets) or ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET");
    }
    return { accessKeyId, accessKeySecret };
}

export interface RetryOptions {
    retries: number;
    minTimeoutMs: number;
    maxTimeoutMs: number;
}

export class AliyunClient {
    private readonly http: AxiosInstance;

    constructor(
        readonly endpoint: AliyunEndpoint,
        private readonly credentials: Credentials = credentialsOf(endpoint),
        private readonly retryOptions: RetryOptions = { retries: 8, minTimeoutMs: 200, maxTimeoutMs: 5000 },
    ) {
        this.http = axios.create({
            baseURL: endpoint.endpoint ?? `https://slb.${endpoint.region}.aliyuncs.com`,
            timeout: 15000,
            // Errors come back as JSON bodies with a code: read them instead of throwing on status.
            validateStatus: () => true,
        });
    }

    /** Calls one action; retries what the API says is worth retrying, with exponential backoff. */
    async call<T = any>(action: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
        return retry(
            async (bail) => {
                try {
                    return await this.once<T>(action, params);
                } catch (e: any) {
                    // async-retry still runs the next attempt when the attempt throws after bail: return instead.
                    if (!(e instanceof AliyunApiError && e.retryable)) return bail(e) as never;
                    throw e;
                }
            },
            { retries: this.retryOptions.retries, minTimeout: this.retryOptions.minTimeoutMs, maxTimeout: this.retryOptions.maxTimeoutMs, randomize: true },
        );
    }

    private async once<T>(action: string, params: Record<string, string | number | undefined>): Promise<T> {
        const query: Record<string, string> = {
            Action: action,
            Version: API_VERSION,
            Format: "JSON",
            RegionId: this.endpoint.region,
            AccessKeyId: this.credentials.accessKeyId,
            SignatureMethod: "HMAC-SHA1",
            SignatureVersion: "1.0",
            SignatureNonce: randomUUID(),
            Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        };
        for (const [k, v] of Object.entries(params)) if (v !== undefined) query[k] = String(v);
        query.Signature = sign("GET", query, this.credentials.accessKeySecret);
        let res;
        try {
            // Encoded as signed (RFC 3986), not with axios' looser encoder.
            res = await this.http.get("/?" + Object.entries(query).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join("&"));
        } catch (e: any) {
            throw new AliyunApiError(action, "NetworkError", undefined, e?.message ?? String(e), 599);
        }
        const body = typeof res.data === "object" && res.data ? res.data : {};
        if (res.status >= 400 || body.Code) {
            throw new AliyunApiError(action, body.Code ?? `HTTP${res.status}`, body.RequestId, body.Message ?? String(res.data).slice(0, 200), res.status);
        }
        return body as T;
    }
}
