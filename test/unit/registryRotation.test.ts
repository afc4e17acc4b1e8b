import * as assert from "node:assert/strict";
import { compareSync } from "bcryptjs";
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { SlbBindingState } from "../../provider/model";
import { accessFingerprint, htpasswd } from "../../provider/rotation/bucketHost";
import { registryConfig } from "../../provider/rotation/config";
import { lbHealthySecondsOf, RegistryRotationArgs } from "../../provider/rotation/rotationModel";
import { validateRotation } from "../../provider/validate";
import { keepTag, selectCarry, TagInfo } from "../../provider/rotation/carry";
import { bucketName, newestFirst, parseBucket, periodOf, periodStart, prefixProblem, retention } from "../../provider/rotation/period";

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
        for (const [name, start] of [
            ["images-2026q4", "2026-10-01"],
            ["images-2026m11", "2026-11-01"],
            ["images-2026w48", "2026-11-23"],
            ["images-2026w01", "2025-12-29"],
        ]) {
            assert.equal(periodStart(parseBucket("images", name)!).toISOString().slice(0, 10), start, name);
        }
        assert.equal(parseBucket("images", "images-2026q5"), undefined);
        assert.equal(parseBucket("images", "other-2026q4"), undefined);
        assert.equal(parseBucket("images", "images-x-2026q4"), undefined);
    });

    it("keeps the current bucket and retain - 1 before it, newest first, across a change of period kind", () => {
        const existing = ["images-2026q2", "images-2026q4", "images-2026q3", "images-2026m12", "foreign"];
        assert.deepEqual(newestFirst("images", existing), ["images-2026m12", "images-2026q4", "images-2026q3", "images-2026q2"]);
        assert.deepEqual(retention("images", "images-2027q1", existing, 2), {
            keep: ["images-2027q1", "images-2026m12"],
            purge: ["images-2026q4", "images-2026q3", "images-2026q2"],
        });
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
        assert.deepEqual(
            selectCarry("app", tags, 2, [])
                .map((c) => c.tag)
                .sort(),
            ["latest", "v3"],
        );
    });
    it("adds every tag of an in-use image, by digest or by tag, and in-use digests no tag points to", () => {
        const carry = selectCarry("app", tags, 1, [
            { repository: "app", digest: "sha256:a1" },
            { repository: "app", tag: "v2" },
            { repository: "app", digest: "sha256:gone" },
            { repository: "other", digest: "sha256:a2" },
        ]);
        assert.deepEqual(carry.map((c) => `${c.tag}:${c.why}`).sort(), ["sha256:gone:in use", "v1:in use", "v2:in use", "v3:newest"]);
        assert.equal(keepTag("sha256:0123456789abcdef"), "in-use-0123456789ab");
    });
    it("lists the copies oldest push first, so the new bucket's push times keep the order", () => {
        const shuffled = [tags[2], tags[0], tags[3], tags[1]];
        assert.deepEqual(
            selectCarry("app", shuffled, 3, []).map((c) => c.tag),
            ["v2", "v3", "latest"],
        );
    });
});

