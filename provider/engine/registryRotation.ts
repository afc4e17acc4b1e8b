// RegistryBucketRotation: a registry whose storage is a bucket per period. Each run: make sure the
// current bucket's registry runs; copy forward what is in use and the newest tags; move the stable
// address to it (a Service release's traffic shift: health-gated, old one drained); copy again what
// was pushed during the switch; turn older buckets read-only; purge beyond `retain`, never losing an
// image in use.
import type * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../canonical";
import { mintOwnerId } from "../docker/labels";
import { DEFAULTS } from "../model";
import { few, progressFor, Progress } from "../progress";
import { deregister, drain, Binding, shiftTo } from "../rollout/shift";
import { BucketHost, BucketRegistry, DEFAULT_REGISTRY_IMAGE } from "../rotation/bucketHost";
import { BucketOwner } from "../rotation/bucketStore";
import { carryForward, contentsOf, imagesInUse, missingInUse } from "../rotation/copy";
import { bucketName, newestFirst, periodOf, retention } from "../rotation/period";
import { LB_HEALTHY_BOUND, lbHealthySecondsOf, RegistryRotationArgs, RegistryRotationState, ROTATION_DEFAULTS } from "../rotation/rotationModel";
import { Failure, formatFailures, isUnknown, validateRotation } from "../validate";
import { FatalError } from "../wait";
import { storedProviderChanged } from "./storedProvider";
import { driverFor } from "./world";

export function currentBucketOf(args: RegistryRotationArgs): string {
    return bucketName(args.prefix, periodOf(args.now ? new Date(args.now) : new Date(), args.period ?? ROTATION_DEFAULTS.period));
}

const stableAddress = (args: RegistryRotationArgs) => `${args.binding.listen.address}:${args.binding.listen.port}`;
const backendName = (r: BucketRegistry) => `${r.bucket}-${r.containerId.slice(0, 8)}`;

/**
 * Whom a rotation acts for: its stack and the owner id minted at its create. A state written before
 * owners has none: it gets one now and keeps the registries and buckets that record no owner.
 */
function ownerOf(args: Pick<RegistryRotationArgs, "stack">, ownerId: string | undefined): BucketOwner {
    return { stack: args.stack, id: ownerId ?? mintOwnerId(), adoptsUnowned: ownerId === undefined };
}

function hostOf(args: RegistryRotationArgs, owner: BucketOwner): BucketHost {
    const node = args.cluster.nodes.find((n) => n.name === args.node);
    if (!node) throw new Error(`node ${args.node} is not in cluster ${args.cluster.name}`);
    return new BucketHost(
        node,
        args.name,
        args.image ?? DEFAULT_REGISTRY_IMAGE,
        { tls: args.tls, users: args.users },
        args.storage ?? { kind: "volume" },
        owner,
    );
}

/** The rotation's binding as a traffic shift acts on it: the bucket registries serve at the default weight. */
const poolOf = (args: RegistryRotationArgs): Binding => ({
    pool: args.binding.name,
    driver: driverFor(args.binding, args.cluster.nodes),
    weight: DEFAULTS.weight,
});

/**
 * Points the stable address at `current` only: it joins at weight 0 (CLB: the gate weight) and gets
 * weight once the load balancer calls it healthy; the others go to weight 0, drain (by time where the load balancer counts
 * no requests in flight) and leave the pool.
 */
