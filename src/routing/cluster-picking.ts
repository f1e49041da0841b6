// What a Router needs from endpoint picking, and nothing more. The balancing layer implements it and keeps the
// state that outlives a snapshot (round-robin positions, and later in-flight counts, ejections, rings); routing
// only asks it, once per Router, for the pickers of the snapshot's clusters.

import type { EndpointModel } from "../resources/endpoints.js";
import type { XdsErrorCode } from "../xds-error.js";
import type { ClusterSnapshot } from "./service-snapshot.js";

/** Picks endpoints of one cluster. */
export interface EndpointPicker {
  /** The cluster the endpoints belong to: the cluster itself, or for an aggregate the child serving the picks. */
  readonly clusterName: string;
  /** The priority level picks come from. */
  readonly priority: number;
  /** The next endpoint; always a usable one. Allocates nothing. */
  pick(): EndpointModel;
}

/** Why a cluster cannot be picked from. */
export interface PickFailure {
  /** CLUSTER_ABSENT, NO_HEALTHY_ENDPOINT, UNSUPPORTED_CLUSTER, or the code of the cluster's resource error. */
  readonly code: XdsErrorCode;
  /** A message naming the cluster and the reason. */
  readonly message: string;
}

/** The picker of a snapshot's cluster by name, or why there is none (CLUSTER_ABSENT for a name not in the snapshot). */
export type ClusterPickers = (name: string) => EndpointPicker | PickFailure;

/** Supplies a Router's endpoint pickers; implemented by the balancing layer, which keeps picking state across Routers. */
export interface ClusterPicking {
  /** The pickers for a new snapshot's clusters; called once per Router built. State of clusters not in it may be dropped. */
  pickers(clusters: ReadonlyMap<string, ClusterSnapshot>): ClusterPickers;
}

/** True when a picker lookup is a failure. */
export function isPickFailure(result: EndpointPicker | PickFailure): result is PickFailure {
  return "code" in result;
}
