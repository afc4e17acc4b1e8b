// The traffic shift on load balancer pools, one for a service's containers and a rotation's bucket
// registries: new backends join every binding at weight 0 (gated), get weight once every load
// balancer calls them healthy; old ones go to weight 0, drain until no request is in flight (or by
// time where the load balancer counts none), then leave the pool.
import { few, Progress, throttled } from "../progress";
import { Backend, isDrained, isLbHealthy, SlbDriver } from "../slb/driver";
import { DeadlineError, sleep, waitUntil } from "../wait";

/** A binding as a shift acts on it: a pool on a load balancer, and the weight its backends serve with. */
export interface Binding {
    /** The listener/pool name on the load balancer. */
    pool: string;
    driver: SlbDriver;
    weight: number;
}

/** How long a wait may take, and the setting that says so (named when it runs out). */
export interface Bound {
    seconds: number;
    setting: string;
}

/** Backends to serve in one binding. */
export interface Arrival {
    binding: Binding;
    backends: Backend[];
}

export interface ShiftOptions {
    /** How long every load balancer may take to call the new backends healthy. */
    lbHealthy: Bound;
    progress: Progress;
    /**
     * Called with the names of the backends not healthy yet, on every poll of the wait: throws (a
     * FatalError) to end the wait at once when they cannot get healthy (their node is gone).
     */
    failFast?: (waiting: string[]) => Promise<void>;
}

/** Registers backends at weight 0 where missing (again where they moved), waits until every load balancer sees them healthy, then raises their weight. */
export async function shiftTo(arrivals: Arrival[], opts: ShiftOptions): Promise<void> {
    // Only what is missing or not at its weight is touched: backends already serving usually need nothing.
    // Every binding at once: one load balancer's answers do not wait for another's.
    const pending: Array<{ binding: Binding; name: string }> = [];
    await Promise.all(
        arrivals.map(async ({ binding, backends }) => {
            const present = new Map((await binding.driver.backends(binding.pool)).map((b) => [b.name, b]));
            // A container restarted by its Docker (an engine restart) gets a new ephemeral host port.
            const moved = backends.filter((b) => {
                const was = present.get(b.name);
                return was !== undefined && (was.address !== b.address || was.port !== b.port);
            });
            if (moved.length) {
                opts.progress(`${few(moved.map((b) => b.name))} now answer at another address: registering them again in ${binding.pool}`);
                await binding.driver.removeBackends(
                    binding.pool,
                    moved.map((b) => b.name),
                );
                moved.forEach((b) => present.delete(b.name));
            }
            await binding.driver.addBackends(
                binding.pool,
                backends.filter((b) => !present.has(b.name)),
            );
            for (const b of backends) if (present.get(b.name)?.weight !== binding.weight) pending.push({ binding, name: b.name });
        }),
    );
    if (pending.length === 0) return;
    const status = throttled(opts.progress);
    await waitUntil(
        async () => {
            const waiting: string[] = [];
            const names: string[] = [];
            const seen = await Promise.all(arrivals.map(({ binding }) => binding.driver.backends(binding.pool)));
            for (const [i, { binding }] of arrivals.entries()) {
                const byName = new Map(seen[i].map((b) => [b.name, b]));
                for (const { name } of pending.filter((p) => p.binding === binding)) {
                    const b = byName.get(name);
                    if (!b || !isLbHealthy(b)) {
                        waiting.push(`${name} in ${binding.pool} (${b ? `${b.status} ${b.checkStatus}` : "missing"})`);
                        names.push(name);
                    }
                }
            }
            if (waiting.length === 0) return true;
            await opts.failFast?.([...new Set(names)]);
            status(`waiting for load balancer health: ${few(waiting)}`);
            return undefined;
        },
        {
            timeoutSeconds: opts.lbHealthy.seconds,
            what: `load balancers to report the new backends healthy (${opts.lbHealthy.setting})`,
            intervalMs: 250,
            cancellable: true,
        },
    );
    await Promise.all(
        arrivals.map(({ binding }) =>
            binding.driver.setWeights(
                binding.pool,
                pending.filter((p) => p.binding === binding).map((p) => ({ name: p.name, weight: binding.weight })),
            ),
        ),
    );
    opts.progress(`traffic on ${few([...new Set(pending.map((p) => p.name))])} in ${[...new Set(pending.map((p) => p.binding.pool))].join(", ")}`);
}

export interface DrainOptions {
    /** How long requests in flight may take to finish; where the load balancer counts none, the drain waits all of it. */
    bound: Bound;
    progress: Progress;
    /** What the backends are, for progress lines (default: their names). */
    subject?: string;
}

/** Sets weight 0 in every pool holding them and waits until no request is in flight or queued, bounded by the drain timeout. */
export async function drain(bindings: Binding[], names: string[], opts: DrainOptions): Promise<void> {
    if (names.length === 0) return;
    const wanted = new Set(names);
    const subject = opts.subject ?? few(names);
    const { seconds, setting } = opts.bound;
    const holds = await Promise.all(
        bindings.map(async (binding) => {
            const present = (await binding.driver.backends(binding.pool)).filter((b) => wanted.has(b.name));
            await binding.driver.setWeights(
                binding.pool,
                present.filter((b) => b.weight !== 0).map((b) => ({ name: b.name, weight: 0 })),
            );
            return present.length > 0;
        }),
    );
    const holding = bindings.filter((_, i) => holds[i]);
    if (holding.length === 0) return;
    // berth:drain-by-time (issue 15) — a load balancer that reports no in-flight count is drained by time.
    const timed = holding.filter((binding) => !binding.driver.countsInFlight);
    if (timed.length) {
        opts.progress(
            `draining ${subject} by time in ${timed.map((b) => b.pool).join(", ")}: ${seconds}s (${setting} must outlast the longest request)`,
        );
        await sleep(seconds * 1000);
    }
    // berth:drain-by-time end
    const status = throttled(opts.progress, 2000);
    try {
        await waitUntil(
            async () => {
                let inFlight = 0;
                for (const backends of await Promise.all(holding.map((binding) => binding.driver.backends(binding.pool))))
                    for (const b of backends) if (wanted.has(b.name) && !isDrained(b)) inFlight += b.sessions + b.queued;
                if (inFlight === 0) return true;
                status(`draining ${subject}: ${inFlight} request(s) still in flight`);
                return undefined;
            },
            { timeoutSeconds: seconds, what: "old backends to drain", intervalMs: 200 },
        );
    } catch (e) {
        if (!(e instanceof DeadlineError)) throw e;
        opts.progress(`drain timeout (${setting}=${seconds}s) reached for ${subject}; removing them with requests still in flight`);
    }
}

/** Removes the backends from every pool that holds them; drain them first. */
export async function deregister(bindings: Binding[], names: string[]): Promise<void> {
    const wanted = new Set(names);
    for (const binding of bindings) {
        await binding.driver.removeBackends(
            binding.pool,
            (await binding.driver.backends(binding.pool)).filter((b) => wanted.has(b.name)).map((b) => b.name),
        );
    }
}
