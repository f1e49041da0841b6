import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import type { HeaderMatcherSchema, RouteMatchSchema, RouteSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { withLoopback } from "../support/loopback.js";
import { nsPerRoutedCall } from "../support/stats.js";
import type { BenchMode, Scenario } from "../support/scenario.js";
import { assignmentResource, CDS, clusterResource, EDS, istioNames, LDS, listenerResource, RDS } from "../support/xds-fixtures.js";
import type { CallSpec } from "../subjects/xds-subject.js";

/** Parameters of the per-call routing scenario. */
export interface PerCallRoutingParams {
  /** Routes in the one virtual host (the last is a catch-all). */
  readonly routes: number;
  /** Distinct clusters the routes name. */
  readonly clusters: number;
  readonly endpointsPerCluster: number;
  /** How long to run the mix before timing, and how long to time it. */
  readonly warmUpMs: number;
  readonly measureMs: number;
}

const host = "routing.default.svc.cluster.local";
const port = 8080;
/** The target's resource names (listener `host:port`, route configuration and cluster `outbound|port||host`). */
export const names = istioNames(host, port);

/** Cluster `k` of the scenario. */
export const clusterName = (k: number) => `outbound|${port}|c${k}|${host}`;

/** One route as the scenario builds it: its match, and the clusters (with weights) it may send a call to. */
export interface RouteSpec {
  readonly match: MessageInitShape<typeof RouteMatchSchema>;
  readonly clusters: readonly { readonly name: string; readonly weight: number }[];
}

type HeaderInit = MessageInitShape<typeof HeaderMatcherSchema>;
const header = (name: string, specifier: NonNullable<HeaderInit["headerMatchSpecifier"]>): HeaderInit => ({ name, headerMatchSpecifier: specifier });

/**
 * Route `i` of `count`: a rotation of five shapes — exact path; prefix + exact header; safe_regex path to a
 * 70/30 weighted pair; prefix + present header + regex header; exact path + prefix header + range header to
 * a 50/30/20 weighted triple — and, last, a catch-all prefix "" split 50/50.
 */
export function routeSpec(i: number, count: number, clusters: number): RouteSpec {
  const c = (offset: number) => clusterName((i + offset) % clusters);
  const single = [{ name: c(0), weight: 1 }];
  if (i === count - 1) return { match: { pathSpecifier: { case: "prefix", value: "" } }, clusters: [{ name: c(0), weight: 50 }, { name: c(1), weight: 50 }] };
  switch (i % 5) {
    case 0:
      return { match: { pathSpecifier: { case: "path", value: `/bench.Svc${i}/Get` } }, clusters: single };
    case 1:
      return {
        match: {
          pathSpecifier: { case: "prefix", value: `/bench.Svc${i}/` },
          headers: [header("x-tenant", { case: "stringMatch", value: { matchPattern: { case: "exact", value: `tenant-${i}` } } })],
        },
        clusters: single,
      };
    case 2:
      return {
        match: { pathSpecifier: { case: "safeRegex", value: { regex: `/bench\\.Svc${i}/(Get|List)[A-Z][a-z]*` } } },
        clusters: [{ name: c(0), weight: 70 }, { name: c(1), weight: 30 }],
      };
    case 3:
      return {
        match: {
          pathSpecifier: { case: "prefix", value: `/bench.Svc${i}/` },
          headers: [
            header("x-canary", { case: "presentMatch", value: true }),
            header("x-version", { case: "safeRegexMatch", value: { regex: "v[0-9]+" } }),
          ],
        },
        clusters: single,
      };
    default:
      return {
        match: {
          pathSpecifier: { case: "path", value: `/bench.Svc${i}/Put` },
          headers: [
            header("user-agent", { case: "stringMatch", value: { matchPattern: { case: "prefix", value: "grpc-node" } } }),
            header("x-shard", { case: "rangeMatch", value: { start: 0n, end: 100n } }),
          ],
        },
        clusters: [{ name: c(0), weight: 50 }, { name: c(1), weight: 30 }, { name: c(2), weight: 20 }],
      };
  }
}

/** The route configuration `outbound|port||host`: one virtual host for `host:port` with the routes. */
export function routeConfiguration(specs: readonly RouteSpec[]): Any {
  const routes = specs.map(
    (spec, i): MessageInitShape<typeof RouteSchema> => ({
      name: `r${i}`,
      match: spec.match,
      action: {
        case: "route",
        value:
          spec.clusters.length === 1
            ? { clusterSpecifier: { case: "cluster", value: spec.clusters[0]!.name } }
            : { clusterSpecifier: { case: "weightedClusters", value: { clusters: spec.clusters.map(({ name, weight }) => ({ name, weight })) } } },
      },
    }),
  );
  return anyPack(
    RouteConfigurationSchema,
    create(RouteConfigurationSchema, { name: names.route, virtualHosts: [{ name: host, domains: [names.listener], routes }] }),
  );
}

/** One call of the fixed mix, and the route index it must match. */
export interface MixedCall extends CallSpec {
  readonly route: number;
}

/**
 * The fixed request mix over routes of `count`: calls that match early, in the middle and late, through
 * every shape, calls a header keeps off an earlier route, and calls only the catch-all takes.
 */
export function requestMix(count: number): MixedCall[] {
  const at = (shape: number, near: number) => {
    const i = Math.min(near - (near % 5) + shape, count - 2);
    return i - (i % 5) + shape > count - 2 ? i - 5 : i;
  };
  const ua = "grpc-node-js/1.14.7";
  const mix: MixedCall[] = [];
  for (const near of [0, Math.floor(count / 2), count - 6]) {
    const i0 = at(0, near);
    const i1 = at(1, near);
    const i2 = at(2, near);
    const i3 = at(3, near);
    const i4 = at(4, near);
    mix.push({ path: `/bench.Svc${i0}/Get`, headers: { "user-agent": ua }, route: i0 });
    mix.push({ path: `/bench.Svc${i1}/Call`, headers: { "user-agent": ua, "x-tenant": `tenant-${i1}` }, route: i1 });
    mix.push({ path: `/bench.Svc${i2}/ListItems`, headers: { "user-agent": ua }, route: i2 });
    mix.push({ path: `/bench.Svc${i3}/Call`, headers: { "user-agent": ua, "x-canary": "1", "x-version": "v12" }, route: i3 });
    mix.push({ path: `/bench.Svc${i4}/Put`, headers: { "user-agent": ua, "x-shard": "42" }, route: i4 });
  }
  // Near misses: each fails its route on one header (or the regex), and nothing later matches: catch-all.
  const last = count - 1;
  const i1 = at(1, count - 6);
  const i3 = at(3, count - 6);
  const i4 = at(4, count - 6);
  const i2 = at(2, count - 6);
  mix.push({ path: `/bench.Svc${i1}/Call`, headers: { "user-agent": ua, "x-tenant": "someone-else" }, route: last });
  mix.push({ path: `/bench.Svc${i3}/Call`, headers: { "user-agent": ua, "x-version": "v12" }, route: last });
  mix.push({ path: `/bench.Svc${i4}/Put`, headers: { "user-agent": ua, "x-shard": "420" }, route: last });
  mix.push({ path: `/bench.Svc${i2}/Delete`, headers: { "user-agent": ua }, route: last });
  mix.push({ path: "/grpc.health.v1.Health/Check", headers: { "user-agent": ua }, route: last });
  return mix;
}

/** `route()` cost on a 50-route virtual host, over a fixed mix of calls. */
export const perCallRouting: Scenario<PerCallRoutingParams> = {
  id: "per-call-routing",
  title: "Per-call routing",
  description:
    "A 50-route virtual host (exact path, prefix + exact header, safe_regex path, prefix + present and regex headers, exact path + prefix and range headers, the last a catch-all; every other route a 70/30, 50/30/20 or 50/50 weighted split) over 10 clusters of 10 endpoints, served as a target's LDS → RDS → CDS → EDS chain; a fixed mix of 20 calls (early, middle and late matches of each shape, near misses that fall through to the catch-all) is run for a warm-up, then timed: wall time ÷ calls. " +
    "**rxds**: `router.route({ path, headers })` from `xds.router(target)`: route match, cluster choice and endpoint pick (round robin over the cluster's 10 endpoints), returning a RouteDecision. " +
    "**grpc-js-xds**: the ConfigSelector its xds resolver gives the channel, `invoke(path, metadata, channelId)` then the call's `onCommitted()`: route match, weighted cluster choice, cluster ref counting and ring-hash key; **no endpoint pick**: its pick runs in the channel's LB policy tree (xds_cluster_manager → cds → xds_cluster_impl → priority → weighted_target → round_robin over connected subchannels), which is not reachable outside a channel with connected subchannels, so its figure is the routing decision alone and the rxds figure includes more work. " +
    "Before timing, every call's chosen cluster is checked against the route it must match, for both libraries.",
  metrics: [{ key: "nsPerCall", label: "route() per call", unit: "ns" }],
  cases: (mode: BenchMode) => [
    {
      label: "50 routes, 10 clusters × 10 endpoints, 20-call mix",
      params: { routes: 50, clusters: 10, endpointsPerCluster: 10, warmUpMs: mode === "quick" ? 50 : 200, measureMs: mode === "quick" ? 100 : 400 },
    },
  ],
  runs: (mode) => (mode === "quick" ? 2 : 7),
  measure: (subject, { routes, clusters, endpointsPerCluster, warmUpMs, measureMs }) =>
    withLoopback(subject, async (plane, connect) => {
      const specs = Array.from({ length: routes }, (_, i) => routeSpec(i, routes, clusters));
      const clusterNames = Array.from({ length: clusters }, (_, k) => clusterName(k));
      plane.set(LDS, { [names.listener]: listenerResource(names.listener, names.route) });
      plane.set(RDS, { [names.route]: routeConfiguration(specs) });
      plane.set(CDS, Object.fromEntries(clusterNames.map((name) => [name, clusterResource(name)])));
      plane.set(EDS, Object.fromEntries(clusterNames.map((name) => [name, assignmentResource(name, endpointsPerCluster)])));

      const router = await connect().callRouter(names.listener, clusters);
      const mix = requestMix(routes);
      const route = router.prepare(mix);
      // Both libraries must make the same decisions, or the figures would not compare the same work.
      for (let k = 0; k < 4; k++) {
        mix.forEach((call, i) => {
          const chosen = route(i);
          const allowed = specs[call.route]!.clusters.map((c) => c.name);
          if (!allowed.includes(chosen)) {
            throw new Error(`${subject.name}: ${call.path} ${JSON.stringify(call.headers)} went to ${JSON.stringify(chosen)}, not route ${call.route} (${allowed.join(", ")})`);
          }
        });
      }

      return { nsPerCall: nsPerRoutedCall(route, mix.length, warmUpMs, measureMs) };
    }),
};
