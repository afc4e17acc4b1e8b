// Image pulls that fail well: the digest is resolved once per release, then pulled on every node
// that will run it before any old container is touched, retried with backoff where retrying helps.
import { RegistryCredentials } from "../model";
import { DAEMON_CONCURRENCY, mapLimited } from "../limit";
import { Progress } from "../progress";
import { RegistryError } from "../registry/client";
import { credentialsFor, parseReference } from "../registry/reference";
import { surroundings } from "../surroundings";
import { sleep } from "../wait";
import { HostClient } from "./host";

/** A few attempts within ~4 s: enough for a registry restart or a dropped connection, short enough to fail a release promptly. */
export const PULL_RETRY = { retries: 3, minTimeout: 500, factor: 2 };

/** What a registry or Docker says when retrying cannot help: bad credentials, unknown repository/tag/digest, bad reference. */
const FINAL = /unauthori[sz]ed|authentication required|no basic auth credentials|denied|manifest unknown|not found|unknown|invalid reference/i;

export function isRetryable(e: any): boolean {
    if (e instanceof RegistryError) return e.retryable;
    return !FINAL.test(String(e?.message ?? e));
}

/** Runs `fn`, again after a backoff on the operation's clock while what it failed with is retryable. */
export async function withRetry<T>(what: string, progress: Progress, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn();
        } catch (e: any) {
            if (!isRetryable(e) || attempt > PULL_RETRY.retries) {
                throw Object.assign(new Error(`${e?.message ?? e}${attempt > 1 ? ` (after ${attempt} attempts)` : ""}`), { cause: e });
            }
            progress(`${what} failed (attempt ${attempt} of ${PULL_RETRY.retries + 1}), retrying: ${e?.message ?? e}`);
            await sleep(PULL_RETRY.minTimeout * PULL_RETRY.factor ** (attempt - 1));
        }
    }
}

/**
 * repo@sha256 for the image by a manifest lookup at its registry (with the cluster's credentials): no
 * pull, so preview can use it. `unreachable` says why when the registry cannot be reached from here
 * (a node may still reach it); a registry that answers with an error fails it.
 */
export async function lookupDigest(
    image: string,
    registries: RegistryCredentials[] | undefined,
    progress: Progress,
): Promise<{ digest?: string; unreachable?: string }> {
    const ref = parseReference(image);
    if (ref.digest) return { digest: image };
    const client = surroundings().registryFor(ref.server, credentialsFor(ref.server, registries));
    try {
        const manifest = await withRetry(`manifest lookup of ${image} at ${ref.server}`, progress, () => client.manifest(ref.repository, ref.tag!));
        return { digest: `${ref.name}@${manifest.digest}` };
    } catch (e: any) {
        if (!(e.cause instanceof RegistryError) || e.cause.status !== undefined) throw new Error(`cannot resolve image ${image}: ${e.message}`);
        return { unreachable: e.message };
    }
}

/** repo@sha256 for the image, once per release: from the registry, or, when only the nodes reach it, by a node's pull of the tag. */
export async function resolveDigest(
    image: string,
    registries: RegistryCredentials[] | undefined,
    hosts: HostClient[],
    progress: Progress,
): Promise<string> {
    const { digest, unreachable } = await lookupDigest(image, registries, progress);
    if (digest) {
        if (digest !== image) progress(`image ${image} resolved to ${digest} by the registry`);
        return digest;
    }
    progress(`${unreachable}; resolving through a node instead`);
    return resolveOnNode(image, parseReference(image).name, hosts, progress, unreachable!);
}

/** The node's pull sees the registry's current tag; its RepoDigest is the digest every node then runs. */
async function resolveOnNode(image: string, name: string, hosts: HostClient[], progress: Progress, lookupError: string): Promise<string> {
    const errors: string[] = [];
    for (const h of hosts) {
        try {
            await withRetry(`pull of ${image} on node ${h.node}`, progress, () => h.ensureImage(image, progress));
            const digest = await h.localDigest(image);
            if (digest?.startsWith(name + "@")) {
                progress(`image ${image} resolved to ${digest} on ${h.node}`);
                return digest;
            }
            errors.push(`${h.node}: image has no registry digest (was it pushed to a registry?)`);
        } catch (e: any) {
            errors.push(e?.message ?? String(e));
        }
    }
    throw new Error(`cannot resolve image ${image} to a digest: ${lookupError}; on the nodes: ${errors.join("; ") || "no reachable node"}`);
}

/** Pulls the digest on every given node (those that lack it); fails naming each node and quoting the registry. */
export async function prePull(digestRef: string, hosts: HostClient[], progress: Progress): Promise<void> {
    const failures: string[] = [];
    await mapLimited(
        hosts,
        async (h) => {
            try {
                await withRetry(`pull of ${digestRef} on node ${h.node}`, progress, () => h.ensureImage(digestRef, progress));
            } catch (e: any) {
                failures.push(e.message);
            }
        },
        DAEMON_CONCURRENCY,
    );
    if (failures.length) throw new Error(`image not available on every node that will run it; no container was touched: ${failures.join("; ")}`);
}
