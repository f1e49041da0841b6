import type { SubjectName, XdsSubject } from "../subjects/xds-subject.js";

/** How much work a run does: `quick` for development (tiny sizes, few runs), `full` for the published figures. */
export type BenchMode = "quick" | "full";

/** What one run of one case measured, by metric key; a case may report only some of its scenario's metrics. */
export type Metrics = Readonly<Record<string, number>>;

/** One figure a scenario reports. */
export interface MetricSpec {
  /** The key in `Metrics`. */
  readonly key: string;
  /** What the figure is, for the table. */
  readonly label: string;
  /** Its unit, e.g. "ms", "MB", "B/endpoint". */
  readonly unit: string;
}

/** One size or variant of a scenario, e.g. "10k endpoints". */
export interface ScenarioCase<P> {
  /** How the case reads in the table. */
  readonly label: string;
  /** What the scenario's `measure` gets. */
  readonly params: P;
  /** Subjects this case is not run for, each with the reason, which the table shows as "n/a" and BENCHMARKS.md explains. */
  readonly skip?: Partial<Record<SubjectName, string>>;
  /** Caps a subject's runs of this case: for a library so slow here that the full count would not fit the time budget. */
  readonly maxRuns?: Partial<Record<SubjectName, number>>;
}

/**
 * A benchmark scenario: what it measures, at which sizes, and how one run is done. `measure` is written
 * once against the XdsSubject interface, so every library is measured the same way against the same
 * control plane; adding a library means adding a subject, not touching the scenarios.
 */
export interface Scenario<P = unknown> {
  /** A stable id, also the scenario's file name. */
  readonly id: string;
  /** A short title for the table. */
  readonly title: string;
  /** One sentence on what is timed, for BENCHMARKS.md. */
  readonly description: string;
  /** Set while the scenario cannot be measured yet: why. Nothing is run; the table shows "pending". */
  readonly pending?: string;
  /** Every figure the scenario may report. */
  readonly metrics: readonly MetricSpec[];
  /** The cases to run in each mode. */
  cases(mode: BenchMode): readonly ScenarioCase<P>[];
  /** How many runs of each case per subject in each mode. */
  runs(mode: BenchMode): number;
  /** Does one run of one case for one subject; starts and stops everything it uses. */
  measure(subject: XdsSubject, params: P): Promise<Metrics>;
}
