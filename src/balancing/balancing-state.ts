// The balancing state of one endpoint or locality of a cluster: it lives as long as the endpoint (or locality) stays
// in the cluster's endpoint set, across every EDS update and Router rebuild in between. An endpoint's state is also
// what a pick returns (a PickedEndpoint): the call's release comes back to it, and through it to its cluster.

import type { EndpointModel } from "../resources/endpoints.js";
import type { PickedEndpoint } from "../routing/cluster-picking.js";

/** What balancing keeps about one locality (keyed by priority and name), and the base of an endpoint's state. */
export class BalancingState {
  /** Smooth weighted round robin credit among the endpoint's locality (or the locality's priority). */
  credit = 0;

  constructor(
    /** The update of the cluster's endpoint set in which it was first seen. */
    readonly since: number,
  ) {}
}

/** Where an endpoint's released calls are counted: its cluster's balancer. */
export interface EndpointOwner {
  /** The cluster's name. */
  readonly name: string;
  /** One call picked on `state` ended with `status` (undefined: it never reached the endpoint; see PickedEndpoint.release). */
  released(state: EndpointState, status: number | undefined): void;
}

/** An ejection by outlier detection: why, and for how long. */
export interface Ejection {
  /** What the endpoint did, e.g. `failure percentage 50% over 100 calls is above the threshold 40%`. */
  readonly reason: string;
  /** When it was ejected (ms since the epoch). */
  readonly since: number;
  /** When it is due back (ms since the epoch): checked at each outlier detection interval. */
  readonly until: number;
}

/** What balancing keeps about one endpoint (keyed by address and port): in-flight calls, outcomes, ejection. */
export class EndpointState extends BalancingState implements PickedEndpoint {
  /** Calls picked here and not released yet. */
  inFlight = 0;
  /** Set once the endpoint has left its cluster's endpoint set: its outcomes no longer count. */
  retired = false;
  /** Successes and failures of the current outlier detection interval, and of the last complete one. */
  successes = 0;
  failures = 0;
  lastSuccesses = 0;
  lastFailures = 0;
  /** Consecutive 5xx-class and gateway-class failures (Envoy's consecutive_5xx, consecutive_gateway_failure). */
  consecutive5xx = 0;
  consecutiveGateway = 0;
  /** The ejection in force, if any. */
  ejection: Ejection | undefined;
  /** Its locality's label (see PickedEndpoint.locality), as the latest endpoint set has it. */
  locality = "";
  /** How many ejections in a row lengthen the next (gRFC A50's multiplier): up by one per ejection, down by one per interval without. */
  ejections = 0;

  constructor(
    since: number,
    /** `address:port`, the key it is kept under. */
    readonly key: string,
    /** The endpoint as the latest endpoint set has it. */
    public endpoint: EndpointModel,
    private readonly owner: EndpointOwner,
  ) {
    super(since);
  }

  get clusterName(): string {
    return this.owner.name;
  }

  release(status: number | undefined): void {
    this.inFlight--;
    this.owner.released(this, status);
  }
}
