// The balancing of one target's router stream: a ClusterBalancer per leaf cluster of the latest snapshot, kept from
// one Router to the next (istiod pushes EDS on every pod change, and each push builds a new Router), and dropped
// with the cluster when a snapshot no longer holds it, or with the whole stream when its last subscriber leaves.
//
// Per snapshot it decides what each cluster name gives a call:
// - a cluster with a resource error (its own or its endpoints'): that error's code and reason;
// - a cluster that does not exist: CLUSTER_ABSENT;
// - an ORIGINAL_DST cluster (Istio's PassthroughCluster): UNSUPPORTED_CLUSTER, as a client has no original
//   destination to send to;
// - an aggregate cluster (gRFC A37): the first of its leaf clusters with a usable endpoint;
// - any other: its ClusterBalancer's picker, or NO_HEALTHY_ENDPOINT.

import type { EndpointsModel } from "../resources/endpoints.js";
import type { RandomSource } from "../resources/match/route-match.js";
import type { ClusterPickers, ClusterPicking, EndpointPicker, PickFailure } from "../routing/cluster-picking.js";
import { isPickFailure } from "../routing/cluster-picking.js";
import type { ClusterSnapshot } from "../routing/service-snapshot.js";
import { ClusterBalancer } from "./cluster-balancer.js";

/** Options of a TargetBalancer. */
export interface TargetBalancerOptions {
  /** Where round robin starts for a new cluster or locality; default Math.random. */
  readonly random?: RandomSource;
}

/** Endpoint picking for one target's Routers, its state carried from each snapshot to the next. */
export class TargetBalancer implements ClusterPicking {
  private readonly random: RandomSource;
  private balancers = new Map<string, ClusterBalancer>();

  constructor(options: TargetBalancerOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  /** The clusters whose balancing state is kept (the leaf clusters of the last snapshot that have endpoints). */
  get clusters(): readonly string[] {
    return [...this.balancers.keys()];
  }

  /** The pickers of a new snapshot's clusters: the balancers of its leaf clusters are kept (or made), the others dropped. */
  pickers(clusters: ReadonlyMap<string, ClusterSnapshot>): ClusterPickers {
    const previous = this.balancers;
    this.balancers = new Map();
    const leaves = new Map<string, EndpointPicker | PickFailure>();
    for (const entry of clusters.values()) {
      if (entry.cluster?.discovery.kind !== "AGGREGATE") leaves.set(entry.name, this.leaf(entry, previous));
    }
    const results = new Map(leaves);
    for (const entry of clusters.values()) {
      if (entry.cluster?.discovery.kind === "AGGREGATE") results.set(entry.name, aggregate(entry, entry.cluster.discovery.clusters, leaves));
    }
    return (name) => results.get(name) ?? absent(name);
  }

  private leaf(entry: ClusterSnapshot, previous: ReadonlyMap<string, ClusterBalancer>): EndpointPicker | PickFailure {
    const failure = unusable(entry);
    if (failure !== undefined) return failure;
    const discovery = entry.cluster!.discovery;
    if (discovery.kind === "ORIGINAL_DST") {
      return {
        code: "UNSUPPORTED_CLUSTER",
        message: `cluster ${JSON.stringify(entry.name)} is an ORIGINAL_DST cluster, which sends each connection to the address it was dialled to: a proxyless client has none to send to`,
      };
    }
    const endpoints: EndpointsModel | undefined = entry.endpoints ?? (discovery.kind === "STATIC" ? discovery.endpoints : undefined);
    if (endpoints === undefined) return noHealthyEndpoint(entry.name);
    const balancer = previous.get(entry.name) ?? new ClusterBalancer(entry.name, this.random);
    this.balancers.set(entry.name, balancer);
    return balancer.update(endpoints) ?? noHealthyEndpoint(entry.name);
  }
}

/** An aggregate cluster's picker: its first leaf cluster with a usable endpoint serves every pick of the snapshot. */
function aggregate(entry: ClusterSnapshot, declared: readonly string[], leaves: ReadonlyMap<string, EndpointPicker | PickFailure>): EndpointPicker | PickFailure {
  const failure = unusable(entry);
  if (failure !== undefined) return failure;
  const children = entry.children.length > 0 ? entry.children : declared;
  for (const child of children) {
    const leaf = leaves.get(child);
    if (leaf !== undefined && !isPickFailure(leaf)) return leaf;
  }
  return {
    code: "NO_HEALTHY_ENDPOINT",
    message: `aggregate cluster ${JSON.stringify(entry.name)} has no healthy endpoint in any of its clusters (${children.map((c) => JSON.stringify(c)).join(", ")})`,
  };
}

/** Why a cluster entry cannot be used at all: its resource error, or its absence. */
function unusable(entry: ClusterSnapshot): PickFailure | undefined {
  if (entry.error !== undefined) return { code: entry.error.code, message: `cluster ${JSON.stringify(entry.name)} cannot be used: ${entry.error.message}` };
  if (entry.cluster === undefined) return absent(entry.name);
  return undefined;
}

function absent(name: string): PickFailure {
  return { code: "CLUSTER_ABSENT", message: `cluster ${JSON.stringify(name)} does not exist` };
}

function noHealthyEndpoint(name: string): PickFailure {
  return { code: "NO_HEALTHY_ENDPOINT", message: `cluster ${JSON.stringify(name)} has no healthy endpoint` };
}
