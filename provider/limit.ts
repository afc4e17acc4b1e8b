// Bounded concurrency toward one daemon: a Docker engine or HAProxy socket asked for hundreds of
// things at once answers "socket hang up" or EAGAIN instead of working through them.
import pLimit from "p-limit";

/** Per Docker engine or load balancer; enough to keep both cores busy. */
export const DAEMON_CONCURRENCY = 8;

export function mapLimited<T, R>(items: T[], fn: (item: T) => Promise<R>, concurrency = DAEMON_CONCURRENCY): Promise<R[]> {
    const limit = pLimit(concurrency);
    return Promise.all(items.map((item) => limit(() => fn(item))));
}

export function settleLimited<T, R>(items: T[], fn: (item: T) => Promise<R>, concurrency = DAEMON_CONCURRENCY): Promise<PromiseSettledResult<R>[]> {
    const limit = pLimit(concurrency);
    return Promise.allSettled(items.map((item) => limit(() => fn(item))));
}
