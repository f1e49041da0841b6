// Where a matched route sends a call: the cluster specifier of a route, as a model.
//
// - `cluster`: one cluster name (must not be empty).
// - `weighted_clusters`: entries of name (or per-entry `cluster_header`) and weight. Following the
//   current Envoy docs, the total is the sum of the weights: the deprecated `total_weight` is
//   ignored. The sum must be in 1..2^32−1, else the resource is rejected; weight-0 entries are
//   kept in the model but never picked. The picker is built once: one random draw and a binary
//   search per call, with no bias (see routing/weighted-pick.ts).
// - `cluster_header`: the cluster is named per call by a request header (first value).
// - Actions a client cannot forward — redirect, direct_response, filter_action,
//   non_forwarding_action, and cluster specifier plugins — are valid configuration kept as an
//   `unsupported` action: a call that matches such a route fails with UNSUPPORTED_ACTION, while
//   the rest of the route configuration stays usable.

import type { Route, RouteAction, WeightedCluster } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { weightedRandomPick, type WeightedRandomPicker } from "./match/weighted-pick.js";
import { fieldPath, type Reject } from "./field-error.js";
import { buildFilterOverrides, type FilterOverrideModel } from "./http-filter-config.js";
import type { RegexLimits } from "./match/safe-regex.js";

/** typed_per_filter_config entries by filter name; a shared empty map when none. */
export type FilterConfigOverrides = ReadonlyMap<string, FilterOverrideModel>;

/** One entry of a weighted_clusters action. */
export interface WeightedClusterModel {
  /** The cluster's name; "" when the entry names it by `clusterHeader`. */
  readonly name: string;
  /** The request header naming the cluster (lower-cased), or undefined when `name` is set. */
  readonly clusterHeader: string | undefined;
  /** The weight; 0 means never picked. */
  readonly weight: number;
  /** The entry's typed_per_filter_config. */
  readonly typedPerFilterConfig: FilterConfigOverrides;
}

/** A route's action kinds that cannot be forwarded by a client. */
export type UnsupportedActionKind =
  | "redirect"
  | "direct_response"
  | "filter_action"
  | "non_forwarding_action"
  | "cluster_specifier_plugin";

/** What a matched route does. */
export type RouteActionModel =
  | { readonly kind: "cluster"; readonly cluster: string }
  | {
      readonly kind: "weighted_clusters";
      readonly clusters: readonly WeightedClusterModel[];
      /** The sum of the weights (the deprecated total_weight is ignored). */
      readonly totalWeight: number;
      /** Picks an entry with probability weight / totalWeight. */
      readonly pick: WeightedRandomPicker<WeightedClusterModel>;
    }
  | { readonly kind: "cluster_header"; readonly header: string }
  | { readonly kind: "unsupported"; readonly action: UnsupportedActionKind };

const UINT32_MAX = 0xffff_ffff;

/** The action of a route at `path` (`virtual_hosts[i].routes[j]`), its filter overrides' regexes within `limits`; rejects a route without one. */
export function buildRouteAction(route: Route, path: string, reject: Reject, limits: RegexLimits): RouteActionModel {
  const action = route.action;
  switch (action.case) {
    case "route":
      return buildForwardingAction(action.value, fieldPath(path, "route"), reject, limits);
    case "redirect":
      return unsupported("redirect");
    case "directResponse":
      return unsupported("direct_response");
    case "filterAction":
      return unsupported("filter_action");
    case "nonForwardingAction":
      return unsupported("non_forwarding_action");
    case undefined:
      return reject(path, "has no action (route, redirect, direct_response, …)");
  }
}

function unsupported(action: UnsupportedActionKind): RouteActionModel {
  return Object.freeze({ kind: "unsupported", action });
}

function buildForwardingAction(action: RouteAction, path: string, reject: Reject, limits: RegexLimits): RouteActionModel {
  const spec = action.clusterSpecifier;
  switch (spec.case) {
    case "cluster":
      if (spec.value === "") reject(fieldPath(path, "cluster"), "must not be empty");
      return Object.freeze({ kind: "cluster", cluster: spec.value });
    case "clusterHeader":
      return Object.freeze({ kind: "cluster_header", header: headerName(spec.value, fieldPath(path, "cluster_header"), reject) });
    case "weightedClusters":
      return buildWeightedClusters(spec.value, fieldPath(path, "weighted_clusters"), reject, limits);
    case "clusterSpecifierPlugin":
    case "inlineClusterSpecifierPlugin":
      return unsupported("cluster_specifier_plugin");
    case undefined:
      return reject(path, "no cluster specifier (cluster, weighted_clusters, cluster_header) is set");
  }
}

function headerName(name: string, path: string, reject: Reject): string {
  if (name === "") reject(path, "must not be empty");
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 32 || c === 127) reject(path, `${JSON.stringify(name)} is not a valid header name`);
  }
  return name.toLowerCase();
}

/** Validates a weighted_clusters action at `path` and precompiles its picker. */
export function buildWeightedClusters(weighted: WeightedCluster, path: string, reject: Reject, limits: RegexLimits): RouteActionModel {
  if (weighted.clusters.length === 0) reject(fieldPath(path, "clusters"), "must not be empty");
  let total = 0;
  const clusters = weighted.clusters.map((entry, i): WeightedClusterModel => {
    const at = fieldPath(path, `clusters[${i}]`);
    if (entry.name !== "" && entry.clusterHeader !== "") reject(at, "only one of name and cluster_header may be set");
    if (entry.name === "" && entry.clusterHeader === "") reject(fieldPath(at, "name"), "must not be empty");
    const weight = entry.weight ?? 0;
    total += weight;
    return Object.freeze({
      name: entry.name,
      clusterHeader: entry.clusterHeader === "" ? undefined : headerName(entry.clusterHeader, fieldPath(at, "cluster_header"), reject),
      weight,
      typedPerFilterConfig: buildFilterOverrides(entry.typedPerFilterConfig, fieldPath(at, "typed_per_filter_config"), reject, limits),
    });
  });
  if (total === 0) reject(fieldPath(path, "clusters"), "the sum of the weights must be greater than 0");
  if (total > UINT32_MAX) reject(fieldPath(path, "clusters"), `the sum of the weights (${total}) must not exceed ${UINT32_MAX}`);
  const frozen = Object.freeze(clusters);
  return Object.freeze({
    kind: "weighted_clusters",
    clusters: frozen,
    totalWeight: total,
    pick: weightedRandomPick(frozen.map((c) => ({ item: c, weight: c.weight }))),
  });
}
