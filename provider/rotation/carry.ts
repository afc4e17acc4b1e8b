// Pure: which images a new bucket must receive from an older one before the older one may go.

export interface TagInfo {
    tag: string;
    digest: string;
    /** When the tag was pushed (ms since epoch), as its bucket's store recorded it. */
    pushedAt: number;
}

/** An image a container on the cluster was started from: by digest (as berth pins) or by tag. */
export interface InUse {
    repository: string;
    digest?: string;
    tag?: string;
}

export interface Carry {
    repository: string;
    /** Tag to copy from the source; the destination gets the same tag. */
    tag: string;
    digest: string;
    why: "in use" | "newest";
}

/** Tag that keeps an in-use image no tag points to any more. */
export const keepTag = (digest: string) => `in-use-${digest.replace(/^sha256:/, "").slice(0, 12)}`;

/**
 * The newest `keep` tags of a repository by push time, plus every tag of an image in use, oldest push
 * first. An in-use digest no tag points to is listed with tag = its digest (copied by digest, kept under keepTag).
 */
export function selectCarry(repository: string, tags: TagInfo[], keep: number, inUse: InUse[]): Carry[] {
    const used = inUse.filter((u) => u.repository === repository);
    const usedDigests = new Set(used.flatMap((u) => (u.digest ? [u.digest] : [])));
    const usedTags = new Set(used.flatMap((u) => (u.tag ? [u.tag] : [])));
    const newest = new Set(
        [...tags]
            .sort((a, b) => b.pushedAt - a.pushedAt || (a.tag < b.tag ? 1 : -1))
            .slice(0, keep)
            .map((t) => t.tag),
    );
    // Oldest push first: the copies' push times in the new bucket keep the order (as far as the store's clock resolution allows).
    const carry: Carry[] = [...tags]
        .sort((a, b) => a.pushedAt - b.pushedAt)
        .filter((t) => newest.has(t.tag) || usedTags.has(t.tag) || usedDigests.has(t.digest))
        .map((t) => ({ repository, tag: t.tag, digest: t.digest, why: usedTags.has(t.tag) || usedDigests.has(t.digest) ? "in use" : "newest" }));
    const tagged = new Set(tags.map((t) => t.digest));
    for (const digest of usedDigests) if (!tagged.has(digest)) carry.push({ repository, tag: digest, digest, why: "in use" });
    return carry;
}
