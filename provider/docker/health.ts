// Translates a service's health check into Docker's HEALTHCHECK (durations in nanoseconds).
import { DEFAULTS, HealthCheckSpec } from "../model";

const NS = 1e9;

export interface DockerHealthcheck {
    Test: string[];
    Interval: number;
    Timeout: number;
    Retries: number;
    StartPeriod: number;
}

export function dockerHealthcheck(h: HealthCheckSpec | undefined, defaultPort: number | undefined): DockerHealthcheck | undefined {
    if (!h || (!h.httpPath && !h.command)) return undefined;
    let test: string[];
    if (h.command) {
        test = ["CMD", ...h.command];
    } else {
        // An argv, never a shell line: a path such as /health?a=1&b=2 must reach wget whole.
        test = ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${h.port ?? defaultPort ?? 80}${h.httpPath}`];
    }
    return {
        Test: test,
        Interval: Math.round((h.intervalSeconds ?? DEFAULTS.healthIntervalSeconds) * NS),
        Timeout: Math.round((h.timeoutSeconds ?? DEFAULTS.healthTimeoutSeconds) * NS),
        Retries: h.retries ?? DEFAULTS.healthRetries,
        StartPeriod: Math.round((h.startPeriodSeconds ?? DEFAULTS.healthStartPeriodSeconds) * NS),
    };
}
