// Pure parsing of image references and the choice of credentials for them.
import { RegistryCredentials } from "../model";

export interface ImageReference {
    /** Registry host[:port] as written (docker.io when the reference names none). */
    server: string;
    /** Repository path inside the registry (library/x for Docker Hub's official images). */
    repository: string;
    /** The reference without tag or digest, as written. */
    name: string;
    tag?: string;
    digest?: string;
}

export function parseReference(ref: string): ImageReference {
    const at = ref.indexOf("@");
    const digest = at >= 0 ? ref.slice(at + 1) : undefined;
    let name = at >= 0 ? ref.slice(0, at) : ref;
    const colon = name.lastIndexOf(":");
    const tag = colon > name.lastIndexOf("/") ? name.slice(colon + 1) : undefined;
    if (tag !== undefined) name = name.slice(0, colon);
    const slash = name.indexOf("/");
    const first = slash >= 0 ? name.slice(0, slash) : "";
    // Docker's rule: the first component names a registry when it has a dot or a port, or is localhost.
    const hasServer = /[.:]/.test(first) || first === "localhost";
    const server = hasServer ? first : "docker.io";
    let repository = hasServer ? name.slice(slash + 1) : name;
    if (server === "docker.io" && !repository.includes("/")) repository = `library/${repository}`;
    return { server, repository, name, tag: tag ?? (digest ? undefined : "latest"), digest };
}

/** What monitoring shows as a container's version: the tag, or the digest when the reference pins one. */
export function versionOf(ref: string): string {
    const r = parseReference(ref);
    return r.digest ?? r.tag ?? "latest";
}

export function credentialsFor(server: string, registries: RegistryCredentials[] | undefined): RegistryCredentials | undefined {
    const norm = (s: string) =>
        s
            .replace(/^https?:\/\//, "")
            .replace(/\/+$/, "")
            .replace(/^(index\.)?docker\.io$/, "docker.io");
    return (registries ?? []).find((r) => norm(r.server) === norm(server));
}
