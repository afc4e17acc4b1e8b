// The provider plugin as users install it: `npm run plugin:package` builds the tarball, the real
// `pulumi plugin install --file` unpacks it into a fresh PULUMI_HOME, and the installed launcher,
// started as the engine starts it, answers the provider protocol with berth's schema and version.
import * as assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import * as os from "os";
import * as path from "path";

const REPO = path.resolve(__dirname, "..", "..", "..");
const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdkDir] }));
const providerRpc = require(path.join(sdkDir, "proto", "provider_grpc_pb.js"));
const providerProto = require(path.join(sdkDir, "proto", "provider_pb.js"));
const { Empty } = require("google-protobuf/google/protobuf/empty_pb.js");

const call = <T>(fn: (cb: (err: Error | null, res: T) => void) => void) =>
    new Promise<T>((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));

describe("the provider plugin as a tarball, installed with pulumi plugin install", function () {
    this.timeout(180_000);
    const version = JSON.parse(readFileSync(path.join(REPO, "schema.json"), "utf8")).version as string;
    const home = mkdtempSync(path.join(os.tmpdir(), "berth-pulumi-home-"));
    const env = { ...process.env, PULUMI_HOME: home };
    let plugin: ChildProcess | undefined;

    after(() => {
        plugin?.kill();
        rmSync(home, { recursive: true, force: true });
    });

    it("installs from the tarball, and the installed plugin serves berth's schema and version", async () => {
        const tarball = execFileSync("bash", [path.join(REPO, "scripts", "plugin-package.sh")], { encoding: "utf8" }).trim();
        const pulumi = path.join(process.env.BERTH_PULUMI_BIN as string, "pulumi");
        execFileSync(pulumi, ["plugin", "install", "resource", "berth", version, "--file", tarball], { env, stdio: "pipe" });
        const listed = JSON.parse(execFileSync(pulumi, ["plugin", "ls", "--json"], { env, encoding: "utf8" }));
        const installed = listed.find((p: any) => p.name === "berth" && p.kind === "resource");
        assert.equal(installed?.version, version, JSON.stringify(listed));

        // Started as the engine starts a plugin: it prints the port it serves on.
        plugin = spawn(path.join(home, "plugins", `resource-berth-v${version}`, "pulumi-resource-berth"), [], {
            env: { ...process.env, BERTH_ROOT: "" },
            stdio: ["ignore", "pipe", "inherit"],
        });
        const port = await new Promise<string>((resolve, reject) => {
            plugin!.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim()));
            plugin!.once("exit", (code) => reject(new Error(`the installed plugin exited with ${code}`)));
        });
        const client = new providerRpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        try {
            const info: any = await call((cb) => client.getPluginInfo(new Empty(), cb));
            assert.equal(info.getVersion(), version);
            const schema: any = await call((cb) => client.getSchema(new providerProto.GetSchemaRequest(), cb));
            assert.deepEqual(JSON.parse(schema.getSchema()), JSON.parse(readFileSync(path.join(REPO, "schema.json"), "utf8")));
        } finally {
            client.close();
        }
    });
});
