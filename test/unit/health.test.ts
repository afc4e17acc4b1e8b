import * as assert from "node:assert/strict";
import { dockerHealthcheck } from "../../provider/docker/health";

describe("Docker health check from the service's input", () => {
    it("passes an httpPath to wget as one argument, never through a shell", () => {
        const h = dockerHealthcheck({ httpPath: "/health?a=1&b=2" }, 80)!;
        assert.deepEqual(h.Test, ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:80/health?a=1&b=2"]);
    });

    it("runs a command as given, on the health check's own port for httpPath", () => {
        assert.deepEqual(dockerHealthcheck({ command: ["test", "-f", "/ready"] }, 80)!.Test, ["CMD", "test", "-f", "/ready"]);
        assert.match(dockerHealthcheck({ httpPath: "/h", port: 8080 }, 80)!.Test.at(-1)!, /^http:\/\/127\.0\.0\.1:8080\/h$/);
    });
});
