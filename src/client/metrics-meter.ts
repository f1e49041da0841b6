// Where rxds's metrics go: an OpenTelemetry Meter, from the `meterProvider` option or the global MeterProvider that
// the application registered with @opentelemetry/api (an optional peer dependency). With neither, there is no meter
// and rxds records nothing: no instrument is made, no clock is read.
//
// The types below are the part of OpenTelemetry's API that rxds uses, written out so that rxds's declarations do not
// need @opentelemetry/api installed; an OpenTelemetry MeterProvider fits them.

import { createRequire } from "node:module";

/** Metric attributes: names to values. */
export type MetricAttributes = Readonly<Record<string, string | number | boolean>>;

/** A monotonic counter (OpenTelemetry's Counter). */
export interface MetricCounter {
  /** Adds `value` to the series of `attributes`. */
  add(value: number, attributes?: MetricAttributes): void;
}

/** A histogram (OpenTelemetry's Histogram). */
export interface MetricHistogram {
  /** Records `value` in the series of `attributes`. */
  record(value: number, attributes?: MetricAttributes): void;
}

/** What an observable instrument's callback reports to (OpenTelemetry's ObservableResult). */
export interface MetricObservation {
  /** Reports the current `value` of the series of `attributes`. */
  observe(value: number, attributes?: MetricAttributes): void;
}

/** An instrument read at collection time (OpenTelemetry's ObservableGauge). */
export interface MetricObservableGauge {
  /** Calls `callback` at each collection. */
  addCallback(callback: (observation: MetricObservation) => void): void;
  /** Stops calling `callback`. */
  removeCallback(callback: (observation: MetricObservation) => void): void;
}

/** How an instrument is described to the SDK. */
export interface MetricInstrumentOptions {
  /** What the instrument measures. */
  readonly description?: string;
  /** Its unit, UCUM (`s`, `{attempt}`). */
  readonly unit?: string;
  /** Histogram bucket boundaries the SDK should use unless a view says otherwise. */
  readonly advice?: { readonly explicitBucketBoundaries?: number[] };
}

/** The instruments rxds makes (the part of OpenTelemetry's Meter it uses). */
export interface MetricsMeter {
  /** A counter named `name`. */
  createCounter(name: string, options?: MetricInstrumentOptions): MetricCounter;
  /** A histogram named `name`. */
  createHistogram(name: string, options?: MetricInstrumentOptions): MetricHistogram;
  /** A gauge named `name`, read by its callbacks at collection time. */
  createObservableGauge(name: string, options?: MetricInstrumentOptions): MetricObservableGauge;
}

/** Where meters come from: an OpenTelemetry MeterProvider. */
export interface MetricsMeterProvider {
  /** The meter of instrumentation scope `name` (rxds asks for "rxds" and its version). */
  getMeter(name: string, version?: string): MetricsMeter;
}

/** The key under which @opentelemetry/api 1.x keeps its globals (a registered MeterProvider among them) on globalThis. */
const OTEL_GLOBALS = Symbol.for("opentelemetry.js.api.1");

/**
 * The meter rxds records to: `provider`'s, else the global MeterProvider's; undefined when there is none (no
 * provider given, none registered, or @opentelemetry/api not installed). The API is loaded only once something has
 * registered a global with it, so that a process without OpenTelemetry pays nothing for it.
 */
export function metricsMeter(provider: MetricsMeterProvider | undefined, version: string): MetricsMeter | undefined {
  if (provider !== undefined) return provider.getMeter("rxds", version);
  if ((globalThis as Record<symbol, unknown>)[OTEL_GLOBALS] === undefined) return undefined;
  let api: { metrics: { getMeter(name: string, version?: string): MetricsMeter }; createNoopMeter(): MetricsMeter };
  try {
    api = createRequire(import.meta.url)("@opentelemetry/api") as typeof api;
  } catch {
    return undefined;
  }
  const meter = api.metrics.getMeter("rxds", version);
  return meter === api.createNoopMeter() ? undefined : meter;
}
