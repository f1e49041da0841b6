// What a target's balancing looks like from outside: each cluster's policy and circuit breaker, and each endpoint's
// calls in flight and ejection. `XdsClient.balancing(target)` emits one whenever an endpoint set changes or
// outlier detection ejects or brings back an endpoint; the figures are those of that moment.

import type { LbPolicyModel } from "../resources/cluster-lb-policy.js";
import type { EndpointHealth } from "../resources/endpoints.js";
import type { Ejection } from "./balancing-state.js";

export type { Ejection } from "./balancing-state.js";

/** One endpoint of a cluster, as balancing sees it. */
export interface EndpointBalancingStatus {
  /** Its IP address. */
  readonly address: string;
  /** Its port. */
  readonly port: number;
  /** Its priority (0 is the highest). */
  readonly priority: number;
  /** Its locality, `region/zone/subZone`. */
  readonly locality: string;
  /** Its health as EDS reports it (HEALTHY and UNKNOWN take calls). */
  readonly health: EndpointHealth;
  /** Its load_balancing_weight. */
  readonly weight: number;
  /** Calls picked for it and not done yet. */
  readonly inFlight: number;
  /** Its outlier ejection, if it is ejected: why, since when, until when. */
  readonly ejection: Ejection | undefined;
}

/** One leaf cluster's balancing. */
export interface ClusterBalancingStatus {
  /** The cluster's name. */
  readonly name: string;
  /** The endpoint-picking policy in force. */
  readonly policy: LbPolicyModel["kind"];
  /** Calls picked and not done yet, over every endpoint. */
  readonly inFlight: number;
  /** The circuit breaker's max_requests. */
  readonly maxRequests: number;
  /** Whether outlier detection runs for the cluster. */
  readonly outlierDetection: boolean;
  /** Every endpoint of its current endpoint set, by priority and locality. */
  readonly endpoints: readonly EndpointBalancingStatus[];
}

/** The balancing of one target: each of its leaf clusters with endpoints. */
export interface BalancingStatus {
  /** The target, as `host:port`. */
  readonly target: string;
  /** Its leaf clusters that have endpoints. */
  readonly clusters: readonly ClusterBalancingStatus[];
}
