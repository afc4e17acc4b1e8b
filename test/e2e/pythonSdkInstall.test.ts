// The generated Python SDK as a user gets it: `pip install` of dist/sdk/python into a fresh virtualenv,
// its dependencies from PyPI (the other Python tests put it on PYTHONPATH beside a prepared SDK).
import * as assert from "node:assert/strict";
import { execFile } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { promisify } from "util";

const run = promisify(execFile);
const root = path.resolve(__dirname, "..", "..", "..");

describe("the generated Python SDK, installed with pip into a fresh virtualenv", function () {
    this.timeout(600_000);
    const venv = mkdtempSync(path.join(tmpdir(), "berth-venv-"));
    const python = path.join(venv, "bin", "python");
    after(() => rmSync(venv, { recursive: true, force: true }));

    it("installs with its dependencies, imports, and names the berth plugin of this package's version", async () => {
        await run("python3", ["-m", "venv", venv]);
        await run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", path.join(root, "dist", "sdk", "python")], {
            timeout: 540_000,
        });
        const version = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).version;
        const probe = [
            "import json, importlib.resources as r, pulumi, pulumi_berth as b",
            "print(json.dumps({'plugin': json.loads(r.files('pulumi_berth').joinpath('pulumi-plugin.json').read_text()),",
            "  'resources': [c.__name__ for c in (b.Cluster, b.SlbBinding, b.Service, b.PostStartHook, b.RegistryBucketRotation)],",
            "  'quarter': b.PeriodKind.QUARTER == 'quarter', 'webService': b.components.WebService.__name__}))",
        ].join("\n");
        const { stdout } = await run(python, ["-c", probe]);
        assert.deepEqual(JSON.parse(stdout), {
            plugin: { resource: true, name: "berth", version },
            resources: ["Cluster", "SlbBinding", "Service", "PostStartHook", "RegistryBucketRotation"],
            quarter: true,
            webService: "WebService",
        });
        const { stdout: shown } = await run(python, ["-m", "pip", "show", "pulumi_berth"]);
        assert.match(shown, new RegExp(`^Version: ${version.replace(/\./g, "\\.")}$`, "m"));
        assert.match(shown, /^Requires: .*pulumi/m);
    });
});
