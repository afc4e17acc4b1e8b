// What changing each Service input does: the one table the revision hash, the diff and the preview's
// wording derive from. The table is keyed by every field of ServiceArgs, so a field added there without
// an entry here does not compile; test/unit/changes.test.ts checks the same at run time.
import { canonicalJson } from "./canonical";
import { DEFAULTS, ServiceArgs } from "./model";

/**
 * - revision: part of what a container is; a change starts a blue-green release of a new revision.
 * - inPlace: Docker changes it on running containers (docker update): no restart, no release.
 * - scale: starts or retires containers of the current revision.
 * - placement: containers that no longer fit the nodes or rules move.
 * - bindings: backends are registered, deregistered or re-weighted; no container changes.
 * - settings: read by later releases and stops (timeouts, batch size, grace period); nothing restarts now.
 * - replace: the service is another one: delete and create.
 * - nothing: no effect on what runs (computed by berth, or read only at the next pull).
 */
export type ChangeKind = "revision" | "inPlace" | "scale" | "placement" | "bindings" | "settings" | "replace" | "nothing";

interface FieldChange {
    kind: ChangeKind;
    /** What of the input matters to the service; default: the value itself. */
    view?: (args: ServiceArgs) => unknown;
    /** The part whose change makes the service another one (replace), for a field that otherwise changes otherwise. */
    identity?: (args: ServiceArgs) => unknown;
}

export const SERVICE_CHANGES: { readonly [K in keyof Required<ServiceArgs>]: FieldChange } = {
    name: { kind: "replace" },
    // The nodes compared by what placement and the engine use; the inventory is facts, not wishes.
    cluster: {
        kind: "placement",
        view: (a) =>
            (a.cluster?.nodes ?? []).map((n) => ({
                name: n.name,
                docker: n.docker,
                address: n.address,
                zone: n.zone,
                labels: n.labels,
                schedulable: n.schedulable !== false,
                cloud: n.cloud,
            })),
        identity: (a) => a.cluster?.name,
    },
    image: { kind: "revision" },
    replicas: { kind: "scale" },
    mode: { kind: "placement" },
    placement: { kind: "placement" },
    ports: { kind: "revision", view: (a) => a.ports ?? [] },
    env: { kind: "revision", view: (a) => a.env ?? {} },
    command: { kind: "revision" },
    healthCheck: { kind: "revision" },
    cpus: { kind: "inPlace" },
    memoryMb: { kind: "inPlace" },
    restartPolicy: { kind: "inPlace" },
    diskQuotaMb: { kind: "revision" },
    stopGracePeriodSeconds: { kind: "settings" },
    // Each binding by what identifies it and what the service does there, not by the listener's settings.
    bindings: {
        kind: "bindings",
        view: (a) =>
            (a.bindings ?? []).map((b) => ({
                pool: b.slb?.name,
                haproxy: b.slb?.haproxy,
                aliyun: b.slb?.aliyun?.loadBalancerId,
                weight: b.weight ?? DEFAULTS.weight,
                containerPort: b.containerPort,
            })),
    },
    release: { kind: "settings" },
    restartTrigger: { kind: "revision" },
    // Credentials are read at the next pull: rotating them alone changes nothing that runs.
    registries: { kind: "nothing" },
    stack: { kind: "nothing" },
    // Computed by check: the digest is compared through the revision hash, the plan is what the preview shows.
    imageDigest: { kind: "nothing" },
    plannedChange: { kind: "nothing" },
    plannedCounts: { kind: "nothing" },
};

export const SERVICE_FIELDS = Object.keys(SERVICE_CHANGES) as Array<keyof ServiceArgs>;

export const fieldsOfKind = (kind: ChangeKind): Array<keyof ServiceArgs> => SERVICE_FIELDS.filter((k) => SERVICE_CHANGES[k].kind === kind);

const viewOf = (k: keyof ServiceArgs, args: ServiceArgs): unknown => SERVICE_CHANGES[k].view?.(args) ?? args[k];

/** The inputs that make a container what it is, the image pinned to its digest: the revision hash covers exactly the "revision" fields. */
export function containerDefinition(args: ServiceArgs, imageDigest: string): Record<string, unknown> {
    return Object.fromEntries(fieldsOfKind("revision").map((k) => [k, k === "image" ? imageDigest : viewOf(k, args)]));
}

/** The inputs whose change matters to the service (kinds other than replace and nothing), compared by their view. */
export function changedInputs(olds: ServiceArgs, news: ServiceArgs): Array<keyof ServiceArgs> {
    return SERVICE_FIELDS.filter(
        (k) =>
            !["replace", "nothing"].includes(SERVICE_CHANGES[k].kind) &&
            canonicalJson(viewOf(k, olds) ?? null) !== canonicalJson(viewOf(k, news) ?? null),
    );
}

/** The inputs whose change replaces the service. */
export function replacedInputs(olds: ServiceArgs, news: ServiceArgs): Array<keyof ServiceArgs> {
    return SERVICE_FIELDS.filter((k) => {
        const f = SERVICE_CHANGES[k];
        const part = f.kind === "replace" ? (a: ServiceArgs) => a[k] : f.identity;
        return part !== undefined && canonicalJson(part(olds) ?? null) !== canonicalJson(part(news) ?? null);
    });
}

const WORDS: Record<Exclude<ChangeKind, "nothing" | "replace">, (fields: string[], olds: ServiceArgs, news: ServiceArgs) => string> = {
    revision: (f) => `blue-green release of a new revision (${f.join(", ")} changed)`,
    inPlace: (f) => `${f.join(", ")} applied in place with docker update (no restart, no release)`,
    scale: (_f, o, n) => `scale ${o.replicas ?? DEFAULTS.replicas} -> ${n.replicas ?? DEFAULTS.replicas}`,
    bindings: () => "register/deregister load-balancer backends (no redeploy)",
    placement: (f) => `re-place containers that no longer fit the nodes or placement rules (${f.join(", ")} changed)`,
    settings: (f) => `${f.join(", ")} recorded for later releases (nothing restarts)`,
};

/** One line for the preview: what the next `pulumi up` does to this service, by kind of change. `changed` may also hold "containers" (drift). */
export function describeChange(olds: ServiceArgs, news: ServiceArgs, changed: string[]): string {
    const parts = (Object.keys(WORDS) as Array<keyof typeof WORDS>).flatMap((kind) => {
        const fields = changed.filter((k) => SERVICE_CHANGES[k as keyof ServiceArgs]?.kind === kind);
        return fields.length ? [WORDS[kind](fields, olds, news)] : [];
    });
    if (changed.includes("containers")) parts.push("repair drift: replace containers that are missing, exited, unhealthy or of another revision");
    return parts.join("; ") || "no input change (what drifted from the last up, if anything, is repaired)";
}
