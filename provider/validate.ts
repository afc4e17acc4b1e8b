// Pure input validation. Each problem names the property path and what is wrong, so that
// `pulumi preview` fails before anything is touched.
import { ClusterArgs, DEFAULTS, NodeSpec, ServiceArgs, SlbBindingArgs } from "./model";
import { createPrivateKey, X509Certificate } from "crypto";
import { credentialFaults, sshKeyFaults, sshUrl } from "./docker/credentials";
import { PERIOD_KINDS, prefixProblem } from "./rotation/period";
import { RegistryRotationArgs } from "./rotation/rotationModel";
import { Constraint, LABEL_KEY, parseAffinity, parseConstraint } from "./schedule/placement";

export interface Failure {
    property: string;
    reason: string;
}

/** Pulumi passes values not yet known during preview as this sentinel. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
export const isUnknown = (v: unknown): boolean => v === UNKNOWN;

/** Whether a value (deeply) holds something Pulumi does not know yet during preview. */
export const holdsUnknown = (v: unknown): boolean => isUnknown(v) || (typeof v === "object" && v !== null && Object.values(v).some(holdsUnknown));

// Docker's reference grammar, simplified: [registry[:port]/]path[:tag][@digest]
const IMAGE_REF =
    /^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const DNS_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST = /^[a-zA-Z0-9.:-]+$/;

class Checker {
    readonly failures: Failure[] = [];
    fail(property: string, reason: string): void {
        this.failures.push({ property, reason });
    }
    /** Runs `test` only when the value is known. */
    known<T>(value: T, fn: (v: NonNullable<T>) => void): void {
        if (value !== undefined && value !== null && !isUnknown(value)) fn(value as NonNullable<T>);
    }
    integer(property: string, value: unknown, min: number, max: number): void {
        this.known(value, (v) => {
            if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
                this.fail(property, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
            }
        });
    }
    positive(property: string, value: unknown): void {
        this.known(value, (v) => {
            if (typeof v !== "number" || !(v > 0)) this.fail(property, `must be a number above 0, got ${JSON.stringify(v)}`);
        });
    }
    name(property: string, value: unknown): void {
        if (value === undefined || value === null || value === "") return this.fail(property, "is required");
        this.known(value, (v) => {
            if (typeof v !== "string" || !DNS_NAME.test(v)) {
                this.fail(property, `must be lowercase letters, digits and '-', at most 63 characters, got ${JSON.stringify(v)}`);
            }
        });
    }
    stringList(property: string, value: unknown): void {
        this.known(value, (v) => {
            if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) this.fail(property, "must be a list of strings");
        });
    }
}

export function validateDockerEndpoint(c: Checker, property: string, docker: unknown): void {
    c.known(docker, (d) => {
        if (typeof d !== "string") return c.fail(property, "must be a string");
        const m = /^(unix|tcp|ssh):\/\/(.+)$/.exec(d);
        if (!m) return c.fail(property, `must start with unix://, tcp:// or ssh://, got ${JSON.stringify(d)}`);
        if (m[1] === "unix" && !m[2].startsWith("/")) c.fail(property, `unix socket path must be absolute, got ${JSON.stringify(d)}`);
        if (m[1] === "tcp" && !/^[^:/]+:\d+$/.test(m[2])) c.fail(property, `tcp endpoint must be tcp://host:port, got ${JSON.stringify(d)}`);
        if (m[1] === "ssh" && !sshUrl(d))
            c.fail(property, `ssh endpoint must be ssh://[user@]host[:port] with a port from 1 to 65535, got ${JSON.stringify(d)}`);
    });
}

/** A remote node's certificates and keys (parsed, never quoted). */
function validateCredentials(c: Checker, property: string, node: NodeSpec): void {
    c.known(node.docker, () => {
        for (const f of credentialFaults(node, (v) => !isUnknown(v))) c.fail(`${property}.${f.field}`, f.reason);
    });
}

