import * as assert from "node:assert/strict";
import { emptyLoad, NodeLoad, place } from "../../provider/schedule/placement";
import { nodes } from "./fixtures";

describe("placement", () => {
    it("spreads containers over nodes, fewest of the service first", () => {
        const loads = new Map<string, NodeLoad>([["h1", { serviceContainers: 2, hostPorts: new Set() }]]);
        const r = place(4, nodes(3), loads, []);
        assert.deepEqual(r.nodes, ["h2", "h3", "h2", "h3"]);
        assert.deepEqual(r.exclusions, []);
    });

    it("never places on a cordoned or unreachable node, and says why", () => {
        const r = place(2, nodes(3, [{ schedulable: false }, { reachable: false }]), new Map(), []);
        assert.deepEqual(r.nodes, ["h3", "h3"]);
        assert.deepEqual(r.exclusions, [
            { node: "h1", reason: "it is cordoned (schedulable: false)" },
            { node: "h2", reason: "its Docker engine does not answer" },
        ]);
    });

    it("places one container per node with a fixed host port, and no more", () => {
        const loads = new Map<string, NodeLoad>([["h2", { ...emptyLoad(), hostPorts: new Set([8080]) }]]);
        const r = place(3, nodes(3), loads, [8080]);
        assert.deepEqual(r.nodes, ["h1", "h3"]);
        assert.equal(r.exclusions.length, 3);
        assert.match(r.exclusions[1].reason, /host port 8080 is already held/);
    });
});
