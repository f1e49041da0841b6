import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import type { HeaderMatcherSchema, RouteSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { withLoopback } from "../support/loopback.js";
import type { BenchMode, Scenario } from "../support/scenario.js";
import { assignmentResource, CDS, clusterResource, EDS, istioNames, LDS, listenerResource, RDS } from "../support/xds-fixtures.js";
import type { CallSpec } from "../subjects/xds-subject.js";

/** Parameters of the worst-case route() scenario. */
export interface WorstCaseRouteParams {
  /** Length of the long header values and of the long path, in characters. */
  readonly valueLength: number;
  /** How long each call is run before timing, and how long it is timed. */
  readonly warmUpMs: number;
  readonly measureMs: number;
}

const host = "long.default.svc.cluster.local";
const names = istioNames(host, 8080);
const matched = `outbound|8080|matched|${host}`;
const fallback = `outbound|8080|fallback|${host}`;
const prefix = "/bench.Long/";

type HeaderInit = MessageInitShape<typeof HeaderMatcherSchema>;
type LiteralPattern = { readonly case: "prefix" | "suffix" | "contains"; readonly value: string };
const regexHeader = (name: string, regex: string): HeaderInit => ({ name, headerMatchSpecifier: { case: "safeRegexMatch", value: { regex } } });
const stringHeader = (name: string, pattern: LiteralPattern, ignoreCase = false): HeaderInit => ({
  name,
  headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: pattern, ignoreCase } },
});

/**
 * The routes, every one under the same path prefix (so none is skipped by its prefix) and every one a matcher that
 * must read a whole long value before it fails: a regex path, regex headers (one the textbook catastrophic-
 * backtracking pattern), and prefix / suffix / contains (one ignoring case) headers; then a catch-all.
 */
function routes(): MessageInitShape<typeof RouteSchema>[] {
  const to = (cluster: string) => ({ case: "route" as const, value: { clusterSpecifier: { case: "cluster" as const, value: cluster } } });
  const under = (headers: HeaderInit[]) => ({ match: { pathSpecifier: { case: "prefix" as const, value: prefix }, headers }, action: to(matched) });
  return [
    { match: { pathSpecifier: { case: "safeRegex", value: { regex: "/bench\\.Long/(?:[a-z0-9]+/)*[a-z0-9]+\\.json" } } }, action: to(matched) },
    under([regexHeader("x-long", "(x+x+)+y")]),
    under([regexHeader("x-long", "(?i).*canary.*")]),
    under([regexHeader("x-long", "(?:[^,]*,)*canary(?:,[^,]*)*")]),
    under([regexHeader("x-list", "(?:[a-z]+,)*v[0-9]+")]),
    under([stringHeader("x-long", { case: "contains", value: "canary" })]),
    under([stringHeader("x-long", { case: "contains", value: "CANARY" }, true)]),
    under([stringHeader("x-list", { case: "suffix", value: ",canary" }), stringHeader("x-list", { case: "prefix", value: "x" })]),
    { match: { pathSpecifier: { case: "prefix", value: "" } }, action: to(fallback) },
  ];
}

function routeConfiguration(): Any {
  return anyPack(RouteConfigurationSchema, create(RouteConfigurationSchema, { name: names.route, virtualHosts: [{ name: host, domains: [names.listener], routes: routes() }] }));
}

/** A call and the cluster it must go to. */
export interface CheckedCall extends CallSpec {
  readonly label: string;
  readonly cluster: string;
}

/** The calls timed: each makes every matcher read a long value and fail, so only the catch-all takes it. */
export function longCalls(length: number): CheckedCall[] {
  const longPath = `${prefix}${"abc/".repeat(Math.ceil(length / 4)).slice(0, length)}`;
  const xs = "x".repeat(length);
  const list = "abc,".repeat(Math.ceil(length / 4)).slice(0, length);
  return [
    { label: "long path", path: longPath, headers: {}, cluster: fallback },
    { label: "long headers", path: `${prefix}Call`, headers: { "x-long": xs, "x-list": list }, cluster: fallback },
    { label: "long path and headers", path: longPath, headers: { "x-long": xs, "x-list": list }, cluster: fallback },
    // A control: the regex path route matches.
    { label: "match", path: `${prefix}a/b.json`, headers: {}, cluster: matched },
  ];
}

/** The slowest route() call over long values (a 5 KB path and 5 KB headers), as the mean of many runs of that call. */
export const worstCaseRoute: Scenario<WorstCaseRouteParams> = {
  id: "worst-case-route",
  title: "Worst-case route()",
  description:
    "One virtual host of nine routes under one path prefix: a safe_regex path, four safe_regex headers (`(x+x+)+y`, the textbook catastrophic-backtracking pattern; `(?i).*canary.*`; two over comma-separated lists), contains headers (one ignoring case), suffix and prefix headers, then a catch-all. " +
    "Three calls make the matchers read long values to the end and fail, so only the catch-all takes them: a path of N characters; headers `x-long` (N × `x`) and `x-list` (a comma-separated list of N characters); both together. " +
    "Each call (and a control call that the regex path route takes) is checked first to reach its route in both libraries, then run for a warm-up and timed on its own: the figure is the slowest call's time per call. " +
    "rxds: `router.route()`, endpoint pick included; grpc-js-xds: its ConfigSelector's `invoke()` (its regexes are RE2 compiled to WebAssembly).",
  metrics: [{ key: "slowestCallUs", label: "slowest call", unit: "µs" }],
  cases: (mode: BenchMode) => [
    {
      label: "5 KB path and headers, 9 routes",
      params: { valueLength: 5 * 1024, warmUpMs: mode === "quick" ? 20 : 100, measureMs: mode === "quick" ? 50 : 200 },
    },
  ],
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: (subject, { valueLength, warmUpMs, measureMs }) =>
    withLoopback(subject, async (plane, connect) => {
      plane.set(LDS, { [names.listener]: listenerResource(names.listener, names.route) });
      plane.set(RDS, { [names.route]: routeConfiguration() });
      plane.set(CDS, { [matched]: clusterResource(matched), [fallback]: clusterResource(fallback) });
      plane.set(EDS, { [matched]: assignmentResource(matched, 3), [fallback]: assignmentResource(fallback, 3) });

      const router = await connect().callRouter(names.listener, 2);
      const calls = longCalls(valueLength);
      const route = router.prepare(calls);
      calls.forEach((call, i) => {
        const chosen = route(i);
        if (chosen !== call.cluster) throw new Error(`${subject.name}: the ${call.label} call went to ${JSON.stringify(chosen)}, not ${call.cluster}`);
      });

      let sink = 0;
      const perCall = (i: number, ms: number): number => {
        const start = performance.now();
        let n = 0;
        let elapsed = 0;
        do {
          for (let k = 0; k < 10; k++) sink += route(i).length;
          n += 10;
          elapsed = performance.now() - start;
        } while (elapsed < ms);
        return (elapsed * 1000) / n;
      };
      let slowest = 0;
      for (let i = 0; i < calls.length; i++) {
        perCall(i, warmUpMs);
        slowest = Math.max(slowest, perCall(i, measureMs));
      }
      if (sink === 0) throw new Error("bench: no call was routed");
      return { slowestCallUs: slowest };
    }),
};
