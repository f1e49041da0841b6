// The routes of a ThriftProxy network filter
// (envoy.extensions.filters.network.thrift_proxy.v3.RouteConfiguration), which is how
// kitex-contrib/xds users route Thrift calls (an EnvoyFilter patch puts a ThriftProxy with an
// inline route_config on the service's listener). Routes are tried in order; the first match wins.
//
// Matching, per the Envoy ThriftProxy docs:
// - `method_name`: the call's method equals it exactly; "" matches any method.
// - `service_name`: the call's (multiplexed) service equals it, a trailing ":" ignored (Envoy
//   compares it as the `Service:` prefix of the method name); "" matches any service.
//   (kitex-contrib/xds stores service_name and never matches on it.)
// - `invert` negates the method/service test (not the headers); with an empty, wildcard
//   name it would never match, so it is rejected, as the docs forbid it.
//   (kitex-contrib/xds ignores `invert`.)
// - `headers`: every HeaderMatcher must match, with Envoy's full semantics (see
//   match/header-matcher.ts); kitex-contrib/xds handles only string_match and drops the rest,
//   e.g. the `exact_match: "canary"` of its own example.
// Actions: `cluster`, `weighted_clusters` (every weight at least 1, as the proto requires),
// `cluster_header`. Everything else (metadata_match, rate_limits, mirrors…) is ignored.

import type { Route, RouteAction, RouteConfiguration, RouteMatch } from "../../gen/envoy/extensions/filters/network/thrift_proxy/v3/route_pb.js";
import { lazyMessageType, type ResourceType } from "../client/resource-type.js";
import { thriftRouteConfiguration } from "./extension-schemas.js";
import { weightedRandomPick } from "./match/weighted-pick.js";
import { fieldPath, fieldRejecter, type Reject } from "./field-error.js";
import { compileHeaderMatcher, type HeaderPredicate } from "./match/header-matcher.js";
import { defaultRegexLimits, type RegexLimits } from "./match/safe-regex.js";
import type { RequestHeaders } from "./match/route-match.js";
import type { FilterConfigOverrides, RouteActionModel, WeightedClusterModel } from "./route-action.js";
import { checked } from "./route-policies.js";

/** What a Thrift route looks at in a call. */
export interface ThriftCall {
  /** The Thrift service name (the multiplexed service; "" when not multiplexed). */
  readonly service: string;
  /** The method name. */
  readonly method: string;
  /** The call's headers (THeader / TTHeader), keys lower-case. */
  readonly headers: RequestHeaders;
}

/** One validated Thrift route. */
export interface ThriftRouteModel {
  /** Its index in route_config.routes (Thrift routes have no name). */
  readonly index: number;
  /** True when the call matches the route. */
  readonly matches: (call: ThriftCall) => boolean;
  /** `cluster`, `weighted_clusters` or `cluster_header`. */
  readonly action: Exclude<RouteActionModel, { kind: "unsupported" }>;
}

/** A validated ThriftProxy route configuration. */
export interface ThriftRouteConfigurationModel {
  readonly name: string;
  readonly routes: readonly ThriftRouteModel[];
  /** Every cluster a route can send to by name. */
  readonly clusterNames: ReadonlySet<string>;
  /** The first route matching the call, or undefined. */
  route(call: ThriftCall): ThriftRouteModel | undefined;
}

/**
 * Validates a ThriftProxy RouteConfiguration, its regexes within `limits`; throws an INVALID_RESOURCE XdsError naming
 * the field. `place` tells where an inline one sits (e.g. `{ kind: "listener", name, path:
 * "filter_chains[0].filters[0].typed_config.route_config" }`).
 */
export function validateThriftRouteConfiguration(
  message: RouteConfiguration,
  name: string,
  place: { readonly kind: string; readonly name: string; readonly path: string } = { kind: "thrift route configuration", name, path: "" },
  limits: RegexLimits = defaultRegexLimits,
): ThriftRouteConfigurationModel {
  const reject = fieldRejecter(place.kind, place.name);
  const routes = Object.freeze(message.routes.map((route, i) => buildRoute(route, i, fieldPath(place.path, `routes[${i}]`), reject, limits)));
  const clusterNames = new Set<string>();
  for (const route of routes) {
    if (route.action.kind === "cluster") clusterNames.add(route.action.cluster);
    else if (route.action.kind === "weighted_clusters") for (const c of route.action.clusters) clusterNames.add(c.name);
  }
  return Object.freeze({
    name: message.name,
    routes,
    clusterNames,
    route(call: ThriftCall): ThriftRouteModel | undefined {
      for (let i = 0; i < routes.length; i++) {
        if (routes[i]!.matches(call)) return routes[i];
      }
      return undefined;
    },
  });
}

