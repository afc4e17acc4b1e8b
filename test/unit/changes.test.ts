// The change-kinds table (provider/changes.ts) against the Service's real input type and the code
// that derives from it: every field is declared, the revision hash covers exactly the "revision"
// fields (and is the one existing deployments were given), in-place fields change only the limits.
import * as assert from "node:assert/strict";
import * as path from "path";
import * as ts from "typescript";
import { changedInputs, containerDefinition, describeChange, fieldsOfKind, replacedInputs, SERVICE_CHANGES } from "../../provider/changes";
import { specHash } from "../../provider/canonical";
import { limitsOf } from "../../provider/engine/release/revision";
import { ServiceArgs } from "../../provider/model";

/** The property names of `export interface ServiceArgs` in provider/model.ts, read with the compiler. */
function serviceArgsFields(): string[] {
    const file = path.resolve(__dirname, "..", "..", "..", "provider", "model.ts");
    const program = ts.createProgram([file], {});
    const source = program.getSourceFile(file)!;
    const decl = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === "ServiceArgs");
    assert.ok(decl, "provider/model.ts declares ServiceArgs");
    return decl.members.filter(ts.isPropertySignature).map((m) => m.name.getText(source));
}

const base: ServiceArgs = {
    name: "web",
    cluster: { name: "c", nodes: [{ name: "h1", docker: "unix:///d.sock", address: "10.0.0.1" }] },
    image: "r/web:1",
    replicas: 3,
    ports: [{ containerPort: 80 }],
    env: { A: "1" },
    healthCheck: { httpPath: "/health" },
    bindings: [{ slb: { name: "pub", driver: "haproxy", listen: { port: 80 }, haproxy: { adminSocket: "/a", configPath: "/c" } } as any }],
};

/** A value of each field different from `base`'s. */
const other: { [K in keyof Required<ServiceArgs>]: ServiceArgs[K] } = {
    name: "api",
    cluster: { ...base.cluster, nodes: [{ ...base.cluster.nodes[0], schedulable: false }] },
    image: "r/web:2",
    replicas: 4,
    mode: "global",
    placement: { maxPerNode: 1 },
    ports: [{ containerPort: 8080 }],
    env: { A: "2" },
    command: ["serve"],
    healthCheck: { httpPath: "/ready" },
    cpus: 0.5,
    memoryMb: 256,
    restartPolicy: { name: "always" },
    diskQuotaMb: 100,
    stopGracePeriodSeconds: 30,
    bindings: [],
    release: { batchSize: 2 },
    restartTrigger: "now",
    registries: [{ server: "r", username: "u", password: "p" }],
    imageDigest: "r/x@sha256:1",
    plannedChange: "anything",
    plannedCounts: { start: 1, retire: 1, resize: 0, register: 0, reweight: 0, deregister: 0 },
    stack: "organization/infra/prod",
};

describe("change kinds of the Service inputs", () => {
    it("declares every field of ServiceArgs, and nothing else", () => {
        assert.deepEqual(Object.keys(SERVICE_CHANGES).sort(), serviceArgsFields().sort());
    });

    it("hashes exactly the revision fields, as existing deployments were hashed", () => {
        const digest = "r/web@sha256:" + "a".repeat(64);
        // The definition berth used before the table: the same hash keeps running containers' revision.
        const before = {
            image: digest,
            env: base.env,
            command: base.command,
            ports: base.ports,
            healthCheck: base.healthCheck,
            diskQuotaMb: base.diskQuotaMb,
            restartTrigger: base.restartTrigger,
        };
        assert.equal(specHash(containerDefinition(base, digest)), specHash(before));
        for (const field of Object.keys(other) as Array<keyof ServiceArgs>) {
            if (field === "image") continue; // the digest stands for it
            const changed =
                specHash(containerDefinition({ ...base, [field]: other[field] } as ServiceArgs, digest)) !==
                specHash(containerDefinition(base, digest));
            assert.equal(
                changed,
                SERVICE_CHANGES[field].kind === "revision",
                `${field} (${SERVICE_CHANGES[field].kind}) ${changed ? "changes" : "does not change"} the revision`,
            );
        }
    });

    it("changes Docker's limits for the in-place fields only", () => {
        for (const field of Object.keys(other) as Array<keyof ServiceArgs>) {
            const changed = JSON.stringify(limitsOf({ ...base, [field]: other[field] } as ServiceArgs)) !== JSON.stringify(limitsOf(base));
            assert.equal(changed, SERVICE_CHANGES[field].kind === "inPlace", `${field} (${SERVICE_CHANGES[field].kind})`);
        }
        assert.deepEqual(fieldsOfKind("inPlace").sort(), ["cpus", "memoryMb", "restartPolicy"]);
    });

    it("reports a change of every field but the ones that change nothing, and replaces only on identity", () => {
        for (const field of Object.keys(other) as Array<keyof ServiceArgs>) {
            const news = { ...base, [field]: other[field] } as ServiceArgs;
            const kind = SERVICE_CHANGES[field].kind;
            assert.equal(changedInputs(base, news).includes(field), !["nothing", "replace"].includes(kind), field);
            assert.equal(replacedInputs(base, news).length > 0, kind === "replace", field);
        }
        assert.deepEqual(replacedInputs(base, { ...base, cluster: { ...base.cluster, name: "other" } }), ["cluster"]);
    });

    it("says in the preview what each kind of change does", () => {
        const say = (news: Partial<ServiceArgs>) => describeChange(base, { ...base, ...news }, changedInputs(base, { ...base, ...news }));
        assert.equal(say({ image: "r/web:2", replicas: 4 }), "blue-green release of a new revision (image changed); scale 3 -> 4");
        assert.equal(say({ cpus: 1 }), "cpus applied in place with docker update (no restart, no release)");
        assert.equal(say({ release: { batchSize: 2 } }), "release recorded for later releases (nothing restarts)");
        assert.equal(say({}), "no input change (what drifted from the last up, if anything, is repaired)");
    });
});
