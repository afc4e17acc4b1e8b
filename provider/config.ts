// What a stack sets once, under the `berth:` configuration namespace (`pulumi config set berth:<key>`),
// with environment defaults. The TypeScript resources read it with pulumi.Config("berth") in the
// program; the provider plugin gets it in Configure. Either way it becomes the resources' inputs, so
// a preview shows what it changes, and changing it never replaces a resource.
import { AliyunEndpoint, ReleaseSpec, ServiceArgs, SlbBindingArgs } from "./model";

export interface BerthConfig {
    /**
     * berth:aliyunAccessKeyId and berth:aliyunAccessKeySecret (set it with --secret): the access key of
     * a binding that names none, kept in the state as a secret. Without them, the environment's
     * ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET where `pulumi` runs (read then, never stored).
     */
    aliyunAccessKeyId?: string;
    aliyunAccessKeySecret?: string;
    /** berth:aliyunRegion, else ALIBABA_CLOUD_REGION_ID: the region of a binding that names none. */
    aliyunRegion?: string;
    /** berth:release, a JSON object: release settings every Service starts from (its own `release` wins per field). */
    release?: ReleaseSpec;
}

export const CONFIG_KEYS: Array<keyof BerthConfig> = ["aliyunAccessKeyId", "aliyunAccessKeySecret", "aliyunRegion", "release"];

/** The configuration from its keys' values (strings, as Pulumi gives them); the region defaults to the environment's. */
export function readConfig(value: (key: keyof BerthConfig) => string | undefined, env: NodeJS.ProcessEnv = process.env): BerthConfig {
    const config: BerthConfig = {};
    const set = {
        aliyunAccessKeyId: value("aliyunAccessKeyId"),
        aliyunAccessKeySecret: value("aliyunAccessKeySecret"),
        aliyunRegion: value("aliyunRegion") ?? env.ALIBABA_CLOUD_REGION_ID,
    };
    for (const [key, v] of Object.entries(set) as Array<[keyof typeof set, string | undefined]>) if (v) config[key] = v;
    const release = value("release");
    if (release) {
        let parsed: unknown;
        try {
            parsed = JSON.parse(release);
        } catch (e: any) {
            throw new Error(`berth:release must be a JSON object of release settings: ${e?.message ?? e}`);
        }
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
            throw new Error(`berth:release must be a JSON object of release settings, got ${release}`);
        config.release = parsed as ReleaseSpec;
    }
    return config;
}

/** A Service's release settings over the stack's defaults. */
export function releaseWithDefaults(release: ReleaseSpec | undefined, config: BerthConfig): ReleaseSpec | undefined {
    return config.release ? { ...config.release, ...(release ?? {}) } : release;
}

/** An Aliyun binding's endpoint with the stack's region and access key where it names none. */
export function aliyunWithDefaults<T extends Partial<AliyunEndpoint>>(aliyun: T, config: BerthConfig): T {
    return {
        ...aliyun,
        ...(aliyun.region || !config.aliyunRegion ? {} : { region: config.aliyunRegion }),
        ...(aliyun.accessKeyId || !config.aliyunAccessKeyId
            ? {}
            : { accessKeyId: config.aliyunAccessKeyId, accessKeySecret: config.aliyunAccessKeySecret }),
    } as T;
}

/** The plugin's inputs with the stack's defaults (TypeScript resources apply them in their constructors). */
export function withConfigDefaults(token: string, inputs: Record<string, any>, config: BerthConfig): Record<string, any> {
    if (token === "berth:index:Service") {
        const release = releaseWithDefaults((inputs as ServiceArgs).release, config);
        return release ? { ...inputs, release } : inputs;
    }
    if (token === "berth:index:SlbBinding" && (inputs as SlbBindingArgs).driver === "aliyun" && inputs.aliyun) {
        return { ...inputs, aliyun: aliyunWithDefaults(inputs.aliyun, config) };
    }
    return inputs;
}
