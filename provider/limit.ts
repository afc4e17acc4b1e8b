// Bounded concurrency toward one daemon: a Docker engine or HAProxy socket asked for hundreds of
// things at once answers "socket hang up" or EAGAIN instead of working through them.
import pLimit from "p-limit";

/** Per Docker engine or load balancer; enough to keep both cores busy. */
export const DAEMON_CONCURRENCY = 8;

export function mapLimited<T, R>(items: T[], fn: (item: T) => Promise<R>, concurrency = DAEMON_CONCURRENCY): Promise<R[]> {
    const limit = pLimit(concurrency);
    return Promise.all(items.map((item) => limit(() => fn(item))));
}

/** One limit per key (a node's name): work toward one daemon stays bounded while work toward others runs beside it. */
export function limitPer(concurrency = DAEMON_CONCURRENCY): (key: string) => pLimit.Limit {
    const limits = new Map<string, pLimit.Limit>();
    return (key) => limits.get(key) ?? limits.set(key, pLimit(concurrency)).get(key)!;
}
