// The balancing state of one endpoint or locality of a cluster: it lives as long as the endpoint (or locality) stays
// in the cluster's endpoint set, across every EDS update and Router rebuild in between. The next policies keep
// their per-endpoint figures here too (in-flight requests, outlier ejection).

/** What balancing keeps about one endpoint (keyed by address and port) or locality (keyed by priority and name). */
export class BalancingState {
  /** Smooth weighted round robin credit among the endpoint's locality (or the locality's priority). */
  credit = 0;

  constructor(
    /** The update of the cluster's endpoint set in which it was first seen. */
    readonly since: number,
  ) {}
}