function validateNodes(c: Checker, property: string, nodes: unknown): void {
    c.known(nodes, (ns) => {
        if (!Array.isArray(ns) || ns.length === 0) return c.fail(property, "must list at least one node");
        const seen = new Set<string>();
        (ns as NodeSpec[]).forEach((n, i) => {
            const p = `${property}[${i}]`;
            c.name(`${p}.name`, n.name);
            if (seen.has(n.name)) c.fail(`${p}.name`, `duplicates node ${JSON.stringify(n.name)}`);
            seen.add(n.name);
            if (!n.docker) c.fail(`${p}.docker`, "is required");
            validateDockerEndpoint(c, `${p}.docker`, n.docker);
            if (!n.address) c.fail(`${p}.address`, "is required");
            c.known(n.address, (a) => {
                if (typeof a !== "string" || !HOST.test(a)) c.fail(`${p}.address`, `must be an IP address or host name, got ${JSON.stringify(a)}`);
            });
            c.known(n.cloud, (cl) => {
                if (cl.instanceId !== undefined && cl.eniId !== undefined) c.fail(`${p}.cloud`, "takes instanceId or eniId, not both");
                for (const key of ["instanceId", "eniId"] as const) {
                    c.known(cl[key], (v) => {
                        if (typeof v !== "string" || v.trim() === "")
                            c.fail(`${p}.cloud.${key}`, `must be a non-empty string, got ${JSON.stringify(v)}`);
                    });
                }
            });
            c.known(n.schedulable, (s) => {
                if (typeof s !== "boolean") c.fail(`${p}.schedulable`, "must be true or false");
            });
            validateCredentials(c, p, n);
            c.known(n.labels, (labels) => {
                for (const key of Object.keys(labels)) {
                    if (!LABEL_KEY.test(key))
                        c.fail(`${p}.labels.${key}`, `no placement constraint can address this key: use letters, digits, '_', '.', '-' and '/'`);
                }
            });
        });
    });
}

