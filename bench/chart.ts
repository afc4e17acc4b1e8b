// Renders benchmark charts to SVG with vega-lite (ESM-only, hence the dynamic import). Timelines: one
// panel per case, one line per system for answered requests per second and one (dashed) for failures,
// the release steps marked as rules. Curves: one panel per operation, one line per system over a
// measured x (e.g. node count), the median with the rounds' spread as a bar.
import { Sample } from "../test/support/load";

// TypeScript compiles import() to require() under CommonJS; vega is ESM with top-level await.
const importEsm = new Function("specifier", "return import(specifier)") as (s: string) => Promise<any>;

export interface Timeline {
    /** The case (one panel per case). */
    panel: string;
    /** The system (one line per system). */
    series: string;
    samples: Sample[];
    /** ms since the load started that becomes t = 0 (the release start), so systems line up. */
    originMs: number;
    /** ms since the load started, e.g. release start and end. */
    marks: Array<{ ms: number; label: string }>;
}

const BIN_MS = 1000;

export async function timelineSvg(timelines: Timeline[], title: string): Promise<string> {
    const rows: Array<{ panel: string; system: string; t: number; responses: string; rate: number }> = [];
    const rules: Array<{ panel: string; system: string; t: number; label: string }> = [];
    for (const tl of timelines) {
        const bins = new Map<string, number>();
        let last = 0;
        for (const s of tl.samples) {
            const bin = Math.floor((s.at + s.ms - tl.originMs) / BIN_MS);
            last = Math.max(last, bin);
            const key = `${bin}|${s.ok ? "answered" : "failed"}`;
            bins.set(key, (bins.get(key) ?? 0) + 1);
        }
        const first = Math.floor(-tl.originMs / BIN_MS);
        // Every second gets a point on both lines, zeros included, so the lines do not skip gaps.
        for (let bin = first; bin <= last; bin++) {
            for (const responses of ["answered", "failed"]) {
                rows.push({
                    panel: tl.panel,
                    system: tl.series,
                    t: (bin * BIN_MS) / 1000,
                    responses,
                    rate: ((bins.get(`${bin}|${responses}`) ?? 0) * 1000) / BIN_MS,
                });
            }
        }
        for (const m of tl.marks) rules.push({ panel: tl.panel, system: tl.series, t: (m.ms - tl.originMs) / 1000, label: m.label });
    }
    const panels = [...new Set(timelines.map((t) => t.panel))];
    const systems = [...new Set(timelines.map((t) => t.series))];
    const color = { field: "system", type: "nominal", scale: { domain: systems } };
    const spec = {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title,
        vconcat: panels.map((panel) => ({
            title: panel,
            width: 760,
            height: 160,
            layer: [
                {
                    data: { values: rows.filter((r) => r.panel === panel) },
                    mark: { type: "line", strokeWidth: 1.2 },
                    encoding: {
                        x: { field: "t", type: "quantitative", title: "seconds since the release started" },
                        y: { field: "rate", type: "quantitative", title: "responses/s (dashed: failed)" },
                        color,
                        strokeDash: {
                            field: "responses",
                            type: "nominal",
                            scale: {
                                domain: ["answered", "failed"],
                                range: [
                                    [1, 0],
                                    [4, 2],
                                ],
                            },
                        },
                    },
                },
                {
                    data: { values: rules.filter((r) => r.panel === panel) },
                    mark: { type: "rule", strokeDash: [2, 2], opacity: 0.7 },
                    encoding: { x: { field: "t", type: "quantitative" }, color },
                },
                {
                    data: { values: rules.filter((r) => r.panel === panel) },
                    mark: { type: "text", angle: 270, align: "right", baseline: "bottom", dy: -2, fontSize: 8, y: 2 },
                    encoding: { x: { field: "t", type: "quantitative" }, text: { field: "label" }, color },
                },
            ],
        })),
    };
    return renderSvg(spec);
}

async function renderSvg(spec: object): Promise<string> {
    const [vl, vega] = await Promise.all([importEsm("vega-lite"), importEsm("vega")]);
    const view = new vega.View(vega.parse(vl.compile(spec as any).spec), { renderer: "none" });
    return view.toSVG();
}

/** One measured point of a curve: the median of the rounds and their spread. */
export interface CurvePoint {
    panel: string;
    series: string;
    x: number;
    median: number;
    min: number;
    max: number;
}

export async function curvesSvg(points: CurvePoint[], title: string, axes: { x: string; y: string }): Promise<string> {
    const panels = [...new Set(points.map((p) => p.panel))];
    const color = {
        field: "series",
        type: "nominal",
        title: "system",
        scale: { domain: [...new Set(points.map((p) => p.series))] },
        legend: { labelLimit: 400 },
    };
    const x = {
        field: "x",
        type: "quantitative",
        title: axes.x,
        scale: { domain: [0, Math.max(...points.map((p) => p.x))] },
        axis: { format: "d", tickMinStep: 1 },
    };
    return renderSvg({
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title,
        hconcat: panels.map((panel) => ({
            title: panel,
            width: 240,
            height: 200,
            data: { values: points.filter((p) => p.panel === panel) },
            layer: [
                { mark: { type: "line", point: true }, encoding: { x, y: { field: "median", type: "quantitative", title: axes.y }, color } },
                {
                    mark: { type: "rule", strokeWidth: 2, opacity: 0.5 },
                    encoding: { x, y: { field: "min", type: "quantitative" }, y2: { field: "max" }, color },
                },
            ],
        })),
    });
}
