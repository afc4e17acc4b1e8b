// Step: pin the revision. The image pinned to a digest and everything that makes a container what it
// is.
import { ContainerLimits, ContainerSpec } from "../../docker/host";
import { dockerHealthcheck } from "../../docker/health";
import { revisionOf, specHash } from "../../canonical";
import { containerName, LABEL, ownerLabels } from "../../docker/labels";
import { resolveDigest } from "../../docker/pull";
import { versionOf } from "../../registry/reference";
import { DEFAULTS, ServiceArgs, ServiceState } from "../../model";
import { containerDefinition } from "../../changes";
import { Owner } from "./owner";
import { Nodes } from "./observe";

/** Limits Docker changes in place: not part of the revision, so changing them starts no release. */
export function limitsOf(args: ServiceArgs): ContainerLimits {
    const policy = args.restartPolicy ?? { name: "unless-stopped" };
    return {
        nanoCpus: args.cpus ? Math.round(args.cpus * 1e9) : undefined,
        memoryBytes: args.memoryMb ? args.memoryMb * 1024 * 1024 : undefined,
        restartPolicy: { Name: policy.name, MaximumRetryCount: policy.name === "on-failure" ? policy.maxAttempts : undefined },
    };
}

/** The service's revision: the image pinned to a digest and everything that makes a container what it is. */
export interface Revision {
    imageDigest: string;
    hash: string;
    revision: string;
}

/**
 * An unchanged tag keeps the digest it was last resolved to: a moved tag is not a release until the
 * image input changes. A state whose create failed records the digest as "": none was kept.
 */
export const keptDigest = (previous: Partial<ServiceArgs> | undefined, args: ServiceArgs): string | undefined =>
    previous && previous.image === args.image && !args.image.includes("@") ? previous.imageDigest || undefined : undefined;

/** The digest the preview showed (check resolved it); else the last release's for an unchanged tag; else resolved now. */
export async function revisionFor(
    args: ServiceArgs,
    previous: ServiceState | undefined,
    nodes: Nodes,
    progress: (l: string) => void,
): Promise<Revision> {
    const usableHosts = nodes.views.filter((v) => v.reachable && v.schedulable).map((v) => nodes.hosts.get(v.name)!);
    const imageDigest = args.imageDigest ?? keptDigest(previous, args) ?? (await resolveDigest(args.image, args.registries, usableHosts, progress));
    return revisionWith(args, imageDigest);
}

export function revisionWith(args: ServiceArgs, imageDigest: string): Revision {
    const hash = specHash(containerDefinition(args, imageDigest));
    return { imageDigest, hash, revision: revisionOf(hash) };
}

export function containerSpecFor(args: ServiceArgs, owner: Owner, rev: Revision): (slot: number) => ContainerSpec {
    return (slot) => ({
        name: containerName(args.name, owner.id, slot, rev.revision),
        image: rev.imageDigest,
        env: args.env ?? {},
        command: args.command,
        labels: {
            [LABEL.managed]: "true",
            [LABEL.cluster]: args.cluster.name,
            [LABEL.service]: args.name,
            [LABEL.revision]: rev.revision,
            [LABEL.slot]: String(slot),
            [LABEL.specHash]: rev.hash,
            [LABEL.version]: versionOf(args.image),
            ...ownerLabels(owner.stack, owner.id),
        },
        ports: (args.ports ?? []).map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort ?? 0 })),
        healthcheck: dockerHealthcheck(args.healthCheck, args.ports?.[0]?.containerPort),
        limits: limitsOf(args),
        diskQuotaMb: args.diskQuotaMb,
        stopGracePeriodSeconds: args.stopGracePeriodSeconds ?? DEFAULTS.stopGracePeriodSeconds,
    });
}
