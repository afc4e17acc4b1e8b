// Dynamic providers are serialized as closures into Pulumi state. Serializing the engine itself
// would capture sockets and class instances, so the serialized provider only names the engine
// module and loads it, with `require`, inside the provider process. It names it by package name,
// never by path: state outlives the checkout that wrote it (the next CI job runs from a new path),
// and a path in the closure would make every later delete load the first checkout's files.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { BerthConfig, readConfig } from "../config";

/** The engines a serialized provider may load, as `pulumi-berth/dist/provider/engine/<name>`. */
export type EngineModule = "service" | "slbBinding" | "cluster" | "hook" | "registryRotation";

const providers = new Map<string, pulumi.dynamic.ResourceProvider>();

/**
 * The provider of one engine export. One object per engine, so the SDK serializes it once per
 * program (it caches by object) and every resource of a kind stores the same text.
 */
export function lazyProvider(engine: EngineModule, exportName: string): pulumi.dynamic.ResourceProvider {
    const key = `${engine}#${exportName}`;
    const cached = providers.get(key);
    if (cached) return cached;
    // Resolved from the provider process's working directory: the program's, whose node_modules holds berth.
    const load = (): pulumi.dynamic.ResourceProvider => require(`pulumi-berth/dist/provider/engine/${engine}`)[exportName];
    const provider: pulumi.dynamic.ResourceProvider = {
        check: (olds, news) => load().check!(olds, news),
        diff: (id, olds, news) => load().diff!(id, olds, news),
        create: (inputs) => load().create(inputs),
        read: (id, props) => load().read!(id, props),
        update: (id, olds, news) => load().update!(id, olds, news),
        delete: (id, props) => load().delete!(id, props),
    };
    providers.set(key, provider);
    return provider;
}

/** The directory of the berth package this program loaded (the one that holds dist/). */
export const packageRoot = path.resolve(__dirname, "../../..");

/**
 * Makes an Automation API work directory able to load berth's engines: the dynamic provider runs
 * there, and an inline program's work directory has no node_modules of its own. Links
 * `node_modules/pulumi-berth` to the berth package this process loaded.
 */
export function linkBerthInto(workDir: string): void {
    const link = path.join(workDir, "node_modules", "pulumi-berth");
    fs.mkdirSync(path.dirname(link), { recursive: true });
    let current: string | undefined;
    try {
        current = fs.readlinkSync(link);
    } catch (e: any) {
        // EINVAL: a real package directory (an installed berth) is there: it serves as well.
        if (e.code === "EINVAL") return;
        if (e.code !== "ENOENT") throw e;
    }
    if (current === packageRoot) return;
    if (current !== undefined) fs.unlinkSync(link);
    fs.symlinkSync(packageRoot, link, "dir");
}

/** The stack the program runs as, as owners record it: organization/project/stack. */
export const stackOfProgram = () => `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;

/** The stack's `berth:` configuration as the program sees it (the access key secret apart: read it as a secret). */
export function stackConfig(): BerthConfig {
    const config = new pulumi.Config("berth");
    return readConfig((key) => (key === "aliyunAccessKeySecret" ? undefined : config.get(key)));
}
stackConfig.aliyunAccessKeySecret = () => new pulumi.Config("berth").getSecret("aliyunAccessKeySecret");

/** Marks outputs secret whatever the inputs were: outputs that carry node keys must never be stored in plain text. */
export function withSecretOutputs(opts: pulumi.CustomResourceOptions | undefined, outputs: string[]): pulumi.CustomResourceOptions {
    return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...outputs] };
}
