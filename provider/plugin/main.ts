// Entry point of the provider plugin `pulumi-resource-berth` (bin/pulumi-resource-berth runs it).
// @pulumi/pulumi's provider.main serves the gRPC protocol; two things it does not do are added
// here: progress lines sent to the engine's log against the resource's URN (so they show under
// the resource in `pulumi up`), and detailed diffs (its Diff handler drops them).
import * as path from "path";
import { provider } from "@pulumi/pulumi";
import { BerthProvider } from "./provider";

// The same gRPC and generated protocol modules as provider.main's server, or instances mismatch.
const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdkDir] }));
const engineProto = require(path.join(sdkDir, "proto", "engine_pb.js"));
const engineRpc = require(path.join(sdkDir, "proto", "engine_grpc_pb.js"));
const providerProto = require(path.join(sdkDir, "proto", "provider_pb.js"));
const providerRpc = require(path.join(sdkDir, "proto", "provider_grpc_pb.js"));

// The engine passes its address as the one positional argument.
const engineAddress = process.argv.slice(2).filter((a) => !a.startsWith("-")).pop();
const engine = engineAddress ? new engineRpc.EngineClient(engineAddress, grpc.credentials.createInsecure()) : undefined;

function logToEngine(urn: string, line: string): void {
    if (!engine) return void console.error(line);
    const req = new engineProto.LogRequest().setSeverity(engineProto.LogSeverity.INFO).setMessage(line).setUrn(urn);
    engine.log(req, (err: Error | null) => {
        if (err) console.error(line);
    });
}

const berth = new BerthProvider(logToEngine);

/** The Diff handler of provider.main's server, with the detailed diff berth computes. */
function diffHandler(call: any, callback: (err: any, resp?: any) => void): void {
    const req = call.request;
    berth.diff(req.getId(), req.getUrn(), req.getOlds().toJavaScript(), req.getNews().toJavaScript()).then(
        (d) => {
            const Kind = providerProto.PropertyDiff.Kind;
            const resp = new providerProto.DiffResponse()
                .setChanges(d.changes ? providerProto.DiffResponse.DiffChanges.DIFF_SOME : providerProto.DiffResponse.DiffChanges.DIFF_NONE)
                .setReplacesList(d.replaces)
                .setDeletebeforereplace(!!d.deleteBeforeReplace)
                .setDiffsList(Object.keys(d.detailedDiff))
                .setHasdetaileddiff(true);
            for (const [k, kind] of Object.entries(d.detailedDiff)) {
                resp.getDetaileddiffMap().set(k, new providerProto.PropertyDiff().setKind(Kind[kind]).setInputdiff(true));
            }
            callback(null, resp);
        },
        (e) => callback(e),
    );
}

const addService = grpc.Server.prototype.addService;
grpc.Server.prototype.addService = function (service: unknown, implementation: object) {
    const impl = service === providerRpc.ResourceProviderService ? Object.assign(Object.create(implementation), { diff: diffHandler }) : implementation;
    return addService.call(this, service, impl);
};

provider.main(berth, process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
});
