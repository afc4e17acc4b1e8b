// Vectors from the documentation, not from this code: the worked example of the "Signature
// mechanism" topic (DescribeRegions, AccessKeyId testid, secret testsecret; the Chinese topic
// https://developer.aliyun.com/ask/210168 prints the same), and RFC 2202 for HMAC-SHA1.
import * as assert from "node:assert/strict";
import { canonicalizedQuery, hmacSha1Base64, percentEncode, sign, stringToSign } from "../../provider/slb/aliyun/signature";

const example = {
    TimeStamp: "2016-02-23T12:46:24Z",
    Format: "XML",
    AccessKeyId: "testid",
    Action: "DescribeRegions",
    SignatureMethod: "HMAC-SHA1",
    SignatureNonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    Version: "2014-05-26",
    SignatureVersion: "1.0",
};

describe("Aliyun RPC signature (HMAC-SHA1, SignatureVersion 1.0)", () => {
    it("signs the worked example as documented: CT9X0VtwR86fNWSnsc6v8YGOjuE=", () => {
        assert.equal(sign("GET", example, "testsecret"), "CT9X0VtwR86fNWSnsc6v8YGOjuE=");
    });

    it("builds the worked example's StringToSign", () => {
        // The page prints the separators inside the canonical query as '&'; the algorithm it states
        // (percentEncode of the whole canonical query) and its signature above need them as %26.
        const documented =
            "GET&%2F&AccessKeyId%3Dtestid&Action%3DDescribeRegions&Format%3DXML&SignatureMethod%3DHMAC-SHA1" +
            "&SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion%3D1.0&TimeStamp%3D2016-02-23T12%253A46%253A24Z&Version%3D2014-05-26";
        assert.equal(stringToSign("GET", example), "GET&%2F&" + documented.slice("GET&%2F&".length).replace(/&/g, "%26"));
    });

    it("leaves Signature out of the canonical query and encodes as RFC 3986 says (space %20, * %2A, ~ kept)", () => {
        assert.equal(canonicalizedQuery({ b: "a b*~", a: "1", Signature: "x" }), "a=1&b=a%20b%2A~");
        assert.equal(percentEncode("/"), "%2F");
    });

    it("computes HMAC-SHA1 as RFC 2202 test case 2 says", () => {
        // RFC 2202 section 3, test case 2: digest 0xeffcdf6ae5eb2fa2d27416d5f184df9c259a7c79
        assert.equal(
            Buffer.from(hmacSha1Base64("Jefe", "what do ya want for nothing?"), "base64").toString("hex"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        );
    });
});