async function switchStable(args: RegistryRotationArgs, host: BucketHost, current: BucketRegistry, progress: Progress): Promise<void> {
    const binding = poolOf(args);
    const [address, port] = current.address.split(":");
    await shiftTo([{ binding, backends: [{ name: backendName(current), address, port: Number(port) }] }], {
        lbHealthy: { seconds: lbHealthySecondsOf(args.binding), setting: LB_HEALTHY_BOUND.setting },
        progress,
        // A registry that stopped will not get healthy: no use waiting out the bound.
        failFast: async () => {
            const now = (await host.list()).find((r) => r.containerId === current.containerId);
            if (!now?.running) throw new FatalError(`bucket ${current.bucket}'s registry ${now ? "stopped" : "disappeared"} on node ${args.node}`);
        },
    });
    const others = (await binding.driver.backends(binding.pool)).map((b) => b.name).filter((n) => n !== backendName(current));
    if (!others.length) return;
    progress(`stable address ${stableAddress(args)} now on ${current.bucket}`);
    const bucketOf = new Map((await host.list()).map((r) => [backendName(r), r.bucket]));
    await drain([binding], others, {
        bound: { seconds: args.drainTimeoutSeconds ?? ROTATION_DEFAULTS.drainTimeoutSeconds, setting: "drainTimeoutSeconds" },
        progress,
        subject: few(others.map((n) => (bucketOf.has(n) ? `bucket ${bucketOf.get(n)}'s registry` : n))),
    });
    await deregister([binding], others);
}

/**
 * Registries started with other TLS or users (or none: before berth gave them any) give way to
 * ones with the rotation's, each started beside the one it replaces; the stable address moves to
 * the successor before its predecessor stops.
 */
async function renewAccess(args: RegistryRotationArgs, host: BucketHost, note: Progress, progress: Progress): Promise<void> {
    const { driver } = poolOf(args);
    for (const r of (await host.list()).filter((r) => r.running && !r.accessCurrent)) {
        note(`bucket ${r.bucket}: restarting its registry with the rotation's TLS and users`);
        const successor = await host.start(r.bucket, r.readOnly);
        if ((await driver.backends(args.binding.name)).some((b) => b.name === backendName(r))) await switchStable(args, host, successor, progress);
        await host.remove(r.containerId);
    }
}

async function reconcile(args: RegistryRotationArgs, owner: BucketOwner): Promise<RegistryRotationState> {
    const progress = progressFor(`registry ${args.name}`);
    const lines: string[] = [];
    const note = (l: string) => {
        progress(l);
        lines.push(l);
    };
    const keepTags = args.keepTags ?? ROTATION_DEFAULTS.keepTags;
    const host = hostOf(args, owner);
    const bucket = currentBucketOf(args);
    await host.ensureImage(progress);
    await renewAccess(args, host, note, progress);

    let registries = await host.list();
    let current = registries.find((r) => r.bucket === bucket && !r.readOnly && r.running);
    if (!current) {
        // A registry container that exited (or a read-only one left by an interrupted run) gives way.
        for (const stale of registries.filter((r) => r.bucket === bucket)) await host.remove(stale.containerId);
        note(`creating bucket ${bucket}`);
        current = await host.start(bucket, false);
    }
    // Ours: the stable address, or any port on the registries' node (a bucket's own address, for rollback).
    const node = args.cluster.nodes.find((n) => n.name === args.node)!;
    const ours = (server: string) => server === stableAddress(args) || server.split(":")[0] === node.address;
    const previous = registries.filter((r) => r.bucket !== bucket && !r.readOnly && r.running);
    let inUse = await imagesInUse(args.cluster.nodes, ours, progress);
    for (const p of previous) lines.push(...(await carryForward(host, p, current, keepTags, inUse, progress)));
    await switchStable(args, host, current, progress);
    // Pushes that completed on the previous bucket while the address moved.
    for (const p of previous) lines.push(...(await carryForward(host, p, current, keepTags, inUse, progress)));
    for (const p of previous) {
        note(`bucket ${p.bucket} read-only from now on`);
        await host.remove(p.containerId);
        await host.start(p.bucket, true);
    }

    registries = await host.list();
    const known = [...new Set([...registries.map((r) => r.bucket), ...(await host.store.list(args.prefix))])];
    const { keep, purge } = retention(args.prefix, bucket, known, args.retain ?? ROTATION_DEFAULTS.retain);
    // Retained buckets serve read-only; buckets to purge are read first, to save what is in use.
    for (const b of [...keep, ...purge].filter((k) => k !== bucket && !registries.some((r) => r.bucket === k && r.running))) {
        note(`bucket ${b} has no running registry: starting it read-only`);
        for (const r of registries.filter((r) => r.bucket === b)) await host.remove(r.containerId);
        await host.start(b, true);
    }
    registries = await host.list();
    inUse = await imagesInUse(args.cluster.nodes, ours, progress);
    const purged: string[] = [];
    for (const b of purge) {
        const registry = registries.find((r) => r.bucket === b && r.running)!;
        // Anything in use that lives only here moves to the current bucket first (carry with keep 0).
        lines.push(...(await carryForward(host, registry, current, 0, inUse, progress)));
        const missing = await missingInUse(host, registry, current, inUse);
        if (missing.length) {
            note(`NOT purging bucket ${b}: images in use are not in ${bucket} yet: ${missing.join(", ")}`);
            continue;
        }
        note(`purging bucket ${b}`);
        for (const r of registries.filter((r) => r.bucket === b)) await host.remove(r.containerId);
        await host.store.remove(b);
        purged.push(b);
    }
    return { ...args, ownerId: owner.id, currentBucket: bucket, ...(await observe(host, args, bucket)), purged, lastRotation: lines };
}

