// Renders benchmark timelines to SVG with vega-lite (ESM-only, hence the dynamic import).
import { Sample } from "../test/support/load";

// TypeScript compiles import() to require() under CommonJS; vega is ESM with top-level await.
const importEsm = new Function("specifier", "return import(specifier)") as (s: string) => Promise<any>;

export interface Timeline {
    contender: string;
    samples: Sample[];
    releaseStartMs: number;
    releaseEndMs: number;
}

const BIN_MS = 250;

/** Responses per second over time for each contender, stacked by the version that answered (or error). */
export async function timelineSvg(timelines: Timeline[], title: string): Promise<string> {
    const rows: Array<{ contender: string; t: number; t2: number; outcome: string; rate: number }> = [];
    const rules: Array<{ contender: string; t: number; edge: string }> = [];
    for (const tl of timelines) {
        const bins = new Map<string, number>();
        for (const s of tl.samples) {
            const done = Math.floor((s.at + s.ms) / BIN_MS) * BIN_MS;
            const outcome = s.ok ? `answered by ${s.version ?? "?"}` : "failed";
            const key = `${done}|${outcome}`;
            bins.set(key, (bins.get(key) ?? 0) + 1);
        }
        for (const [key, n] of bins) {
            const [t, outcome] = key.split("|");
            rows.push({ contender: tl.contender, t: Number(t) / 1000, t2: (Number(t) + BIN_MS) / 1000, outcome, rate: n * (1000 / BIN_MS) });
        }
        rules.push({ contender: tl.contender, t: tl.releaseStartMs / 1000, edge: "release start" });
        rules.push({ contender: tl.contender, t: tl.releaseEndMs / 1000, edge: "release end" });
    }
    const color = {
        field: "outcome",
        type: "nominal",
        title: "response",
        scale: { domain: ["answered by v1", "answered by v2", "failed"], range: ["#4c78a8", "#54a24b", "#e45756"] },
    };
    const spec = {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title,
        vconcat: timelines.map((tl) => ({
            title: tl.contender,
            width: 720,
            height: 120,
            layer: [
                {
                    data: { values: rows.filter((r) => r.contender === tl.contender) },
                    mark: { type: "bar" },
                    encoding: {
                        x: { field: "t", type: "quantitative", title: "seconds since the load started" },
                        x2: { field: "t2" },
                        y: { field: "rate", type: "quantitative", aggregate: "sum", title: "responses/s" },
                        color,
                    },
                },
                {
                    data: { values: rules.filter((r) => r.contender === tl.contender) },
                    mark: { type: "rule", strokeDash: [4, 3], color: "#333" },
                    encoding: { x: { field: "t", type: "quantitative" } },
                },
            ],
        })),
    };
    const [vl, vega] = await Promise.all([importEsm("vega-lite"), importEsm("vega")]);
    const view = new vega.View(vega.parse(vl.compile(spec as any).spec), { renderer: "none" });
    return view.toSVG();
}
