// The baseline endpoint pick for one cluster of a ServiceSnapshot (gRFC A27's shape, without
// drops, outlier ejection or other LB policies, which the balancing layer adds).
//
// - Priority: the lowest-numbered priority with a usable (HEALTHY or UNKNOWN) endpoint in a
//   locality that can take traffic; lower priorities are used only when it has none.
// - Locality: smooth weighted round robin over the priority's localities by
//   load_balancing_weight; a weight-0 locality takes no traffic (A27), so a priority whose
//   usable endpoints are all in weight-0 localities fails over. When no locality of the
//   priority has a weight (a control plane that leaves it unset), the localities are weighted by
//   the sum of their usable endpoints' weights instead, so the priority acts as one pool.
// - Endpoint: within the locality, smooth weighted round robin over its usable endpoints by
//   load_balancing_weight; when they all weigh the same this is plain round robin, O(1).
//   Over any window of W picks (W = the sum of the weights) each endpoint is picked exactly its
//   weight's share of times.
// - Aggregate cluster (gRFC A37): its leaf clusters are tried in order; the first with a usable
//   endpoint serves every pick of this snapshot.
//
// Everything is built once per snapshot; a pick allocates nothing.

import type { EndpointModel, EndpointsModel, LocalityModel } from "../resources/endpoints.js";
import type { ClusterSnapshot } from "./service-snapshot.js";
import { SmoothWeightedRoundRobin } from "../resources/match/weighted-pick.js";

/** Picks endpoints of one cluster. */
export interface EndpointPicker {
  /** The cluster the endpoints belong to: the cluster itself, or for an aggregate the child serving the picks. */
  readonly clusterName: string;
  /** The priority level picks come from. */
  readonly priority: number;
  /** The next endpoint; always a usable one. */
  pick(): EndpointModel;
}

/** Why a cluster cannot be picked from. */
export interface PickFailure {
  readonly code: "CLUSTER_ABSENT" | "NO_HEALTHY_ENDPOINT";
  /** A message naming the cluster. */
  readonly message: string;
}

/** Builds the picker for a set of endpoints; undefined when none is usable. */
export function createEndpointPicker(clusterName: string, endpoints: EndpointsModel): EndpointPicker | undefined {
  for (let p = 0; p < endpoints.priorities.length; p++) {
    const pick = localityPicker(endpoints.priorities[p]!);
    if (pick !== undefined) return Object.freeze({ clusterName, priority: p, pick });
  }
  return undefined;
}

/** Builds the picker for cluster `name` of a snapshot's clusters, or says why there is none. */
export function createClusterPicker(clusters: ReadonlyMap<string, ClusterSnapshot>, name: string): EndpointPicker | PickFailure {
  const entry = clusters.get(name);
  if (entry?.cluster === undefined) return absent(name);
  if (entry.cluster.discovery.kind !== "AGGREGATE") {
    const picker = leafPicker(entry);
    return picker ?? { code: "NO_HEALTHY_ENDPOINT", message: `cluster ${JSON.stringify(name)} has no healthy endpoint` };
  }
  const children = entry.children.length > 0 ? entry.children : entry.cluster.discovery.clusters;
  for (const child of children) {
    const childEntry = clusters.get(child);
    if (childEntry?.cluster === undefined || childEntry.cluster.discovery.kind === "AGGREGATE") continue;
    const picker = leafPicker(childEntry);
    if (picker !== undefined) return picker;
  }
  return {
    code: "NO_HEALTHY_ENDPOINT",
    message: `aggregate cluster ${JSON.stringify(name)} has no healthy endpoint in any of its clusters (${children.map((c) => JSON.stringify(c)).join(", ")})`,
  };
}

/** True when a createClusterPicker result is a failure. */
export function isPickFailure(result: EndpointPicker | PickFailure): result is PickFailure {
  return "code" in result;
}

function absent(name: string): PickFailure {
  return { code: "CLUSTER_ABSENT", message: `cluster ${JSON.stringify(name)} does not exist` };
}

function leafPicker(entry: ClusterSnapshot): EndpointPicker | undefined {
  const discovery = entry.cluster?.discovery;
  const endpoints = entry.endpoints ?? (discovery?.kind === "STATIC" ? discovery.endpoints : undefined);
  return endpoints === undefined ? undefined : createEndpointPicker(entry.name, endpoints);
}

/** A pick function over one priority's localities, or undefined when none can take traffic. */
function localityPicker(localities: readonly LocalityModel[]): (() => EndpointModel) | undefined {
  const usable: { picker: () => EndpointModel; weight: number; endpointWeight: number }[] = [];
  for (const locality of localities) {
    const endpoints = locality.endpoints.filter((e) => e.usable);
    if (endpoints.length === 0) continue;
    usable.push({
      picker: endpointPicker(endpoints),
      weight: locality.weight,
      endpointWeight: endpoints.reduce((sum, e) => sum + e.weight, 0),
    });
  }
  if (usable.length === 0) return undefined;
  const weighted = localities.some((l) => l.weight > 0);
  const items = usable.map((l) => ({ item: l.picker, weight: weighted ? l.weight : l.endpointWeight }));
  const kept = items.filter((i) => i.weight > 0);
  if (kept.length === 0) return undefined;
  if (kept.length === 1) return kept[0]!.item;
  const rr = new SmoothWeightedRoundRobin(kept);
  return () => rr.pick()();
}

/** A pick function over a locality's usable endpoints (at least one). */
function endpointPicker(endpoints: readonly EndpointModel[]): () => EndpointModel {
  if (endpoints.length === 1) {
    const only = endpoints[0]!;
    return () => only;
  }
  const first = endpoints[0]!.weight;
  if (endpoints.every((e) => e.weight === first)) {
    let next = 0;
    return () => {
      const e = endpoints[next]!;
      next = next + 1 === endpoints.length ? 0 : next + 1;
      return e;
    };
  }
  const rr = new SmoothWeightedRoundRobin(endpoints.map((e) => ({ item: e, weight: e.weight })));
  return () => rr.pick();
}
