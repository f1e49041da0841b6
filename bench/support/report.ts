import type { BenchResults } from "./results.js";

/** Where the update-time chart is written (relative to the repository root) and linked from BENCHMARKS.md. */
export const chartPath = "bench/update-time.svg";

/** Formats a figure with about three significant digits. */
export function formatValue(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return "–";
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/**
 * The results as table rows: scenario, case, metric (unit), runs, each subject's median, and (with a peer)
 * rxds ÷ peer. A subject not measured in a case shows "n/a"; a scenario not measured yet, "pending".
 */
export function tableRows(results: BenchResults): string[][] {
  const [first, ...peers] = results.subjects;
  const header = ["Scenario", "Case", "Metric", "Runs", ...results.subjects.map((s) => `${s} (median)`), ...peers.map((p) => `${first} ÷ ${p}`)];
  const rows = [header];
  for (const scenario of results.scenarios) {
    if (scenario.pending !== undefined) {
      for (const metric of scenario.metrics) {
        rows.push([scenario.title, "–", `${metric.label} (${metric.unit})`, "0", ...results.subjects.map(() => "pending"), ...peers.map(() => "–")]);
      }
      continue;
    }
    for (const c of scenario.cases) {
      for (const metric of scenario.metrics) {
        const values = results.subjects.map((s) => c.results[s]?.median[metric.key]);
        const skipped = results.subjects.map((s) => c.results[s]?.notApplicable !== undefined);
        // A row for each metric some subject reported in this case; a skipped subject's cell says "n/a".
        if (values.every((v) => v === undefined)) continue;
        const runs = Math.max(...results.subjects.map((s) => c.results[s]?.runs.length ?? 0));
        const ratios = values.slice(1).map((v) => (v === undefined || values[0] === undefined || v === 0 ? "–" : (values[0] / v).toFixed(2)));
        rows.push([scenario.title, c.label, `${metric.label} (${metric.unit})`, String(runs), ...values.map((v, i) => (skipped[i] ? "n/a" : formatValue(v))), ...ratios]);
      }
    }
  }
  return rows;
}

/** Every "n/a" and "pending" in the results, with its reason, for the notes under the table. */
export function omissions(results: BenchResults): string[] {
  const notes: string[] = [];
  for (const scenario of results.scenarios) {
    if (scenario.pending !== undefined) notes.push(`- **${scenario.title}**: pending for every library. ${scenario.pending}`);
    for (const c of scenario.cases) {
      for (const subject of results.subjects) {
        const reason = c.results[subject]?.notApplicable;
        if (reason !== undefined) notes.push(`- **${scenario.title}, ${c.label}**: n/a for ${subject}. ${reason}`);
      }
    }
  }
  return notes;
}

/** Renders rows as an aligned Markdown table: the first row is the header, columns after the third right-aligned. */
export function markdownTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((row) => [...(row[i] ?? "")].length)));
  const numeric = (i: number) => i >= 3;
  const pad = (cell: string, i: number) => {
    const fill = " ".repeat(widths[i]! - [...cell].length);
    return numeric(i) ? fill + cell : cell + fill;
  };
  const line = (row: readonly string[]) => `| ${row.map((cell, i) => pad(cell, i)).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (numeric(i) ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join("\n");
}

/**
 * Figures istiod users know, published by others, set beside the `rxds serve` rows as a bound on what a control plane
 * is expected to do: not measured here, on other hardware and at other scales.
 */
export const istiodAnchor: readonly string[] = [
  "## Beside istiod (published figures, not measured here)",
  "",
  "Users of istiod judge a control plane by `pilot_proxy_convergence_time`: the time from a push being queued to a proxy " +
    "having its configuration. Published figures, to read beside the `rxds serve` rows (which time a file write to each " +
    "client, on this machine):",
  "",
  "- Istio 1.0.3 release announcement (istio.io, 2018-10-30): Pilot \"delivers endpoint updates to 500 sidecars in under 1 second\".",
  "- Airbnb Tech Blog, \"Improving Istio Propagation Delay\" (Ying Zhu, March 2023): in Airbnb's production mesh the p90 of " +
    "`pilot_proxy_convergence_time` was 1.5 s with Istio 1.11, and 4.5 s with Istio 1.12 before the fix the post describes.",
  "- Before that clock starts, istiod debounces config events: `PILOT_DEBOUNCE_AFTER` defaults to 100 ms " +
    "(istio/istio, `pilot/pkg/features`), so a change waits at least that long before any push.",
  "",
];

/** BENCHMARKS.md, generated entirely from the results; `withChart` when the update-time chart was written. */
export function benchmarksMarkdown(results: BenchResults, withChart = false): string {
  const scenarioNotes = results.scenarios.map((s) => `- **${s.title}** (\`bench/scenarios/${s.id}.ts\`): ${s.description}`);
  const missing = omissions(results);
  const ratioNote =
    results.subjects.length > 1
      ? [`The ratio columns are rxds's median ÷ the peer's: below 1 means rxds takes less time (or heap); for the RPC overhead rows (calls per second), above 1 means rxds is faster.`, ""]
      : [];
  return [
    "# Benchmarks",
    "",
    "<!-- Generated by `npm run bench` from bench/results.json: edit bench/, not this file. -->",
    "",
    `Measured ${results.date} on ${results.cpu} (${results.cores} logical CPUs, ${results.platform}), Node ${results.node}; ` +
      `${results.mode} run, ${Math.round(results.durationSeconds)} s. Each figure is the median of the runs shown; ` +
      "with several libraries, runs alternate between them, against the same embedded control plane on 127.0.0.1.",
    "",
    markdownTable(tableRows(results)),
    "",
    ...ratioNote,
    ...(missing.length > 0 ? ["Not measured:", "", ...missing, ""] : []),
    ...(withChart
      ? ["## Update time against endpoint count", "", `![Large endpoint update: write → value against endpoints, both libraries](${chartPath})`, ""]
      : []),
    "## What each scenario measures",
    "",
    ...scenarioNotes,
    "",
    "Times are wall-clock (`performance.now()`) in one process, control plane and client on the same event loop, so the " +
      "server's serialisation of the response is included (except `rxds serve: many clients`, whose clients run in a child " +
      "process). Heap figures are `heapUsed` after a full GC (`--expose-gc`).",
    "",
    ...(results.scenarios.some((s) => s.id.startsWith("serve-")) ? istiodAnchor : []),
    "## Running",
    "",
    "```sh",
    "npm run build",
    "npm run bench                  # full run (under 5 minutes on 2 cores); writes bench/results.json and this file",
    "npm run bench -- --quick       # small sizes, few runs (under a minute), for development",
    "npm run bench -- --only warm-update --no-write   # one scenario, print only",
    "npm run bench -- --report      # regenerate this file from bench/results.json",
    "```",
    "",
  ].join("\n");
}
