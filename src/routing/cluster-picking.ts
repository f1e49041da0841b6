// What a Router needs from endpoint picking, and nothing more. The balancing layer implements it and keeps the
// state that outlives a snapshot (round-robin positions, in-flight counts, ejections, rings); routing only asks it,
// once per Router, for the pickers of the snapshot's clusters, and hands each pick's outcome back through
// PickedEndpoint.release.

import type { EndpointModel } from "../resources/endpoints.js";
import type { XdsErrorCode } from "../xds-error.js";
import type { ClusterSnapshot } from "./service-snapshot.js";

/** An endpoint picked for one call, and where that call's outcome goes. One object per endpoint, not per call. */
export interface PickedEndpoint {
  /** The endpoint. */
  readonly endpoint: EndpointModel;
  /** The leaf cluster it belongs to (for an aggregate cluster, the child that served the pick). */
  readonly clusterName: string;
  /** Its locality as gRPC's metrics label it (`grpc.lb.locality`): `{region="…", zone="…", sub_zone="…"}`. */
  readonly locality: string;
  /**
   * Ends one call picked here: `status` is its gRPC status code (0 OK), or undefined when it never reached the
   * endpoint. Counts it out of the in-flight figures.
   */
  release(status: number | undefined): void;
}

/** Picks endpoints of one cluster. */
export interface EndpointPicker {
  /** Whether picks depend on the request's hash (ring hash, Maglev): routing computes one only for these. */
  readonly hashed: boolean;
  /**
   * The endpoint for one call, counted in flight until its release; or why there is none now (NO_HEALTHY_ENDPOINT,
   * CIRCUIT_BREAKER_OPEN). `hash` is the request's hash (a 53-bit integer; see xx-hash64.ts), used only when
   * `hashed`. Allocates nothing.
   */
  pick(hash: number): PickedEndpoint | PickFailure;
}

/** Why a cluster cannot be picked from. */
export interface PickFailure {
  /** CLUSTER_ABSENT, NO_HEALTHY_ENDPOINT, UNSUPPORTED_CLUSTER, CIRCUIT_BREAKER_OPEN, or the code of the cluster's resource error. */
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

/** True when a picker lookup or a pick is a failure. */
export function isPickFailure<T extends object>(result: T | PickFailure): result is PickFailure {
  return "code" in result;
}
