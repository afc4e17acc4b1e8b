// RPC-style request signing of the Alibaba Cloud OpenAPI (SignatureMethod HMAC-SHA1,
// SignatureVersion 1.0), pure. Follows "Request syntax and signature method V2 for RPC APIs"
// (https://www.alibabacloud.com/help/en/sdk/product-overview/rpc-mechanism) and the "Signature
// mechanism" topic (https://www.alibabacloud.com/help/doc-detail/196741.htm):
//   StringToSign = HTTPMethod & percentEncode("/") & percentEncode(CanonicalizedQueryString)
//   Signature    = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))
import { createHmac } from "crypto";

/** RFC 3986 encoding as the signature topic asks: A-Z a-z 0-9 - _ . ~ stay, space is %20, * is %2A. */
export function percentEncode(value: string): string {
    return encodeURIComponent(value).replace(/[!'()*]/g, (ch) => "%" + ch.charCodeAt(0).toString(16).toUpperCase());
}

/** Parameters (without Signature) sorted by name, each name=value encoded, joined with '&'. */
export function canonicalizedQuery(params: Record<string, string>): string {
    return Object.keys(params)
        .filter((k) => k !== "Signature")
        .sort()
        .map((k) => `${percentEncode(k)}=${percentEncode(params[k])}`)
        .join("&");
}

export function stringToSign(method: string, params: Record<string, string>): string {
    return `${method.toUpperCase()}&${percentEncode("/")}&${percentEncode(canonicalizedQuery(params))}`;
}

export function hmacSha1Base64(key: string, text: string): string {
    return createHmac("sha1", key).update(text, "utf8").digest("base64");
}

export function sign(method: string, params: Record<string, string>, accessKeySecret: string): string {
    return hmacSha1Base64(accessKeySecret + "&", stringToSign(method, params));
}