function validateRegistries(c: Checker, registries: unknown): void {
    c.known(registries, (rs) => {
        if (!Array.isArray(rs)) return c.fail("registries", "must be a list of {server, username, password}");
        rs.forEach((r, i) => {
            for (const key of ["server", "username", "password"]) {
                const v = r?.[key];
                // (never quote the value: it may be the password)
                if (!isUnknown(v) && (typeof v !== "string" || v === "")) c.fail(`registries[${i}].${key}`, "is required (a non-empty string)");
            }
            c.known(r?.server, (s) => {
                if (typeof s === "string" && s && !HOST.test(s.replace(/^https?:\/\//, "")))
                    c.fail(`registries[${i}].server`, `must be a registry host[:port], got ${JSON.stringify(s)}`);
            });
            c.known(r?.ca, (pem) => {
                try {
                    new X509Certificate(pem);
                } catch {
                    c.fail(`registries[${i}].ca`, "is not a PEM certificate (-----BEGIN CERTIFICATE-----)");
                }
            });
        });
    });
}

export function validateCluster(args: Partial<ClusterArgs>): Failure[] {
    const c = new Checker();
    c.name("name", args.name);
    validateNodes(c, "nodes", args.nodes);
    validateRegistries(c, args.registries);
    return c.failures;
}

export function validateImage(c: Checker, image: unknown): void {
    if (!image) return c.fail("image", "is required");
    c.known(image, (i) => {
        if (typeof i !== "string" || !IMAGE_REF.test(i)) {
            c.fail("image", `is not a valid image reference (expected [registry/]name[:tag][@sha256:digest]), got ${JSON.stringify(i)}`);
        }
    });
}

export function validateService(args: Partial<ServiceArgs>): Failure[] {
    const c = new Checker();
    c.name("name", args.name);
    validateImage(c, args.image);
    c.known(
        args.cluster?.nodes,
        (ns) => Array.isArray(ns) && ns.forEach((n, i) => c.known(n, (node) => validateCredentials(c, `cluster.nodes[${i}]`, node))),
    );
    c.integer("replicas", args.replicas, 0, 1000);
    c.known(args.ports, (ports) => {
        if (!Array.isArray(ports)) return c.fail("ports", "must be a list");
        const hostPorts = new Set<number>();
        const containerPorts = new Set<number>();
        ports.forEach((p, i) => {
            c.integer(`ports[${i}].containerPort`, p.containerPort ?? "missing", 1, 65535);
            if (containerPorts.has(p.containerPort)) c.fail(`ports[${i}].containerPort`, `duplicates container port ${p.containerPort}`);
            containerPorts.add(p.containerPort);
            c.integer(`ports[${i}].hostPort`, p.hostPort, 1, 65535);
            if (p.hostPort !== undefined && hostPorts.has(p.hostPort)) c.fail(`ports[${i}].hostPort`, `duplicates host port ${p.hostPort}`);
            if (p.hostPort !== undefined) hostPorts.add(p.hostPort);
        });
    });
    c.known(args.env, (env) => {
        if (typeof env !== "object" || Array.isArray(env)) return c.fail("env", "must be a map of names to strings");
        for (const [k, v] of Object.entries(env)) {
            if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) c.fail(`env.${k}`, "is not a valid variable name");
            if (typeof v !== "string" && !isUnknown(v)) c.fail(`env.${k}`, "must be a string");
        }
    });
    c.stringList("command", args.command);
    c.known(args.restartTrigger, (t) => {
        if (typeof t !== "string") c.fail("restartTrigger", "must be a string");
    });
    c.known(args.healthCheck, (h) => {
        if (h.httpPath !== undefined && h.command !== undefined) c.fail("healthCheck", "set httpPath or command, not both");
        c.known(h.httpPath, (p) => {
            if (typeof p !== "string" || !p.startsWith("/")) c.fail("healthCheck.httpPath", `must start with '/', got ${JSON.stringify(p)}`);
        });
        c.stringList("healthCheck.command", h.command);
        c.integer("healthCheck.port", h.port, 1, 65535);
        c.known(h.port, (port) => {
            const ports = Array.isArray(args.ports) ? args.ports.map((p) => p.containerPort) : undefined;
            if (ports && !ports.some(isUnknown) && !ports.includes(port))
                c.fail("healthCheck.port", `${port} is not one of the service's container ports (${ports.join(", ") || "none"})`);
        });
        c.positive("healthCheck.intervalSeconds", h.intervalSeconds);
        c.positive("healthCheck.timeoutSeconds", h.timeoutSeconds);
        c.integer("healthCheck.retries", h.retries, 1, 100);
        c.integer("healthCheck.startPeriodSeconds", h.startPeriodSeconds, 0, 3600);
    });
    c.positive("cpus", args.cpus);
    c.integer("memoryMb", args.memoryMb, 6, 1024 * 1024);
    c.integer("diskQuotaMb", args.diskQuotaMb, 1, 1024 * 1024 * 1024);
    c.known(args.restartPolicy, (r) => {
        if (!["no", "on-failure", "always", "unless-stopped"].includes(r.name)) {
            c.fail("restartPolicy.name", `must be "no", "on-failure", "always" or "unless-stopped", got ${JSON.stringify(r.name)}`);
        }
        c.integer("restartPolicy.maxAttempts", r.maxAttempts, 1, 1000);
        if (r.maxAttempts !== undefined && r.name !== "on-failure") c.fail("restartPolicy.maxAttempts", 'only applies to "on-failure"');
    });
    c.integer("stopGracePeriodSeconds", args.stopGracePeriodSeconds, 0, 3600);
    c.known(args.release, (r) => {
        c.positive("release.healthyTimeoutSeconds", r.healthyTimeoutSeconds);
        c.positive("release.lbHealthyTimeoutSeconds", r.lbHealthyTimeoutSeconds);
        c.integer("release.drainTimeoutSeconds", r.drainTimeoutSeconds, 0, 24 * 3600);
        c.integer("release.minAvailable", r.minAvailable, 0, 1000);
        c.known(r.minAvailable, (m) => {
            if (typeof args.replicas === "number" && args.mode !== "global" && m > args.replicas) {
                c.fail("release.minAvailable", `${m} is more than replicas=${args.replicas}: no release could keep that many serving`);
            }
        });
        c.integer("release.batchSize", r.batchSize, 1, 1000);
        c.integer("release.pauseSeconds", r.pauseSeconds, 0, 24 * 3600);
        c.known(r.circuitBreakerShare, (v) => {
            if (typeof v !== "number" || v < 0 || v > 1)
                c.fail("release.circuitBreakerShare", `must be a number from 0 to 1, got ${JSON.stringify(v)}`);
        });
        c.known(r.strategy, (st) => {
            if (st !== "blueGreen" && st !== "stopFirst") c.fail("release.strategy", `must be "blueGreen" or "stopFirst", got ${JSON.stringify(st)}`);
        });
    });
    c.known(args.bindings, (bs) => {
        if (!Array.isArray(bs)) return c.fail("bindings", "must be a list");
        const containerPorts = (Array.isArray(args.ports) ? args.ports : []).map((p) => p.containerPort);
        const names = new Set<string>();
        bs.forEach((b, i) => {
            // CLB weights stop at 100: rejected here rather than scaled, so a weight means the same on every driver.
            c.integer(`bindings[${i}].weight`, b.weight, 1, b.slb?.driver === "aliyun" ? DEFAULTS.aliyunMaxWeight : 256);
            if (b.slb?.driver === "aliyun") {
                for (const n of Array.isArray(args.cluster?.nodes) ? args.cluster!.nodes : []) {
                    if (!isUnknown(n) && !n.cloud?.instanceId && !n.cloud?.eniId) {
                        c.fail(
                            `cluster.nodes[${n.name}].cloud`,
                            `binding ${b.slb.name} is an Aliyun CLB: every node needs cloud.instanceId (ECS) or cloud.eniId`,
                        );
                    }
                }
            }
            c.known(b.slb?.name, (n) => {
                if (names.has(n)) c.fail(`bindings[${i}]`, `binds ${n} twice`);
                names.add(n);
            });
            c.known(b.containerPort, (p) => {
                if (!containerPorts.includes(p))
                    c.fail(`bindings[${i}].containerPort`, `${p} is not one of the service's ports (${containerPorts.join(", ") || "none"})`);
            });
            if (b.containerPort === undefined && Array.isArray(args.ports) && args.ports.length === 0) {
                c.fail(`bindings[${i}]`, "the service publishes no port to bind");
            }
        });
    });
    return c.failures;
}

/** Placement rules that are wrong whatever runs: their syntax, and constraints no node can meet by its labels. */
export function validatePlacement(args: Partial<ServiceArgs>): Failure[] {
    const c = new Checker();
    const p = args.placement;
    c.known(args.mode, (m) => {
        if (m !== "replicated" && m !== "global") c.fail("mode", `must be "replicated" or "global", got ${JSON.stringify(m)}`);
    });
    const constraints: Constraint[] = [];
    c.known(p, (placement) => {
        c.known(placement.constraints, (list) =>
            list.forEach((text, i) =>
                c.known(text, (t) => {
                    try {
                        constraints.push(parseConstraint(t));
                    } catch (e: any) {
                        c.fail(`placement.constraints[${i}]`, e.message);
                    }
                }),
            ),
        );
        c.known(placement.affinity, (list) =>
            list.forEach((text, i) =>
                c.known(text, (t) => {
                    try {
                        parseAffinity(t);
                    } catch (e: any) {
                        c.fail(`placement.affinity[${i}]`, e.message);
                    }
                }),
            ),
        );
        c.integer("placement.maxPerNode", placement.maxPerNode, 1, 1000);
        c.known(placement.zones, (z) => {
            c.integer("placement.zones.count", z.count ?? "missing", 1, 100);
            if (typeof z.count === "number" && typeof args.replicas === "number" && args.mode !== "global" && z.count > args.replicas) {
                c.fail("placement.zones.count", `${z.count} zones cannot be spanned by replicas=${args.replicas}`);
            }
            c.known(z.mode, (m) => {
                if (m !== "hard" && m !== "soft") c.fail("placement.zones.mode", `must be "hard" or "soft", got ${JSON.stringify(m)}`);
            });
        });
    });
    const nodes = args.cluster?.nodes;
    if (c.failures.length || !Array.isArray(nodes) || nodes.some((n) => isUnknown(n) || isUnknown(n.name))) return c.failures;

    constraints.forEach((k, i) => {
        const label = k.key.startsWith("node.labels.") ? k.key.slice("node.labels.".length) : undefined;
        if (label && !nodes.some((n) => n.labels && label in n.labels)) {
            c.fail(
                `placement.constraints[${i}]`,
                `no node has label "${label}" (nodes: ${nodes.map((n) => `${n.name} ${JSON.stringify(n.labels ?? {})}`).join(", ")})`,
            );
        }
    });
    // Whether the replicas fit the eligible nodes is the planner's to say: check runs it on what really runs.
    return c.failures;
}

export function validateSlbBinding(args: Partial<SlbBindingArgs>): Failure[] {
    const c = new Checker();
    c.name("name", args.name);
    c.known(args.driver, (d) => {
        if (d !== "haproxy" && d !== "aliyun") c.fail("driver", `must be "haproxy" or "aliyun", got ${JSON.stringify(d)}`);
    });
    c.known(args.protocol, (p) => {
        if (p !== "tcp" && p !== "http") c.fail("protocol", `must be "tcp" or "http", got ${JSON.stringify(p)}`);
    });
    if (args.driver === "aliyun") validateAliyun(c, args.aliyun);
    else if (!args.haproxy) c.fail("haproxy", "is required");
    c.known(args.haproxy, (h) => {
        for (const key of ["adminSocket", "configPath"] as const) {
            if (!h[key]) c.fail(`haproxy.${key}`, "is required");
            c.known(h[key], (v) => {
                if (typeof v !== "string" || !v.startsWith("/")) c.fail(`haproxy.${key}`, `must be an absolute path, got ${JSON.stringify(v)}`);
            });
        }
        // On another host: reached as the nodes are over SSH, never trusting a host key on first use.
        c.known(h.ssh, (ssh) => {
            for (const key of ["host", "user"] as const) {
                if (!ssh[key]) c.fail(`haproxy.ssh.${key}`, "is required");
                c.known(ssh[key], (v) => {
                    if (typeof v !== "string" || (key === "host" && !HOST.test(v)))
                        c.fail(
                            `haproxy.ssh.${key}`,
                            `must be ${key === "host" ? "an IP address or host name" : "a user name"}, got ${JSON.stringify(v)}`,
                        );
                });
            }
            for (const f of sshKeyFaults(ssh, (v) => !isUnknown(v))) c.fail(`haproxy.ssh.${f.field}`, f.reason);
        });
    });
    if (!args.listen) c.fail("listen", "is required");
    c.known(args.listen, (l) => {
        c.integer("listen.port", l.port ?? "missing", 1, 65535);
        c.known(l.address, (a) => {
            if (typeof a !== "string" || !HOST.test(a)) c.fail("listen.address", `must be an IP address or host name, got ${JSON.stringify(a)}`);
        });
    });
    c.known(args.healthCheck, (h) => {
        c.known(h.httpPath, (p) => {
            if (typeof p !== "string" || !p.startsWith("/")) c.fail("healthCheck.httpPath", `must start with '/', got ${JSON.stringify(p)}`);
        });
        c.integer("healthCheck.intervalMs", h.intervalMs, 100, 600000);
        c.integer("healthCheck.rise", h.rise, 1, 100);
        c.integer("healthCheck.fall", h.fall, 1, 100);
    });
    return c.failures;
}

function validateAliyun(c: Checker, a: SlbBindingArgs["aliyun"]): void {
    if (!a) return c.fail("aliyun", 'is required with driver "aliyun" (loadBalancerId, region)');
    c.known(a, (v) => {
        c.known(v.loadBalancerId, (id) => {
            if (typeof id !== "string" || !/^lb-[a-z0-9]+$/.test(id))
                c.fail("aliyun.loadBalancerId", `must be a CLB instance id like lb-bp1o94dp5i6earr9g6d1l, got ${JSON.stringify(id)}`);
        });
        c.known(v.region, (r) => {
            if (typeof r !== "string" || !/^[a-z]+(-[a-z0-9]+)+$/.test(r))
                c.fail("aliyun.region", `must be a region id like cn-hangzhou, got ${JSON.stringify(r)}`);
        });
        c.known(v.endpoint, (e) => {
            if (typeof e !== "string" || !/^https?:\/\//.test(e)) c.fail("aliyun.endpoint", `must be an http(s) URL, got ${JSON.stringify(e)}`);
        });
        if ((v.accessKeyId === undefined) !== (v.accessKeySecret === undefined))
            c.fail("aliyun.accessKeySecret", "aliyun.accessKeyId and aliyun.accessKeySecret go together (or both from the environment)");
    });
}

export function formatFailures(resource: string, failures: Failure[]): string {
    return `${resource}: invalid input:\n` + failures.map((f) => `  - ${f.property}: ${f.reason}`).join("\n");
}

export function validateRotation(args: Partial<RegistryRotationArgs>): Failure[] {
    const c = new Checker();
    c.name("name", args.name);
    if (!args.prefix) c.fail("prefix", "is required");
    c.known(args.prefix, (p) => {
        const problem = typeof p === "string" ? prefixProblem(p) : "must be a string";
        if (problem) c.fail("prefix", `${problem}, got ${JSON.stringify(p)}`);
    });
    c.known(args.period, (p) => {
        if (!PERIOD_KINDS.includes(p)) c.fail("period", `must be one of ${PERIOD_KINDS.join(", ")}, got ${JSON.stringify(p)}`);
    });
    c.integer("retain", args.retain, 1, 1000);
    c.integer("keepTags", args.keepTags, 0, 10000);
    c.integer("drainTimeoutSeconds", args.drainTimeoutSeconds, 0, 24 * 3600);
    c.known(args.now, (n) => {
        if (typeof n !== "string" || Number.isNaN(Date.parse(n))) c.fail("now", `must be an ISO 8601 date and time, got ${JSON.stringify(n)}`);
    });
    if (!args.node) c.fail("node", "is required");
    c.known(args.cluster?.nodes, (nodes) => {
        c.known(args.node, (n) => {
            if (!nodes.some((x) => x.name === n))
                c.fail("node", `${JSON.stringify(n)} is not a node of cluster ${args.cluster!.name} (nodes: ${nodes.map((x) => x.name).join(", ")})`);
        });
    });
    c.known(args.storage, (s) => {
        if (s.kind !== "volume" && s.kind !== "s3")
            return c.fail("storage.kind", `must be "volume" or "s3", got ${JSON.stringify((s as { kind: unknown }).kind)}`);
        if (s.kind === "s3" && !s.region) c.fail("storage.region", "is required for s3 storage");
        if (s.kind === "s3" && Boolean(s.accessKey) !== Boolean(s.secretKey))
            c.fail("storage.secretKey", "accessKey and secretKey go together (or neither, for instance credentials)");
    });
    if (!args.binding) c.fail("binding", "is required (the stable address for push and pull)");
    c.known(args.binding, (b) => {
        // TLS ends at the bucket registries: HTTP mode, or an HTTP health check, would speak plain HTTP to them.
        if (!isUnknown(b.protocol) && b.protocol !== "tcp")
            c.fail(
                "binding",
                `must forward connections (protocol "tcp"), so that TLS reaches the bucket registries; got protocol ${JSON.stringify(b.protocol ?? "http")}`,
            );
        if (b.healthCheck?.httpPath)
            c.fail("binding", "must not have healthCheck.httpPath: the bucket registries answer HTTPS only (a TCP check is used)");
    });
    validateRotationTls(c, args);
    validateRotationUsers(c, args.users);
    return c.failures;
}

/** The certificate and key parse, belong together and name every address clients use (never quoted). */
function validateRotationTls(c: Checker, args: Partial<RegistryRotationArgs>): void {
    if (args.tls === undefined || args.tls === null)
        return c.fail("tls", "is required: {certificate, key, ca?} (the bucket registries serve HTTPS only)");
    c.known(args.tls, (tls) => {
        let certificate: X509Certificate | undefined;
        c.known(tls.certificate, (pem) => {
            try {
                certificate = new X509Certificate(pem);
            } catch {
                c.fail("tls.certificate", "is not a PEM certificate (-----BEGIN CERTIFICATE-----)");
            }
        });
        if (!tls.certificate) c.fail("tls.certificate", "is required: a PEM certificate");
        if (!tls.key) c.fail("tls.key", "is required: the certificate's PEM private key");
        c.known(tls.key, (pem) => {
            try {
                if (certificate && !certificate.checkPrivateKey(createPrivateKey(pem)))
                    c.fail("tls.key", "is not the private key of tls.certificate");
            } catch {
                // The parser's message can echo parts of the input: say only what it is not.
                c.fail("tls.key", "is not an unencrypted PEM private key");
            }
        });
        c.known(tls.ca, (pem) => {
            try {
                new X509Certificate(pem);
            } catch {
                c.fail("tls.ca", "is not a PEM certificate (-----BEGIN CERTIFICATE-----)");
            }
        });
        if (!certificate) return;
        const node = args.cluster?.nodes?.find((n) => n.name === args.node);
        for (const [what, host] of [
            ["the binding's listen address", args.binding?.listen?.address],
            [`node ${args.node}'s address`, node?.address],
        ] as const) {
            if (typeof host !== "string" || isUnknown(host) || !host) continue;
            const named = /^[\d.]+$|:/.test(host) ? certificate.checkIP(host) : certificate.checkHost(host);
            if (!named) c.fail("tls.certificate", `does not name ${host} (${what}): clients would refuse it`);
        }
    });
}

function validateRotationUsers(c: Checker, users: unknown): void {
    if (users === undefined || users === null) return c.fail("users", "is required: at least one {username, password} (anyone else is refused)");
    c.known(users, (us) => {
        if (!Array.isArray(us) || us.length === 0) return c.fail("users", "must be a list of at least one {username, password}");
        const seen = new Set<string>();
        us.forEach((u, i) => {
            c.known(u?.username, (name) => {
                if (typeof name !== "string" || !/^[^:\s]+$/.test(name))
                    c.fail(`users[${i}].username`, `must be a non-empty name without ':' or spaces, got ${JSON.stringify(name)}`);
                else if (seen.has(name)) c.fail(`users[${i}].username`, `${JSON.stringify(name)} is listed twice`);
                else seen.add(name);
            });
            if (!u?.username) c.fail(`users[${i}].username`, "is required");
            if (!u?.password) c.fail(`users[${i}].password`, "is required (a secret)");
            c.known(u?.password, (p) => {
                if (typeof p !== "string") c.fail(`users[${i}].password`, "must be a string");
            });
        });
    });
}
