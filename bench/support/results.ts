import { cpus } from "node:os";
import type { SubjectName } from "../subjects/xds-subject.js";
import type { BenchMode, Metrics, MetricSpec } from "./scenario.js";
import { median } from "./stats.js";

/** One subject's runs of one case, and the per-metric medians. */
export interface SubjectResult {
  readonly runs: readonly Metrics[];
  readonly median: Metrics;
  /** Why the subject was not measured in this case (no runs then): shown as "n/a". */
  readonly notApplicable?: string;
}

/** One case of a scenario: its parameters and each subject's results. */
export interface CaseResult {
  readonly label: string;
  readonly params: unknown;
  readonly results: Partial<Record<SubjectName, SubjectResult>>;
}

/** One scenario's results. */
export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly metrics: readonly MetricSpec[];
  readonly cases: readonly CaseResult[];
  /** Why the scenario was not measured (no cases then): shown as "pending". */
  readonly pending?: string;
}

/** The whole of bench/results.json. */
export interface BenchResults {
  /** `process.version`. */
  readonly node: string;
  /** The first CPU's model, from os.cpus(). */
  readonly cpu: string;
  /** How many logical CPUs. */
  readonly cores: number;
  /** `process.platform`-`process.arch`. */
  readonly platform: string;
  /** When the run ended, ISO 8601. */
  readonly date: string;
  readonly mode: BenchMode;
  /** Wall time of the whole run. */
  readonly durationSeconds: number;
  /** The subjects measured, in column order; ratios are the first over each other. */
  readonly subjects: readonly SubjectName[];
  readonly scenarios: readonly ScenarioResult[];
}

/** The per-metric medians of `runs` (a metric missing from some runs is the median of the runs that have it). */
export function medians(runs: readonly Metrics[]): Metrics {
  const keys = new Set(runs.flatMap((run) => Object.keys(run)));
  return Object.fromEntries([...keys].map((key) => [key, median(runs.flatMap((run) => (key in run ? [run[key]!] : [])))]));
}

/** The machine description and date that head the results. */
export function machine(): Pick<BenchResults, "node" | "cpu" | "cores" | "platform" | "date"> {
  const cores = cpus();
  return {
    node: process.version,
    cpu: cores[0]?.model.trim() ?? "unknown",
    cores: cores.length,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

/** bench/results.json's text: a case's params may hold protobuf Durations, whose bigint seconds are written as decimal strings. */
export function resultsJson(results: BenchResults): string {
  return `${JSON.stringify(results, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value), 2)}\n`;
}
