// Makes many inline-program runs in one process safe (tests, benchmarks).
//
// The Node SDK leaves each inline run's gRPC clients to the engine and the resource monitor open:
// its disconnect closes only the clients of a program run by the language host. grpc-js shares
// subchannels between channels to the same address, so when a later engine listens on a port an
// earlier run's engine used, the new run's channel inherits that run's dead subchannel in reconnect
// backoff and its first call fails at once with "14 UNAVAILABLE: No connection established. Last
// error: null": the `up` fails in a second, before any resource. A subchannel pool of each channel's
// own keeps a run's connection its own.
import * as settings from "@pulumi/pulumi/runtime/settings";

const LOCAL_SUBCHANNEL_POOL = "grpc.use_local_subchannel_pool";

export function isolateInlineRunChannels(): void {
    const options = (settings as unknown as { grpcClientOptions?: Record<string, unknown> }).grpcClientOptions;
    if (!options) throw new Error("@pulumi/pulumi/runtime/settings has no grpcClientOptions: see scripts/lib/inlineRuns.ts");
    options[LOCAL_SUBCHANNEL_POOL] = 1;
}
