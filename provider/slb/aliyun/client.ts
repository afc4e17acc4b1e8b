// A small OpenAPI client for the CLB (SLB, API version 2014-05-15) RPC actions berth uses: signed
// GET requests on axios, JSON answers, retries with backoff when the API throttles.
// Common parameters and error shape: https://www.alibabacloud.com/help/en/sdk/product-overview/rpc-mechanism
// Error codes (Throttling, Throttling.User, ServiceUnavailable, ...): the "Error codes" table of each
// action, e.g. https://www.alibabacloud.com/help/en/slb/classic-load-balancer/developer-reference/api-slb-2014-05-15-addvservergroupbackendservers
import { randomUUID } from "crypto";
import axios, { AxiosInstance } from "axios";
import retry from "async-retry";
import Credential from "@alicloud/credentials";
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
    /** With temporary (STS) credentials: sent with every request. */
    securityToken?: string;
}

/**
 * The binding's access key (its inputs or the stack's berth: keys, Pulumi secrets), else the one the
 * Alibaba Cloud credential chain finds where `pulumi` runs, as its SDKs and CLI do: the environment
 * (ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, with ALIBABA_CLOUD_SECURITY_TOKEN for STS), the credentials
 * file (~/.alibabacloud/credentials.ini or ALIBABA_CLOUD_CREDENTIALS_FILE), the CLI's profile, OIDC,
 * an ECS RAM role (ALIBABA_CLOUD_ECS_METADATA). Those are read then, never stored.
 */
export async function credentialsOf(endpoint: AliyunEndpoint): Promise<Credentials> {
    if (endpoint.accessKeyId && endpoint.accessKeySecret) return { accessKeyId: endpoint.accessKeyId, accessKeySecret: endpoint.accessKeySecret };
    if (endpoint.accessKeyId || endpoint.accessKeySecret)
        throw new Error("aliyun: give both aliyun.accessKeyId and aliyun.accessKeySecret, or neither (the credential chain then finds one)");
    try {
        const found = await new Credential().getCredential();
        return {
            accessKeyId: found.accessKeyId!,
            accessKeySecret: found.accessKeySecret!,
            ...(found.securityToken ? { securityToken: found.securityToken } : {}),
        };
    } catch (e: any) {
        throw new Error(
            "aliyun: no access key: set aliyun.accessKeyId/accessKeySecret or berth:aliyunAccessKeyId/aliyunAccessKeySecret (as secrets), " +
                `or give the Alibaba Cloud credential chain one (environment, credentials file, CLI profile, RAM role): ${e?.message ?? e}`,
        );
    }
}

export interface RetryOptions {
    retries: number;
    minTimeoutMs: number;
    maxTimeoutMs: number;
}

export class AliyunClient {
    private readonly http: AxiosInstance;

    /** Found at the first call (the chain may ask a metadata service), then kept. */
    private credentials?: Promise<Credentials>;

    constructor(
        readonly endpoint: AliyunEndpoint,
        given?: Credentials,
        private readonly retryOptions: RetryOptions = { retries: 8, minTimeoutMs: 200, maxTimeoutMs: 5000 },
    ) {
        this.http = axios.create({
            baseURL: endpoint.endpoint ?? `https://slb.${endpoint.region}.aliyuncs.com`,
            timeout: 15000,
            // Errors come back as JSON bodies with a code: read them instead of throwing on status.
            validateStatus: () => true,
        });
        if (given) this.credentials = Promise.resolve(given);
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
            {
                retries: this.retryOptions.retries,
                minTimeout: this.retryOptions.minTimeoutMs,
                maxTimeout: this.retryOptions.maxTimeoutMs,
                randomize: true,
            },
        );
    }

    private async once<T>(action: string, params: Record<string, string | number | undefined>): Promise<T> {
        const credentials = await (this.credentials ??= credentialsOf(this.endpoint));
        const query: Record<string, string> = {
            Action: action,
            Version: API_VERSION,
            Format: "JSON",
            RegionId: this.endpoint.region,
            AccessKeyId: credentials.accessKeyId,
            ...(credentials.securityToken ? { SecurityToken: credentials.securityToken } : {}),
            SignatureMethod: "HMAC-SHA1",
            SignatureVersion: "1.0",
            SignatureNonce: randomUUID(),
            Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        };
        for (const [k, v] of Object.entries(params)) if (v !== undefined) query[k] = String(v);
        query.Signature = sign("GET", query, credentials.accessKeySecret);
        let res;
        try {
            // Encoded as signed (RFC 3986), not with axios' looser encoder.
            res = await this.http.get(
                "/?" +
                    Object.entries(query)
                        .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`)
                        .join("&"),
            );
        } catch (e: any) {
            throw new AliyunApiError(action, "NetworkError", undefined, e?.message ?? String(e), 599);
        }
        const body = typeof res.data === "object" && res.data ? res.data : {};
        if (res.status >= 400 || body.Code) {
            throw new AliyunApiError(
                action,
                body.Code ?? `HTTP${res.status}`,
                body.RequestId,
                body.Message ?? String(res.data).slice(0, 200),
                res.status,
            );
        }
        return body as T;
    }
}
