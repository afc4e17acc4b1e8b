import * as assert from "node:assert/strict";
import { SlbBindingArgs } from "../../provider/model";
import { listenerClash, readSection, renderSection, writeSection } from "../../provider/slb/haproxyConfig";
import { parseStat } from "../../provider/slb/haproxy";

const binding: SlbBindingArgs = {
    name: "web",
    driver: "haproxy",
    haproxy: { adminSocket: "/a", configPath: "/c" },
    listen: { port: 18080 },
    healthCheck: { httpPath: "/health" },
};
const base = "global\n    stats socket /a level admin\n";

describe("HAProxy configuration sections", () => {
    it("round-trips a binding and its servers", () => {
        const servers = [{ name: "web-0-abcdef0123", address: "10.0.0.1", port: 32768, weight: 100 }];
        const config = writeSection(base, "web", renderSection(binding, servers));
        assert.match(config, /bind 127\.0\.0\.1:18080/);
        assert.match(config, /option httpchk GET \/health/);
        assert.match(config, /retries 3\n {4}option redispatch 1\n {4}retry-on conn-failure empty-response\n/);
        assert.deepEqual(readSection(config, "web"), { binding, servers });
    });

    it("records the listener's owner, and names the other stack on a clash of name or address", () => {
        const prod = { stack: "org/infra/prod", ownerId: "o1234567" };
        const config = writeSection(base, "web", renderSection(binding, [], prod));
        assert.deepEqual(readSection(config, "web")!.owner, prod);
        assert.equal(listenerClash(config, binding, "org/infra/prod"), undefined, "its own stack may update it");
        assert.deepEqual(listenerClash(config, binding, "org/infra/staging"), {
            property: "name",
            reason: "listener web belongs to stack org/infra/prod: give this stack's binding another name",
        });
        assert.deepEqual(listenerClash(config, { ...binding, name: "web-staging" }, "org/infra/staging"), {
            property: "listen.port",
            reason: "127.0.0.1:18080 is already the listener web of stack org/infra/prod",
        });
        assert.equal(listenerClash(config, { ...binding, name: "web-staging", listen: { port: 18081 } }, "org/infra/staging"), undefined);
        const legacy = writeSection(base, "web", renderSection(binding, []));
        assert.equal(
            listenerClash(legacy, binding, "org/infra/staging"),
            undefined,
            "a section made before owners is adopted by the binding whose state lists it",
        );
    });

    it("states the mode of each binding (http by default, tcp when asked) in both frontend and backend", () => {
        assert.equal(renderSection(binding, []).match(/^ {4}mode http$/gm)?.length, 2);
        const tcp = renderSection({ ...binding, protocol: "tcp" }, []);
        assert.equal(tcp.match(/^ {4}mode tcp$/gm)?.length, 2);
        assert.match(tcp, /option httpchk GET \/health/);
    });

    it("replaces and removes only its own section", () => {
        const other = { ...binding, name: "api" };
        let config = writeSection(writeSection(base, "web", renderSection(binding, [])), "api", renderSection(other, []));
        config = writeSection(config, "web", renderSection(binding, [{ name: "s", address: "h", port: 1, weight: 0 }]));
        assert.equal(readSection(config, "web")!.servers.length, 1);
        assert.ok(readSection(config, "api"));
        config = writeSection(config, "web", null);
        assert.equal(readSection(config, "web"), undefined);
        assert.ok(config.startsWith(base));
        assert.ok(readSection(config, "api"));
    });

    it("parses show stat CSV by column name", () => {
        const rows = parseStat("# pxname,svname,qcur,scur,status,weight,check_status\nweb,s1,0,2,UP,100,L7OK\n\n");
        assert.deepEqual(rows, [{ pxname: "web", svname: "s1", qcur: "0", scur: "2", status: "UP", weight: "100", check_status: "L7OK" }]);
    });
});
