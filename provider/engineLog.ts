// The engine's log. The engine starts a plugin (berth's, or Pulumi's dynamic provider host) with its
// address as the one positional argument; a line sent there shows under the resource whose URN it
// carries (or among the run's diagnostics without one), and a warning as a warning.
import * as path from "path";

/** status: an info line the next status replaces (Pulumi shows it beside the resource while it runs, not among the lasting lines). */
export type Severity = "info" | "warning" | "status";

const address = process.argv
    .slice(2)
    .filter((a) => !a.startsWith("-"))
    .pop();
let engine: { client: any; proto: any } | undefined;

// The same gRPC and generated protocol modules as the SDK's, loaded only in a process the engine started.
function connect(): { client: any; proto: any } | undefined {
    if (engine || !address || !/^[^\s/]+:\d+$/.test(address)) return engine;
    const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdkDir] }));
    const rpc = require(path.join(sdkDir, "proto", "engine_grpc_pb.js"));
    engine = { client: new rpc.EngineClient(address, grpc.credentials.createInsecure()), proto: require(path.join(sdkDir, "proto", "engine_pb.js")) };
    return engine;
}

/** Sends a line to the engine's log; false when this process has no engine to send to. */
export function logToEngine(urn: string, line: string, severity: Severity = "info"): boolean {
    const e = connect();
    if (!e) return false;
    const level = severity === "warning" ? e.proto.LogSeverity.WARNING : e.proto.LogSeverity.INFO;
    e.client.log(
        new e.proto.LogRequest()
            .setSeverity(level)
            .setMessage(line)
            .setUrn(urn)
            .setEphemeral(severity === "status"),
        (err: Error | null) => {
            if (err) console.error(line);
        },
    );
    return true;
}
