// The update-time chart of BENCHMARKS.md: median write → value time of the large endpoint update against
// the endpoint count, one line per library, both axes logarithmic. Plain SVG text, no dependency.
import type { BenchResults } from "./results.js";

/** One library's points: endpoint count → median update time (ms). */
interface Series {
  readonly name: string;
  readonly points: readonly { readonly endpoints: number; readonly ms: number }[];
}

const width = 640;
const height = 400;
const margin = { left: 72, right: 150, top: 40, bottom: 56 };
const colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/** The series of the large-endpoint-update scenario in `results`, or undefined when it was not run. */
export function updateTimeSeries(results: BenchResults): Series[] | undefined {
  const scenario = results.scenarios.find((s) => s.id === "large-endpoint-update");
  if (!scenario || scenario.cases.length === 0) return undefined;
  return results.subjects.map((name) => ({
    name,
    points: scenario.cases.flatMap((c) => {
      const endpoints = (c.params as { endpoints?: number }).endpoints;
      const ms = c.results[name]?.median["updateMs"];
      return endpoints !== undefined && ms !== undefined && ms > 0 ? [{ endpoints, ms }] : [];
    }),
  }));
}

/** Powers of ten from 10^floor(log lo) to 10^ceil(log hi). */
function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function label(value: number, unit: string): string {
  if (unit === "endpoints") return value >= 1000 ? `${value / 1000}k` : String(value);
  return value >= 1000 ? `${value / 1000} s` : `${value} ms`;
}

/** The chart as an SVG document; undefined when there is nothing to draw. */
export function updateTimeSvg(results: BenchResults): string | undefined {
  const series = updateTimeSeries(results)?.filter((s) => s.points.length > 0);
  if (!series || series.length === 0) return undefined;
  const all = series.flatMap((s) => s.points);
  const xTicks = decades(Math.min(...all.map((p) => p.endpoints)), Math.max(...all.map((p) => p.endpoints)));
  const yTicks = decades(Math.min(...all.map((p) => p.ms)), Math.max(...all.map((p) => p.ms)));
  const [x0, x1] = [Math.log10(xTicks[0]!), Math.log10(xTicks.at(-1)!)];
  const [y0, y1] = [Math.log10(yTicks[0]!), Math.log10(yTicks.at(-1)!)];
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const x = (v: number) => margin.left + ((Math.log10(v) - x0) / (x1 - x0 || 1)) * plotW;
  const y = (v: number) => margin.top + plotH - ((Math.log10(v) - y0) / (y1 - y0 || 1)) * plotH;
  const f = (n: number) => n.toFixed(1);

  const lines: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">Large endpoint update: write → value (median, log–log)</text>`,
  ];
  for (const t of xTicks) {
    lines.push(`<line x1="${f(x(t))}" y1="${margin.top}" x2="${f(x(t))}" y2="${margin.top + plotH}" stroke="#e0e0e0"/>`);
    lines.push(`<text x="${f(x(t))}" y="${margin.top + plotH + 18}" text-anchor="middle">${label(t, "endpoints")}</text>`);
  }
  for (const t of yTicks) {
    lines.push(`<line x1="${margin.left}" y1="${f(y(t))}" x2="${margin.left + plotW}" y2="${f(y(t))}" stroke="#e0e0e0"/>`);
    lines.push(`<text x="${margin.left - 8}" y="${f(y(t) + 4)}" text-anchor="end">${label(t, "ms")}</text>`);
  }
  lines.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#606060"/>`);
  lines.push(`<text x="${margin.left + plotW / 2}" y="${height - 14}" text-anchor="middle">endpoints in the ClusterLoadAssignment</text>`);
  lines.push(`<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">time from plane.set() to the new value</text>`);
  series.forEach((s, i) => {
    const colour = colours[i % colours.length]!;
    const path = s.points.map((p, k) => `${k === 0 ? "M" : "L"}${f(x(p.endpoints))} ${f(y(p.ms))}`).join(" ");
    lines.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of s.points) {
      lines.push(`<circle cx="${f(x(p.endpoints))}" cy="${f(y(p.ms))}" r="4" fill="${colour}"><title>${escape(`${s.name}: ${p.endpoints} endpoints, ${p.ms.toFixed(1)} ms`)}</title></circle>`);
    }
    const ly = margin.top + 12 + i * 20;
    lines.push(`<line x1="${margin.left + plotW + 14}" y1="${ly}" x2="${margin.left + plotW + 38}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    lines.push(`<text x="${margin.left + plotW + 44}" y="${ly + 4}">${escape(s.name)}</text>`);
  });
  lines.push("</svg>", "");
  return lines.join("\n");
}
