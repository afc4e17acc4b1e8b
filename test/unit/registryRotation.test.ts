import * as assert from "node:assert/strict";
import { keepTag, selectCarry, TagInfo } from "../../provider/registry/carry";
import { bucketName, newestFirst, parseBucket, periodOf, periodStart, prefixProblem, retention } from "../../provider/registry/period";

describe("registry bucket periods", () => {
    it("names quarters, months and ISO weeks", () => {
        const at = new Date("2026-11-23T20:00:00Z");
        assert.equal(bucketName("images", periodOf(at, "quarter")), "images-2026q4");
        assert.equal(bucketName("images", periodOf(at, "month")), "images-2026m11");
        assert.equal(bucketName("images", periodOf(at, "week")), "images-2026w48");
        assert.equal(bucketName("images", periodOf(new Date("2026-03-31T23:59:59Z"), "month")), "images-2026m03");
    });

    it("uses the ISO week-numbering year at year ends", () => {
        assert.equal(bucketName("i", periodOf(new Date("2026-01-01T00:00:00Z"), "week")), "i-2026w01"); // a Thursday
        assert.equal(bucketName("i", periodOf(new Date("2027-01-01T00:00:00Z"), "week")), "i-2026w53"); // a Friday of 2026's week 53
        assert.equal(bucketName("i", periodOf(new Date("2024-12-30T00:00:00Z"), "week")), "i-2025w01"); // a Monday in 2025's week 1
        assert.equal(bucketName("i", periodOf(new Date("2023-01-01T12:00:00Z"), "week")), "i-2022w52"); // a Sunday
    });

    it("parses names back and finds each period's start", () => {
        for (const [name, start] of [["images-2026q4", "2026-10-01"], ["images-2026m11", "2026-11-01"], ["images-2026w48", "2026-11-23"], ["images-2026w01", "2025-12-29"]]) {
            assert.equal(periodStart(parseBucket("images", name)!).toISOString().slice(0, 10), start, name);
        }
        assert.equal(parseBucket("images", "images-2026q5"), undefined);
        assert.equal(parseBucket("images", "other-2026q4"), undefined);
        assert.equal(parseBucket("images", "images-x-2026q4"), undefined);
    });

    it("keeps the current bucket and retain - 1 before it, newest first, across a change of period kind", () => {
        const existing = ["images-2026q2", "images-2026q4", "images-2026q3", "images-2026m12", "foreign"];
        assert.deepEqual(newestFirst("images", existing), ["images-2026m12", "images-2026q4", "images-2026q3", "images-2026q2"]);
        assert.deepEqual(retention("images", "images-2027q1", existing, 2), { keep: ["images-2027q1", "images-2026m12"], purge: ["images-2026q4", "images-2026q3", "images-2026q2"] });
        assert.deepEqual(retention("images", "images-2026q4", ["images-2026q4"], 1), { keep: ["images-2026q4"], purge: [] });
    });

    it("refuses prefixes that make invalid S3 bucket names", () => {
        assert.equal(prefixProblem("images"), undefined);
        assert.equal(prefixProblem("team.images-prod"), undefined);
        for (const bad of ["Images", "-images", "im_ages", "im..ages", "im.-ages", "xn--images", "192.168.1.1", "a".repeat(60), ""]) {
            assert.ok(prefixProblem(bad), bad);
        }
    });
});

describe("registry bucket carry-forward selection", () => {
    const tags: TagInfo[] = [
        { tag: "v1", digest: "sha256:a1", pushedAt: 1 },
        { tag: "v2", digest: "sha256:a2", pushedAt: 2 },
        { tag: "v3", digest: "sha256:a3", pushedAt: 3 },
        { tag: "latest", digest: "sha256:a3", pushedAt: 3 },
    ];
    it("takes the newest K tags by push time", () => {
        assert.deepEqual(selectCarry("app", tags, 2, []).map((c) => c.tag).sort(), ["latest", "v3"]);
    });
    it("adds every tag of an in-use image, by digest or by tag, and in-use digests no tag points to", () => {
        const carry = selectCarry("app", tags, 1, [{ repository: "app", digest: "sha256:a1" }, { repository: "app", tag: "v2" }, { repository: "app", digest: "sha256:gone" }, { repository: "other", digest: "sha256:a2" }]);
        assert.deepEqual(carry.map((c) => `${c.tag}:${c.why}`).sort(), ["sha256:gone:in use", "v1:in use", "v2:in use", "v3:newest"]);
        assert.equal(keepTag("sha256:0123456789abcdef"), "in-use-0123456789ab");
    });
});