describe("registry bucket access (TLS and users)", () => {
    const pki = (() => {
        const dir = mkdtempSync(path.join(tmpdir(), "berth-unit-pki-"));
        const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
        openssl(
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=unit",
            "-addext",
            "subjectAltName=IP:10.0.0.1,IP:10.0.0.11",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        );
        openssl("genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other.pem");
        const read = (f: string) => readFileSync(path.join(dir, f), "utf8");
        const out = { certificate: read("cert.pem"), key: read("key.pem"), otherKey: read("other.pem") };
        rmSync(dir, { recursive: true, force: true });
        return out;
    })();
    const args = (extra: Partial<RegistryRotationArgs> = {}): Partial<RegistryRotationArgs> => ({
        name: "images",
        prefix: "images",
        node: "h1",
        cluster: { name: "c", nodes: [{ name: "h1", docker: "unix:///run/h1.sock", address: "10.0.0.11" }] },
        binding: { name: "stable", driver: "haproxy", protocol: "tcp", listen: { address: "10.0.0.1", port: 5000 } } as SlbBindingState,
        tls: { certificate: pki.certificate, key: pki.key },
        users: [{ username: "ci", password: "s3cret" }],
        ...extra,
    });
    const failures = (a: Partial<RegistryRotationArgs>) => validateRotation(a).map((f) => `${f.property}: ${f.reason}`);

    it("accepts a certificate naming the binding's and the node's address, its key, and users", () => {
        assert.deepEqual(failures(args()), []);
    });

    it("requires TLS and users, a tcp binding, the certificate's own key and every address named, never quoting a key or password", () => {
        assert.deepEqual(failures(args({ tls: undefined, users: undefined })), [
            "tls: is required: {certificate, key, ca?} (the bucket registries serve HTTPS only)",
            "users: is required: at least one {username, password} (anyone else is refused)",
        ]);
        const listen = { address: "10.0.0.2", port: 5000 };
        const bad = failures(
            args({
                binding: { name: "stable", driver: "haproxy", listen } as SlbBindingState,
                tls: { certificate: pki.certificate, key: pki.otherKey },
                users: [
                    { username: "a:b", password: "" },
                    { username: "ci", password: "x" },
                    { username: "ci", password: "y" },
                ],
            }),
        );
        assert.deepEqual(bad, [
            'binding: must forward connections (protocol "tcp"), so that TLS reaches the bucket registries; got protocol "http"',
            "tls.key: is not the private key of tls.certificate",
            "tls.certificate: does not name 10.0.0.2 (the binding's listen address): clients would refuse it",
            `users[0].username: must be a non-empty name without ':' or spaces, got "a:b"`,
            "users[0].password: is required (a secret)",
            'users[2].username: "ci" is listed twice',
        ]);
        assert.ok(!bad.join().includes("PRIVATE") && !bad.join().includes('"y"'));
    });

    it("bounds the switch: a drain time in whole seconds, named when wrong; the load balancer's health wait from its rise × interval", () => {
        assert.deepEqual(failures(args({ drainTimeoutSeconds: 5 })), []);
        assert.deepEqual(failures(args({ drainTimeoutSeconds: 2.5 })), ["drainTimeoutSeconds: must be a whole number from 0 to 86400, got 2.5"]);
        assert.deepEqual(failures(args({ drainTimeoutSeconds: -1 })), ["drainTimeoutSeconds: must be a whole number from 0 to 86400, got -1"]);
        const binding = (healthCheck?: SlbBindingState["healthCheck"]) => ({ healthCheck });
        assert.equal(lbHealthySecondsOf(binding()), 30, "rise 2 × 1 s by default: the floor");
        assert.equal(lbHealthySecondsOf(binding({ intervalMs: 5000, rise: 3 })), 60, "4 × 3 × 5 s");
    });

    it("configures HTTPS only and htpasswd auth; the htpasswd holds bcrypt hashes of the passwords, not the passwords", () => {
        const config = registryConfig("images-2026q4", { kind: "volume" }, false) as any;
        assert.deepEqual(config.http.tls, { certificate: "/etc/docker/registry/tls.crt", key: "/etc/docker/registry/tls.key", minimumtls: "tls1.2" });
        assert.deepEqual(config.auth, { htpasswd: { realm: "berth", path: "/etc/docker/registry/htpasswd" } });
        const lines = htpasswd([
            { username: "ci", password: "s3cret" },
            { username: "deploy", password: "other" },
        ])
            .trim()
            .split("\n");
        assert.deepEqual(
            lines.map((l) => l.split(":")[0]),
            ["ci", "deploy"],
        );
        assert.ok(lines.every((l) => /^[^:]+:\$2[aby]\$10\$/.test(l)) && !lines.join().includes("s3cret"));
        assert.ok(compareSync("s3cret", lines[0].slice(3)));
    });

    it("fingerprints access by certificate, key and users, so a registry with other ones is replaced", () => {
        const a = { tls: { certificate: pki.certificate, key: pki.key }, users: [{ username: "ci", password: "s3cret" }] };
        assert.equal(accessFingerprint(a), accessFingerprint({ users: a.users, tls: { key: pki.key, certificate: pki.certificate } }));
        assert.notEqual(accessFingerprint(a), accessFingerprint({ ...a, users: [{ username: "ci", password: "changed" }] }));
    });
});