/** Thrift RDS (trds): thrift RouteConfiguration resources, their regexes validated within `limits`; SotW omission does not delete them. */
export function createThriftRouteConfigurationType(limits: RegexLimits): ResourceType<ThriftRouteConfigurationModel> {
  return lazyMessageType(thriftRouteConfiguration, {
    deletedByOmission: false,
    validate: (message, name) => validateThriftRouteConfiguration(message, name, { kind: "thrift route configuration", name, path: "" }, limits),
  });
}

/** Thrift RDS with the default regex limits. */
export const thriftRouteConfigurationType: ResourceType<ThriftRouteConfigurationModel> = createThriftRouteConfigurationType(defaultRegexLimits);

function buildRoute(route: Route, index: number, path: string, reject: Reject, limits: RegexLimits): ThriftRouteModel {
  if (route.match === undefined) return reject(fieldPath(path, "match"), "is required");
  if (route.route === undefined) return reject(fieldPath(path, "route"), "is required");
  return Object.freeze({
    index,
    matches: buildMatch(route.match, fieldPath(path, "match"), reject, limits),
    action: buildAction(route.route, fieldPath(path, "route"), reject),
  });
}

function buildMatch(match: RouteMatch, path: string, reject: Reject, limits: RegexLimits): (call: ThriftCall) => boolean {
  const headers: HeaderPredicate[] = match.headers.map((h, i) => checked(() => compileHeaderMatcher(h, fieldPath(path, `headers[${i}]`), limits), reject));
  const spec = match.matchSpecifier;
  if (spec.case === undefined) return reject(path, "one of method_name and service_name is required");
  const field = spec.case === "methodName" ? "method_name" : "service_name";
  const wanted = spec.case === "serviceName" && spec.value.endsWith(":") ? spec.value.slice(0, -1) : spec.value;
  const invert = match.invert;
  if (invert && wanted === "") reject(fieldPath(path, "invert"), `cannot be combined with an empty (wildcard) ${field}`);
  const byMethod = spec.case === "methodName";
  return (call) => {
    const name = byMethod ? call.method : call.service;
    if ((wanted === "" || name === wanted) === invert) return false;
    for (let i = 0; i < headers.length; i++) {
      if (!headers[i]!(call.headers)) return false;
    }
    return true;
  };
}

function buildAction(action: RouteAction, path: string, reject: Reject): ThriftRouteModel["action"] {
  const spec = action.clusterSpecifier;
  switch (spec.case) {
    case "cluster":
      if (spec.value === "") reject(fieldPath(path, "cluster"), "must not be empty");
      return Object.freeze({ kind: "cluster", cluster: spec.value });
    case "clusterHeader":
      if (spec.value === "") reject(fieldPath(path, "cluster_header"), "must not be empty");
      return Object.freeze({ kind: "cluster_header", header: spec.value.toLowerCase() });
    case "weightedClusters": {
      const at = fieldPath(path, "weighted_clusters.clusters");
      if (spec.value.clusters.length === 0) reject(at, "must not be empty");
      let total = 0;
      const clusters = spec.value.clusters.map((entry, i): WeightedClusterModel => {
        if (entry.name === "") reject(`${at}[${i}].name`, "must not be empty");
        if (entry.weight === undefined || entry.weight < 1) reject(`${at}[${i}].weight`, "must be at least 1");
        total += entry.weight;
        return Object.freeze({ name: entry.name, clusterHeader: undefined, weight: entry.weight, typedPerFilterConfig: NO_OVERRIDES });
      });
      if (total > 0xffff_ffff) reject(at, `the sum of the weights (${total}) must not exceed 4294967295`);
      const frozen = Object.freeze(clusters);
      return Object.freeze({
        kind: "weighted_clusters",
        clusters: frozen,
        totalWeight: total,
        pick: weightedRandomPick(frozen.map((c) => ({ item: c, weight: c.weight }))),
      });
    }
    case undefined:
      return reject(path, "no cluster specifier (cluster, weighted_clusters, cluster_header) is set");
  }
}
const NO_OVERRIDES: FilterConfigOverrides = new Map();