/** What the buckets hold now, current first. */
async function observe(host: BucketHost, args: RegistryRotationArgs, bucket: string): Promise<Pick<RegistryRotationState, "address" | "buckets">> {
    const registries = (await host.list()).filter((r) => r.running);
    const order = newestFirst(
        args.prefix,
        registries.map((r) => r.bucket),
    );
    const buckets = await Promise.all(
        order.map(async (name) => {
            const r = registries.find((x) => x.bucket === name)!;
            return { name, address: r.address, readOnly: r.readOnly, ...(await contentsOf(host, r)) };
        }),
    );
    return { address: stableAddress(args), buckets: [...buckets.filter((b) => b.name === bucket), ...buckets.filter((b) => b.name !== bucket)] };
}

const RELEVANT = [
    "node",
    "prefix",
    "period",
    "retain",
    "keepTags",
    "drainTimeoutSeconds",
    "storage",
    "image",
    "tls",
    "users",
    "currentBucket",
] as const;

export const registryRotationProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        const failures: Failure[] = validateRotation(news);
        // The bucket this moment falls in is a computed input: a new period shows in the preview as a change of it.
        const known = failures.length === 0 && ![news.prefix, news.period, news.now].some(isUnknown);
        return { inputs: known ? { ...news, currentBucket: currentBucketOf(news as RegistryRotationArgs) } : news, failures };
    },
    async diff(_id, olds, news) {
        const changed = RELEVANT.filter((k) => canonicalJson(olds[k] ?? null) !== canonicalJson(news[k] ?? null));
        const replaces = ["name", "node"].filter((k) => olds[k] !== news[k]);
        return { changes: changed.length > 0 || replaces.length > 0 || storedProviderChanged(olds, news), replaces, deleteBeforeReplace: true };
    },
    async create(inputs) {
        const args = inputs as RegistryRotationArgs;
        const failures = validateRotation(args);
        if (failures.length) throw new Error(formatFailures(`registry rotation ${args.name}`, failures));
        return { id: `${args.cluster.name}/${args.name}`, outs: await reconcile(args, ownerOf(args, undefined)) };
    },
    async read(id, props) {
        const state = props as RegistryRotationState;
        return { id, props: { ...state, ...(await observe(hostOf(state, ownerOf(state, state.ownerId)), state, state.currentBucket)) } };
    },
    async update(_id, olds, news) {
        return { outs: await reconcile(news as RegistryRotationArgs, ownerOf(news, (olds as RegistryRotationState).ownerId)) };
    },
    async delete(_id, props) {
        // Buckets hold images services may still need: the registries stop, the volumes stay.
        const state = props as RegistryRotationState;
        const host = hostOf(state, ownerOf(state, state.ownerId));
        const { driver } = poolOf(state);
        const registries = await host.list();
        await driver.removeBackends(
            state.binding.name,
            (await driver.backends(state.binding.name)).map((b) => b.name).filter((n) => registries.some((r) => backendName(r) === n)),
        );
        for (const r of registries) await host.remove(r.containerId);
    },
};
