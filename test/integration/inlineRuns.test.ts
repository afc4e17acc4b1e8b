// Many inline-program runs in one process (every e2e file, the benchmarks): a run whose engine listens on
// a port an earlier run's engine used must connect, not inherit the earlier run's dead connection.
// Real gRPC servers on loopback stand in for two engines, with the SDK's own client and options.
import * as grpc from "@grpc/grpc-js";
import * as engrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engproto from "@pulumi/pulumi/proto/engine_pb";
import * as settings from "@pulumi/pulumi/runtime/settings";
import * as assert from "node:assert/strict";
import "../../scripts/lib/stack";

type ClientOptions = Record<string, unknown>;
const sdkClientOptions = (settings as unknown as { grpcClientOptions: ClientOptions }).grpcClientOptions;

/** An engine that answers GetRootResource, on `port` (0: any free port). */
function startEngine(port: number): Promise<{ server: grpc.Server; port: number }> {
    const server = new grpc.Server();
    server.addService(engrpc.EngineService, {
        getRootResource: (_call: unknown, done: grpc.sendUnaryData<engproto.GetRootResourceResponse>) =>
            done(null, new engproto.GetRootResourceResponse()),
    });
    return new Promise((resolve, reject) =>
        server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
            err ? reject(err) : resolve({ server, port: bound }),
        ),
    );
}

/** The run's first call, as the SDK makes it: undefined when it succeeds, else the error's message. */
function firstCall(client: engrpc.EngineClient): Promise<string | undefined> {
    return new Promise((resolve) => client.getRootResource(new engproto.GetRootResourceRequest(), (err) => resolve(err?.message)));
}

/**
 * A run that ends with its engine while its client stays open (the SDK leaves it so) and makes one more
 * call; then the next run's engine on the same port, and that run's first call with `options`.
 */
async function nextRunOnTheSamePort(options: ClientOptions): Promise<string | undefined> {
    const earlier = await startEngine(0);
    const leftOpen = new engrpc.EngineClient(`127.0.0.1:${earlier.port}`, grpc.credentials.createInsecure(), options);
    assert.equal(await firstCall(leftOpen), undefined);
    earlier.server.forceShutdown();
    assert.match((await firstCall(leftOpen)) ?? "", /UNAVAILABLE/);
    const next = await startEngine(earlier.port);
    const client = new engrpc.EngineClient(`127.0.0.1:${next.port}`, grpc.credentials.createInsecure(), options);
    try {
        return await firstCall(client);
    } finally {
        client.close();
        leftOpen.close();
        next.server.forceShutdown();
    }
}

describe("inline runs in one process (real gRPC on loopback)", () => {
    it("with grpc-js's shared subchannels, the next run inherits the dead connection and fails at once", async () => {
        const shared = { ...sdkClientOptions };
        delete shared["grpc.use_local_subchannel_pool"];
        assert.match((await nextRunOnTheSamePort(shared)) ?? "", /14 UNAVAILABLE: No connection established\. Last error: null/);
    });

    it("with the options berth's stack helper sets, the next run connects", async () => {
        assert.equal(await nextRunOnTheSamePort(sdkClientOptions), undefined);
    });
});
