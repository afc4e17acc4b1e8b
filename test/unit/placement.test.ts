import * as assert from "node:assert/strict";
import { emptyLoad, NodeLoad, parseAffinity, parseConstraint, place } from "../../provider/schedule/placement";
import { nodes } from "./fixtures";

describe("placement", () => {
    it("spreads containers over nodes, fewest of the service first", () => {
        const loads = new Map<string, NodeLoad>([["h1", { serviceContainers: 2, hostPorts: new Set() }]]);
        const r = place(4, nodes(3), loads, { fixedHostPorts: [] });
        assert.deepEqual(r.nodes, ["h2", "h3", "h2", "h3"]);
        assert.deepEqual(r.exclusions, []);
    });

    it("never places on a cordoned or unreachable node, and says why", () => {
        const r = place(2, nodes(3, [{ schedulable: false }, { reachable: false }]), new Map(), { fixedHostPorts: [] });
        assert.deepEqual(r.nodes, ["h3", "h3"]);
        assert.deepEqual(r.exclusions, [
            { node: "h1", reason: "it is cordoned (schedulable: false)" },
            { node: "h2", reason: "its Docker engine does not answer" },
        ]);
    });

    it("places one container per node with a fixed host port, and no more", () => {
        const loads = new Map<string, NodeLoad>([["h2", { ...emptyLoad(), hostPorts: new Set([8080]) }]]);
        const r = place(3, nodes(3), loads, { fixedHostPorts: [8080] });
        assert.deepEqual(r.nodes, ["h1", "h3"]);
        assert.equal(r.exclusions.length, 3);
        assert.match(r.exclusions[1].reason, /host port 8080 is already held/);
    });
});

describe("placement rules", () => {
    const zoned = () =>
        nodes(6, [
            { zone: "a", labels: { disk: "ssd" } },
            { zone: "a" },
            { zone: "b", labels: { disk: "ssd" } },
            { zone: "b" },
            { zone: "c", labels: { disk: "hdd" } },
            { zone: "c" },
        ]);

    it("spreads over zones first, then nodes", () => {
        const r = place(3, zoned(), new Map(), { fixedHostPorts: [] });
        assert.deepEqual(r.nodes, ["h1", "h3", "h5"]);
        assert.deepEqual(place(6, zoned(), new Map(), { fixedHostPorts: [] }).nodes.sort(), ["h1", "h2", "h3", "h4", "h5", "h6"]);
    });

    it("honours label and zone constraints, naming what excluded each node", () => {
        const rules = { fixedHostPorts: [], constraints: [parseConstraint("node.labels.disk == ssd"), parseConstraint("node.zone != b")] };
        const r = place(2, zoned(), new Map(), rules);
        assert.deepEqual(r.nodes, ["h1", "h1"]);
        assert.equal(r.exclusions.find((e) => e.node === "h3")?.reason, 'constraint node.zone != b (it has "b")');
        assert.equal(r.exclusions.find((e) => e.node === "h5")?.reason, 'constraint node.labels.disk == ssd (it has "hdd")');
        assert.equal(r.exclusions.find((e) => e.node === "h2")?.reason, "constraint node.labels.disk == ssd (it has none)");
    });

    it("places beside one service and never beside another, judged from what runs", () => {
        const servicesOnNode = new Map([
            ["h1", new Set(["mysql"])],
            ["h2", new Set(["cache"])],
            ["h3", new Set(["cache", "mysql"])],
        ]);
        const r = place(2, nodes(3), new Map(), {
            fixedHostPorts: [],
            affinity: [parseAffinity("service == cache"), parseAffinity("service != mysql")],
            servicesOnNode,
        });
        assert.deepEqual(r.nodes, ["h2", "h2"]);
        assert.match(r.exclusions.find((e) => e.node === "h1")!.reason, /affinity service == cache \(no cache runs there\)/);
        assert.match(r.exclusions.find((e) => e.node === "h3")!.reason, /anti-affinity service != mysql \(mysql runs there\)/);
    });

    it("stops at maxPerNode", () => {
        const r = place(5, nodes(2), new Map(), { fixedHostPorts: [], maxPerNode: 2 });
        assert.deepEqual(r.nodes.sort(), ["h1", "h1", "h2", "h2"]);
        assert.match(r.exclusions[0].reason, /maxPerNode=2/);
    });

    it("rejects malformed expressions", () => {
        assert.throws(() => parseConstraint("labels.disk = ssd"), /is not "node.name\|node.zone\|node.labels.<key> ==\|!= <value>"/);
        assert.throws(() => parseAffinity("node.name == h1"), /is not "service ==\|!= <name>"/);
    });
});
