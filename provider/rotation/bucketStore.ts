// Where a rotation's buckets live, behind one interface: Docker volumes on the registries' node, or
// buckets of an S3-compatible store. Each bucket records its owner; push times come from the store,
// since the registry API does not say when a tag was pushed.
import {
    CreateBucketCommand,
    DeleteBucketCommand,
    DeleteObjectsCommand,
    GetBucketTaggingCommand,
    ListBucketsCommand,
    ListObjectsV2Command,
    PutBucketTaggingCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import Docker from "dockerode";
import { LABEL, ownerLabels } from "../docker/labels";
import { BucketStorage, DATA_DIR } from "./config";

/** Who a bucket belongs to: the rotation's stack and the owner id minted at its create. */
export interface BucketOwner {
    stack?: string;
    id: string;
    /** Buckets made before owners (none recorded) are this resource's: its state lists the rotation. */
    adoptsUnowned: boolean;
}

export const ROTATION_LABEL = {
    rotation: "berth.rotation",
    bucket: "berth.bucket",
    mode: "berth.bucket-mode",
    access: "berth.bucket-access",
} as const;

export interface BucketStore {
    /** Makes the bucket unless it is there; fails when another owner's bucket has its name. */
    create(bucket: string): Promise<void>;
    /** This owner's buckets named `<prefix>-...`, with or without a registry running on them. */
    list(prefix: string): Promise<string[]>;
    /** Volume binds of the bucket's registry container. */
    binds(bucket: string): string[];
    /** When each tag was last pushed, ms since the epoch; `containerId` is a registry serving the bucket. */
    pushTimes(bucket: string, containerId: string, repository: string, tags: string[]): Promise<Map<string, number>>;
    /** Drops the bucket and everything in it. */
    remove(bucket: string): Promise<void>;
}

/** The key the registry writes when a tag is pushed: its modification time is the push time. */
const tagLinkKey = (repository: string, tag: string) => `docker/registry/v2/repositories/${repository}/_manifests/tags/${tag}/current/link`;

/** "belongs to stack org/p/s (owner o1234567)" for an error that names whose a bucket is. */
const whose = (stack: string | undefined, owner: string | undefined) => `${stack ? `stack ${stack}` : "another stack"} (owner ${owner})`;

/**
 * A bucket is this rotation's when it records this owner, or the same stack (the rotation a replace
 * deleted: its registries stopped, its buckets stayed), or no owner at all for a state made before owners.
 */
function ownedBy(owner: BucketOwner, found: { stack?: string; owner?: string }): boolean {
    if (!found.owner) return owner.adoptsUnowned;
    return found.owner === owner.id || (owner.stack !== undefined && found.stack === owner.stack);
}

/** HEAD /containers/{id}/archive, which dockerode has no type for: the answer's headers hold the file's stat. */
type ArchiveInfo = { infoArchive(o: { path: string }): Promise<{ headers: Record<string, string> }> };

export class VolumeStore implements BucketStore {
    constructor(
        private readonly docker: Docker,
        private readonly rotation: string,
        private readonly owner: BucketOwner,
    ) {}

    async create(bucket: string): Promise<void> {
        // Creating a volume that exists returns it unchanged: its labels say whose it is.
        const labels = { [ROTATION_LABEL.rotation]: this.rotation, [ROTATION_LABEL.bucket]: bucket, ...ownerLabels(this.owner.stack, this.owner.id) };
        await this.docker.createVolume({ Name: bucket, Labels: labels });
        const found = (await this.docker.getVolume(bucket).inspect()).Labels ?? {};
        if (!ownedBy(this.owner, { stack: found[LABEL.stack], owner: found[LABEL.owner] })) {
            const owner = whose(found[LABEL.stack], found[LABEL.owner]);
            throw new Error(`bucket ${bucket} (a volume on the node) belongs to ${owner}: give this rotation another prefix`);
        }
    }

    async list(prefix: string): Promise<string[]> {
        const { Volumes } = await this.docker.listVolumes({ filters: { label: [`${ROTATION_LABEL.rotation}=${this.rotation}`] } });
        return (Volumes ?? [])
            .filter((v) => v.Name.startsWith(`${prefix}-`) && ownedBy(this.owner, { stack: v.Labels?.[LABEL.stack], owner: v.Labels?.[LABEL.owner] }))
            .map((v) => v.Labels[ROTATION_LABEL.bucket]);
    }

    binds(bucket: string): string[] {
        return [`${bucket}:${DATA_DIR}`];
    }

    async pushTimes(_bucket: string, containerId: string, repository: string, tags: string[]): Promise<Map<string, number>> {
        const times = new Map<string, number>();
        for (const tag of tags) {
            const link = `${DATA_DIR}/${tagLinkKey(repository, tag)}`;
            // The stat comes as base64 JSON in a header of the raw response dockerode hands back.
            const container = this.docker.getContainer(containerId) as unknown as ArchiveInfo;
            const response = await container.infoArchive({ path: link });
            const header = response.headers["x-docker-container-path-stat"];
            const time = header ? Date.parse(JSON.parse(Buffer.from(header, "base64").toString("utf8")).mtime) : NaN;
            if (!time) throw new Error(`no push time for ${repository}:${tag}: Docker gave no time for ${link} (${header ?? "no stat header"})`);
            times.set(tag, time);
        }
        return times;
    }

    async remove(bucket: string): Promise<void> {
        await this.docker.getVolume(bucket).remove();
    }
}

type S3Storage = Extract<BucketStorage, { kind: "s3" }>;

/** Tags on an S3 bucket carrying its owner, as container labels do. */
const OWNER_TAGS = { stack: "berth.stack", owner: "berth.owner", rotation: "berth.rotation" } as const;

export class S3Store implements BucketStore {
    private readonly s3: S3Client;
    private readonly region: string;
    constructor(
        storage: S3Storage,
        private readonly rotation: string,
        private readonly owner: BucketOwner,
    ) {
        const secure = storage.secure ?? true;
        const given = storage.regionEndpoint;
        const endpoint = given && !given.includes("://") ? `${secure ? "https" : "http"}://${given}` : given;
        this.s3 = new S3Client({
            region: storage.region,
            endpoint,
            forcePathStyle: storage.forcePathStyle ?? false,
            // Without a key: the credential chain of this machine (environment, profile, instance role), as the registry's own.
            ...(storage.accessKey ? { credentials: { accessKeyId: storage.accessKey, secretAccessKey: storage.secretKey! } } : {}),
            maxAttempts: 4,
        });
        this.region = storage.region;
    }

    async create(bucket: string): Promise<void> {
        try {
            await this.s3.send(
                new CreateBucketCommand({
                    Bucket: bucket,
                    // us-east-1 is the one region that takes no location constraint.
                    ...(this.region !== "us-east-1" ? { CreateBucketConfiguration: { LocationConstraint: this.region as never } } : {}),
                }),
            );
            await this.s3.send(
                new PutBucketTaggingCommand({
                    Bucket: bucket,
                    Tagging: {
                        TagSet: Object.entries({ ...this.ownerTags(), [OWNER_TAGS.rotation]: this.rotation }).map(([Key, Value]) => ({ Key, Value })),
                    },
                }),
            );
            return;
        } catch (e: any) {
            if (e?.name === "BucketAlreadyExists") {
                throw new Error(`S3 bucket ${bucket} exists and belongs to another account: give this rotation another prefix`);
            }
            if (e?.name !== "BucketAlreadyOwnedByYou") throw this.failure(`create bucket ${bucket}`, e);
        }
        const found = await this.ownerOf(bucket);
        if (!ownedBy(this.owner, found)) {
            throw new Error(`S3 bucket ${bucket} belongs to ${whose(found.stack, found.owner)}: give this rotation another prefix`);
        }
    }

    async list(prefix: string): Promise<string[]> {
        const { Buckets } = await this.attempt("list buckets", () => this.s3.send(new ListBucketsCommand({})));
        const named = (Buckets ?? []).map((b) => b.Name!).filter((n) => n.startsWith(`${prefix}-`));
        const owners = await Promise.all(named.map((n) => this.ownerOf(n)));
        return named.filter((_, i) => ownedBy(this.owner, owners[i]));
    }

    binds(): string[] {
        return [];
    }

    async pushTimes(bucket: string, _containerId: string, repository: string, tags: string[]): Promise<Map<string, number>> {
        // One listing per repository (not a request per tag): the tags' link objects and their times.
        const modified = new Map<string, number>();
        const prefix = `docker/registry/v2/repositories/${repository}/_manifests/tags/`;
        for (let token: string | undefined, first = true; first || token; first = false) {
            const page = await this.attempt(`list tags of ${repository} in bucket ${bucket}`, () =>
                this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })),
            );
            for (const o of page.Contents ?? []) if (o.Key && o.LastModified) modified.set(o.Key, o.LastModified.getTime());
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
        }
        return new Map(
            tags.map((tag) => {
                const time = modified.get(tagLinkKey(repository, tag));
                if (!time) throw new Error(`no push time for ${repository}:${tag} in S3 bucket ${bucket}: no object ${tagLinkKey(repository, tag)}`);
                return [tag, time];
            }),
        );
    }

    async remove(bucket: string): Promise<void> {
        for (;;) {
            const page = await this.attempt(`list bucket ${bucket}`, () => this.s3.send(new ListObjectsV2Command({ Bucket: bucket })));
            const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
            if (!keys.length) break;
            const done = await this.attempt(`empty bucket ${bucket}`, () =>
                this.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } })),
            );
            const failed = (done.Errors ?? []).map((e) => `${e.Key}: ${e.Message}`);
            if (failed.length) throw new Error(`cannot empty S3 bucket ${bucket}: ${failed.join("; ")}`);
        }
        await this.attempt(`remove bucket ${bucket}`, () => this.s3.send(new DeleteBucketCommand({ Bucket: bucket })));
    }

    private ownerTags(): Record<string, string> {
        return { ...(this.owner.stack ? { [OWNER_TAGS.stack]: this.owner.stack } : {}), [OWNER_TAGS.owner]: this.owner.id };
    }

    private async ownerOf(bucket: string): Promise<{ stack?: string; owner?: string }> {
        try {
            const { TagSet } = await this.s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
            const tag = (key: string) => TagSet?.find((t) => t.Key === key)?.Value;
            return { stack: tag(OWNER_TAGS.stack), owner: tag(OWNER_TAGS.owner) };
        } catch (e: any) {
            // A bucket without tags (made before owners, or by hand) records no owner.
            if (e?.name === "NoSuchTagSet" || e?.name === "NoSuchTagSetError") return {};
            throw this.failure(`read the tags of bucket ${bucket}`, e);
        }
    }

    private async attempt<T>(what: string, request: () => Promise<T>): Promise<T> {
        try {
            return await request();
        } catch (e) {
            throw this.failure(what, e);
        }
    }

    private failure(what: string, e: any): Error {
        return new Error(`S3: cannot ${what}: ${e?.name ?? "error"}: ${e?.message ?? e}`);
    }
}

export function bucketStore(storage: BucketStorage, docker: Docker, rotation: string, owner: BucketOwner): BucketStore {
    return storage.kind === "s3" ? new S3Store(storage, rotation, owner) : new VolumeStore(docker, rotation, owner);
}
