// Property-based tests of placement: invariants that must hold for any cluster and any request.
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { NodeLoad, NodeView, place, parseConstraint } from "../../provider/schedule/placement";

const nodeArb = fc.record({
    zone: fc.constantFrom("a", "b", "c"),
    schedulable: fc.boolean(),
    reachable: fc.boolean(),
    disk: fc.constantFrom("ssd", "hdd"),
});
const clusterArb = fc.array(nodeArb, { minLength: 1, maxLength: 12 }).map((ns) =>
    ns.map((n, i): NodeView => ({
        name: `h${i + 1}`,
        zone: n.zone,
        labels: { disk: n.disk },
        schedulable: n.schedulable,
        reachable: n.reachable,
    })),
);

describe("placement properties", () => {
    it("never places on an excluded node and never beyond maxPerNode", () => {
        fc.assert(
            fc.property(
                clusterArb,
                fc.integer({ min: 0, max: 40 }),
                fc.integer({ min: 1, max: 4 }),
                fc.boolean(),
                (nodes, count, maxPerNode, ssdOnly) => {
                    const rules = { fixedHostPorts: [], maxPerNode, constraints: ssdOnly ? [parseConstraint("node.labels.disk == ssd")] : [] };
                    const { nodes: placed } = place(count, nodes, new Map(), rules);
                    const byName = new Map(nodes.map((n) => [n.name, n]));
                    for (const name of placed) {
                        const n = byName.get(name)!;
                        assert.ok(n.schedulable && n.reachable && (!ssdOnly || n.labels?.disk === "ssd"));
                    }
                    const perNode = new Map<string, number>();
                    placed.forEach((n) => perNode.set(n, (perNode.get(n) ?? 0) + 1));
                    assert.ok([...perNode.values()].every((c) => c <= maxPerNode));
                    const capacity = nodes.filter((n) => n.schedulable && n.reachable && (!ssdOnly || n.labels?.disk === "ssd")).length * maxPerNode;
                    assert.equal(placed.length, Math.min(count, capacity), "places as many as fit");
                },
            ),
        );
    });

    it("spreads evenly: zone totals differ by at most one, and so do nodes within a zone", () => {
        fc.assert(
            fc.property(clusterArb, fc.integer({ min: 1, max: 40 }), (raw, count) => {
                const nodes = raw.map((n) => ({ ...n, schedulable: true, reachable: true }));
                const loads = new Map<string, NodeLoad>();
                const { nodes: placed } = place(count, nodes, loads, { fixedHostPorts: [] });
                const zoneTotals = new Map<string, number>();
                for (const n of nodes) zoneTotals.set(n.zone!, (zoneTotals.get(n.zone!) ?? 0) + (loads.get(n.name)?.serviceContainers ?? 0));
                const totals = [...zoneTotals.values()];
                assert.ok(Math.max(...totals) - Math.min(...totals) <= 1, `zones ${JSON.stringify([...zoneTotals])}`);
                for (const zone of zoneTotals.keys()) {
                    const counts = nodes.filter((n) => n.zone === zone).map((n) => loads.get(n.name)?.serviceContainers ?? 0);
                    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `zone ${zone}: ${counts}`);
                }
                assert.equal(placed.length, count);
            }),
        );
    });
});
