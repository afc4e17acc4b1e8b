// Copy-forward between bucket registries with skopeo (a well-kept tool that speaks the registry
// protocol, keeps digests and retries), each copy verified by digest; and what a bucket holds.
import { execFile } from "child_process";
import Docker from "dockerode";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { promisify } from "util";
import { NodeConnection } from "../docker/connection";
import { NodeSpec } from "../model";
import { Progress } from "../progress";
import { BucketAccess, BucketHost, BucketRegistry } from "./bucketHost";
import { Carry, InUse, keepTag, selectCarry, TagInfo } from "./carry";
import { RegistryClient } from "../registry/client";
import { parseReference } from "../registry/reference";

const run = promisify(execFile);

export async function skopeoCopy(source: string, destination: string, access: BucketAccess): Promise<void> {
    // The password goes in an auth file readable by this user only, never on a command line (ps shows those).
    const dir = mkdtempSync(path.join(tmpdir(), "berth-skopeo-"));
    try {
        const { username, password } = access.users[0];
        const auth = Buffer.from(`${username}:${password}`).toString("base64");
        const hosts = [source, destination].map((ref) => ref.split("/")[0]);
        writeFileSync(path.join(dir, "auth.json"), JSON.stringify({ auths: Object.fromEntries(hosts.map((h) => [h, { auth }])) }), { mode: 0o600 });
        // skopeo trusts the *.crt in a cert dir besides the system's CAs.
        const certs = access.tls.ca ? [path.join(dir, "certs")] : [];
        for (const c of certs) {
            mkdirSync(c);
            writeFileSync(path.join(c, "ca.crt"), access.tls.ca!);
        }
        const certArgs = certs.flatMap((c) => [`--src-cert-dir=${c}`, `--dest-cert-dir=${c}`]);
        await run(
            "skopeo",
            [
                "copy",
                "--all",
                "--preserve-digests",
                "--insecure-policy",
                "--retry-times",
                "3",
                `--authfile=${path.join(dir, "auth.json")}`,
                ...certArgs,
                `docker://${source}`,
                `docker://${destination}`,
            ],
            { timeout: 300_000 },
        );
    } catch (e: any) {
        throw new Error(`skopeo copy ${source} -> ${destination} failed: ${String(e?.stderr || e?.message).trim()}`);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

export async function tagsOf(client: RegistryClient, host: BucketHost, registry: BucketRegistry, repository: string): Promise<TagInfo[]> {
    const tags = await client.tags(repository);
    const times = await host.store.pushTimes(registry.bucket, registry.containerId, repository, tags);
    return Promise.all(tags.map(async (tag) => ({ tag, digest: (await client.manifest(repository, tag)).digest, pushedAt: times.get(tag)! })));
}

/** Digest of repository:tag in the registry, or undefined when it does not have it. */
async function digestIn(client: RegistryClient, repository: string, reference: string): Promise<string | undefined> {
    try {
        return (await client.manifest(repository, reference)).digest;
    } catch (e: any) {
        if (e?.status === 404) return undefined;
        throw e;
    }
}

/**
 * Copies from `source` into `target` the newest `keep` tags of every repository and every image in
 * use, skipping what the target already holds, and checks each copy's digest. Returns one line per copy.
 */
export async function carryForward(
    host: BucketHost,
    source: BucketRegistry,
    target: BucketRegistry,
    keep: number,
    inUse: InUse[],
    progress: Progress,
): Promise<string[]> {
    const from = host.client(source);
    const to = host.client(target);
    const done: string[] = [];
    for (const repository of await from.repositories()) {
        const carry = selectCarry(repository, await tagsOf(from, host, source, repository), keep, inUse);
        for (const c of carry) {
            const destinationTag = c.tag === c.digest ? keepTag(c.digest) : c.tag;
            if ((await digestIn(to, repository, destinationTag)) === c.digest) continue;
            await skopeoCopy(`${source.address}/${repository}${refSuffix(c)}`, `${target.address}/${repository}:${destinationTag}`, host.access);
            const copied = await digestIn(to, repository, destinationTag);
            if (copied !== c.digest)
                throw new Error(
                    `copy of ${repository}:${c.tag} from ${source.bucket} to ${target.bucket} has digest ${copied}, expected ${c.digest}: not purging anything`,
                );
            const line = `copied ${repository}:${destinationTag} (${c.why}) ${source.bucket} -> ${target.bucket}, digest ${c.digest} verified`;
            progress(line);
            done.push(line);
        }
    }
    return done;
}

const refSuffix = (c: Carry) => (c.tag === c.digest ? `@${c.digest}` : `:${c.tag}`);

/** In-use images `registry` holds that `target` does not (by digest): what a purge of `registry` would lose. */
export async function missingInUse(host: BucketHost, registry: BucketRegistry, target: BucketRegistry, inUse: InUse[]): Promise<string[]> {
    const from = host.client(registry);
    const to = host.client(target);
    const missing: string[] = [];
    for (const u of inUse) {
        const digest = await digestIn(from, u.repository, u.digest ?? u.tag!);
        if (digest && (await digestIn(to, u.repository, digest)) !== digest) missing.push(`${u.repository}@${digest}`);
    }
    return missing;
}

/**
 * Images the cluster's containers (any state: a stopped one may be restarted) were created from,
 * through the stable address or any bucket's own address.
 */
export async function imagesInUse(nodes: NodeSpec[], ours: (server: string) => boolean, progress: Progress): Promise<InUse[]> {
    const found: InUse[] = [];
    for (const node of nodes) {
        let containers: Docker.ContainerInfo[];
        try {
            containers = await new NodeConnection(node).docker(30_000).listContainers({ all: true });
        } catch (e: any) {
            // A node that does not answer may run anything: refuse to guess.
            throw new Error(`cannot tell which images node ${node.name} uses (its Docker does not answer: ${e?.message ?? e}); nothing is purged`);
        }
        for (const c of containers) {
            const ref = parseReference(c.Image);
            if (ours(ref.server)) found.push({ repository: ref.repository, digest: ref.digest, tag: ref.digest ? undefined : ref.tag });
        }
    }
    const unique = [...new Map(found.map((u) => [`${u.repository}@${u.digest ?? u.tag}`, u])).values()];
    if (unique.length) progress(`images in use on the cluster: ${unique.map((u) => `${u.repository}@${u.digest ?? u.tag}`).join(", ")}`);
    return unique;
}

/** One repository of a bucket. */
export interface BucketRepository {
    /** Repository name, as in `<address>/<name>:<tag>`. */
    name: string;
    /** Its tags. */
    tags: string[];
}

export interface BucketContents {
    /** The bucket's repositories and their tags. */
    repositories: BucketRepository[];
    /** Distinct blobs the bucket's tags reference. */
    blobs: number;
    /** Total size of those blobs in bytes. */
    bytes: number;
}

export async function contentsOf(host: BucketHost, registry: BucketRegistry): Promise<BucketContents> {
    const client = host.client(registry);
    const repositories: BucketContents["repositories"] = [];
    const blobs = new Map<string, number>();
    const walk = async (repository: string, reference: string): Promise<void> => {
        const m = await client.manifest(repository, reference);
        for (const b of m.blobs) blobs.set(b.digest, b.size);
        for (const child of m.children) await walk(repository, child);
    };
    for (const name of await client.repositories()) {
        const tags = (await client.tags(name)).sort();
        for (const tag of tags) await walk(name, tag);
        repositories.push({ name, tags });
    }
    return { repositories, blobs: blobs.size, bytes: [...blobs.values()].reduce((a, b) => a + b, 0) };
}
