// Pure: the configuration a bucket's registry receives. JSON is valid YAML, so no YAML writer is needed.

/** Where a bucket's data lives: a Docker volume on the node (local default) or an S3-compatible bucket. */
export type BucketStorage =
    | { kind: "volume" }
    | {
          kind: "s3";
          region: string;
          /** Endpoint of an S3-compatible store (Aliyun OSS, Ceph RGW, MinIO); AWS when omitted. */
          regionEndpoint?: string;
          accessKey?: string;
          /** A secret. */
          secretKey?: string;
          /** Path-style URLs (Ceph RGW, MinIO). */
          forcePathStyle?: boolean;
          secure?: boolean;
      };

/** Where the registry keeps a volume bucket inside its container. */
export const DATA_DIR = "/var/lib/registry";
export const CONFIG_PATH = "/etc/docker/registry/config.yml";
/** The certificate (chain), its key and the htpasswd file, beside the configuration (none in the environment or labels). */
export const TLS_CERTIFICATE_PATH = "/etc/docker/registry/tls.crt";
export const TLS_KEY_PATH = "/etc/docker/registry/tls.key";
export const HTPASSWD_PATH = "/etc/docker/registry/htpasswd";
export const REGISTRY_PORT = 5000;

export function registryConfig(bucket: string, storage: BucketStorage, readOnly: boolean): Record<string, unknown> {
    const driver =
        storage.kind === "s3"
            ? {
                  s3: {
                      bucket,
                      region: storage.region,
                      ...(storage.regionEndpoint ? { regionendpoint: storage.regionEndpoint } : {}),
                      ...(storage.accessKey ? { accesskey: storage.accessKey, secretkey: storage.secretKey } : {}),
                      forcepathstyle: storage.forcePathStyle ?? false,
                      secure: storage.secure ?? true,
                      rootdirectory: "/",
                  },
              }
            : { filesystem: { rootdirectory: DATA_DIR } };
    return {
        version: 0.1,
        log: { level: "info", fields: { bucket } },
        storage: {
            ...driver,
            delete: { enabled: true },
            // A retained bucket takes no pushes; nothing ever needs a stop-the-world garbage collection:
            // old buckets are dropped whole.
            maintenance: { readonly: { enabled: readOnly } },
        },
        // HTTPS only (a plain-HTTP request gets 400), and nothing without a user's password: whoever
        // reaches the port could otherwise replace an image production pulls.
        http: { addr: `:${REGISTRY_PORT}`, tls: { certificate: TLS_CERTIFICATE_PATH, key: TLS_KEY_PATH, minimumtls: "tls1.2" } },
        auth: { htpasswd: { realm: "berth", path: HTPASSWD_PATH } },
    };
}

export const renderRegistryConfig = (bucket: string, storage: BucketStorage, readOnly: boolean): string =>
    JSON.stringify(registryConfig(bucket, storage, readOnly), null, 2) + "\n";
