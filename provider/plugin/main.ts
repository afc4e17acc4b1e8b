// Entry point of the provider plugin `pulumi-resource-berth` (bin/pulumi-resource-berth runs it).
// @pulumi/pulumi's provider.main serves the gRPC protocol; three things it does not do are added
// here: progress lines sent to the engine's log against the resource's URN (so they show under
// the resource in `pulumi up`), detailed diffs (its Diff handler drops them), and previews of a
// create or an update that give the outputs the inputs already say (it cannot tell a preview from
// `up`, so it says it supports none, and the engine shows every output not among the inputs as unknown).
import * as path from "path";
import { provider } from "@pulumi/pulumi";
import { BerthProvider } from "./provider";
import { logToEngine } from "../engineLog";
import { withDeadline } from "../wait";

// The same gRPC and generated protocol modules as provider.main's server, or instances mismatch.
const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdkDir] }));
const providerProto = require(path.join(sdkDir, "proto", "provider_pb.js"));
const providerRpc = require(path.join(sdkDir, "proto", "provider_grpc_pb.js"));
const structProto = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [sdkDir] }));

const berth = new BerthProvider((urn, line, severity) => {
    if (!logToEngine(urn, line, severity)) console.error(line);
});

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

type Handler = (this: unknown, call: any, callback: (err: any, resp?: any) => void) => void;

/** provider.main's Configure, also taking the stack's `berth:` keys and saying that Create and Update take previews (handled below). */
const configureHandler = (configure: Handler): Handler =>
    function (call, callback) {
        try {
            berth.configure(call.request.getArgs()?.toJavaScript() ?? {});
        } catch (e) {
            return callback(e);
        }
        configure.call(this, call, (err, resp) => callback(err, resp?.setSupportspreview(true)));
    };

/** A changed `berth:` key changes the inputs of the resources it reaches (check applies it), never the provider: no replacement. */
function diffConfigHandler(call: any, callback: (err: any, resp?: any) => void): void {
    const changed = berth.configChanged(call.request.getOlds()?.toJavaScript() ?? {}, call.request.getNews()?.toJavaScript() ?? {});
    const Changes = providerProto.DiffResponse.DiffChanges;
    callback(null, new providerProto.DiffResponse().setChanges(changed.length ? Changes.DIFF_SOME : Changes.DIFF_NONE).setDiffsList(changed));
}

/**
 * provider.main's Create or Update for `up`, within the resource's customTimeouts (its release's waits
 * end at the deadline and the unfinished batch rolls back); in a preview, the outputs the inputs say, and nothing run.
 */
function previewingHandler(kind: "create" | "update", run: Handler, inputsOf: (req: any) => any, response: () => any): Handler {
    return function (call, callback) {
        const req = call.request;
        if (!req.getPreview()) {
            const timeout = req.getTimeout();
            if (!(timeout > 0)) return run.call(this, call, callback);
            return withDeadline(timeout, `the ${kind} timeout of ${timeout}s (customTimeouts)`, () => run.call(this, call, callback));
        }
        try {
            const outs = berth.previewOutputs(req.getUrn(), inputsOf(req).toJavaScript());
            callback(null, response().setProperties(structProto.Struct.fromJavaScript(outs)));
        } catch (e) {
            callback(e);
        }
    };
}

const addService = grpc.Server.prototype.addService;
grpc.Server.prototype.addService = function (service: unknown, implementation: Record<string, Handler>) {
    const impl =
        service !== providerRpc.ResourceProviderService
            ? implementation
            : Object.assign(Object.create(implementation), {
                  diff: diffHandler,
                  configure: configureHandler(implementation.configure),
                  diffConfig: diffConfigHandler,
                  create: previewingHandler(
                      "create",
                      implementation.create,
                      (req) => req.getProperties(),
                      () => new providerProto.CreateResponse(),
                  ),
                  update: previewingHandler(
                      "update",
                      implementation.update,
                      (req) => req.getNews(),
                      () => new providerProto.UpdateResponse(),
                  ),
              });
    return addService.call(this, service, impl);
};

provider.main(berth, process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
});
