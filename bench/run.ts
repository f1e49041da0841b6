// `npm run bench`: runs every scenario for every subject, alternating them, several runs each; prints the
// medians as a table and writes bench/results.json and BENCHMARKS.md. See BENCHMARKS.md for the options.
import { spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { scenarios } from "./scenarios/scenarios.js";
import { subjects } from "./subjects/subjects.js";
import { updateTimeSvg } from "./support/chart.js";
import { benchmarksMarkdown, chartPath, formatValue, markdownTable, tableRows } from "./support/report.js";
import { machine, medians, resultsJson, type BenchResults, type CaseResult, type ScenarioResult, type SubjectResult } from "./support/results.js";
import type { BenchMode, Metrics } from "./support/scenario.js";
import type { SubjectName } from "./subjects/xds-subject.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const resultsPath = `${root}bench/results.json`;
const markdownPath = `${root}BENCHMARKS.md`;

const { values: options } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", multiple: true },
    "no-write": { type: "boolean", default: false },
    report: { type: "boolean", default: false },
  },
});

if (options.report) {
  const results = JSON.parse(await readFile(resultsPath, "utf8")) as BenchResults;
  await writeReport(results);
  console.log(markdownTable(tableRows(results)));
} else if (!(globalThis as { gc?: unknown }).gc) {
  // Heap figures need a collector we can call: run again with it exposed.
  const child = spawnSync(process.execPath, [...process.execArgv, "--expose-gc", ...process.argv.slice(1)], { stdio: "inherit" });
  process.exitCode = child.status ?? 1;
} else {
  await bench(options.quick ? "quick" : "full", options.only, !options["no-write"]);
}

async function bench(mode: BenchMode, only: readonly string[] | undefined, write: boolean): Promise<void> {
  const unknown = (only ?? []).filter((id) => !scenarios.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(", ")}; scenarios: ${scenarios.map((s) => s.id).join(", ")}`);
  const started = performance.now();
  const scenarioResults: ScenarioResult[] = [];
  for (const scenario of scenarios.filter((s) => !only || only.includes(s.id))) {
    const notes = { id: scenario.id, title: scenario.title, description: scenario.description, metrics: scenario.metrics };
    if (scenario.pending !== undefined) {
      process.stderr.write(`${scenario.id}: pending: ${scenario.pending}\n`);
      scenarioResults.push({ ...notes, cases: [], pending: scenario.pending });
      continue;
    }
    const cases: CaseResult[] = [];
    for (const { label, params, skip, maxRuns } of scenario.cases(mode)) {
      const runs = new Map<SubjectName, Metrics[]>(subjects.map((s) => [s.name, []]));
      const count = scenario.runs(mode);
      for (let run = 0; run < count; run++) {
        // Alternate which subject goes first, so neither always runs on a warmer (or more fragmented) process.
        const order = subjects.map((_, i) => subjects[(i + run) % subjects.length]!);
        // No forced GC between runs: one just before a timed section was seen to slow that section several-fold.
        for (const subject of order) {
          if (skip?.[subject.name] !== undefined || run >= (maxRuns?.[subject.name] ?? count)) continue;
          const metrics = await scenario.measure(subject, params);
          for (const [key, value] of Object.entries(metrics)) {
            if (!Number.isFinite(value)) throw new Error(`${scenario.id} ${label}: ${subject.name} gave ${key} = ${value}`);
          }
          runs.get(subject.name)!.push(metrics);
          const figures = Object.entries(metrics).map(([key, value]) => `${key} ${formatValue(value)}`).join(", ");
          process.stderr.write(`${scenario.id} · ${label} · ${subject.name} run ${run + 1}/${Math.min(count, maxRuns?.[subject.name] ?? count)}: ${figures}\n`);
        }
      }
      const results: Partial<Record<SubjectName, SubjectResult>> = {};
      for (const [name, metrics] of runs) {
        const reason = skip?.[name];
        results[name] = reason === undefined ? { runs: metrics, median: medians(metrics) } : { runs: [], median: {}, notApplicable: reason };
      }
      cases.push({ label, params, results });
    }
    scenarioResults.push({ ...notes, cases });
  }
  const results: BenchResults = {
    ...machine(),
    mode,
    durationSeconds: (performance.now() - started) / 1000,
    subjects: subjects.map((s) => s.name),
    scenarios: scenarioResults,
  };
  console.log(`\n${results.mode} run, ${results.durationSeconds.toFixed(1)} s, Node ${results.node}, ${results.cpu} ×${results.cores}\n`);
  console.log(markdownTable(tableRows(results)));
  if (write) {
    await writeFile(resultsPath, resultsJson(results));
    await writeReport(results);
    console.log(`\nwrote ${resultsPath}, ${markdownPath} and ${root}${chartPath}`);
  }
}

/** Writes BENCHMARKS.md and, when the large-update scenario ran, the update-time chart it embeds. */
async function writeReport(results: BenchResults): Promise<void> {
  const svg = updateTimeSvg(results);
  if (svg !== undefined) await writeFile(`${root}${chartPath}`, svg);
  await writeFile(markdownPath, benchmarksMarkdown(results, svg !== undefined));
}
