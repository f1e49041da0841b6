// How traffic is shared between the priorities of a cluster, as Envoy shares it (its "priority levels"):
//
// - A priority's health is the share of its endpoints that can take calls (HEALTHY or UNKNOWN, not ejected), times
//   the overprovisioning factor (ClusterLoadAssignment.policy.overprovisioning_factor, 140% by default), capped at
//   100%: a priority with 72% of its endpoints up still counts as fully healthy (72 × 1.4 ≥ 100).
// - Priority 0 takes as much of the traffic as its health, priority 1 as much of the rest as its own, and so on: as
//   a priority degrades, traffic spills to the next one gradually instead of all at once.
// - When the healths sum to less than 100%, each priority's load is scaled up in proportion, so all traffic still
//   goes somewhere; when no priority has a healthy endpoint, there is no load at all (the call fails with
//   NO_HEALTHY_ENDPOINT; Envoy's panic mode, which would send it to unhealthy endpoints, is not applied, as in gRPC).
//
// Percentages are integers, computed as Envoy computes them; rounding leftovers go to the first priority with load.

/** Each priority's share of the traffic in percent (summing to 100, or all 0 when none has a healthy endpoint). */
export function priorityLoads(healthy: readonly number[], total: readonly number[], overprovisioningFactor: number): number[] {
  const health = healthy.map((h, i) => (total[i]! === 0 ? 0 : Math.min(100, Math.floor((overprovisioningFactor * h) / total[i]!))));
  const available = Math.min(100, health.reduce((a, b) => a + b, 0));
  if (available === 0) return health.map(() => 0);
  let left = 100;
  const loads = health.map((h) => {
    const load = Math.min(left, Math.floor((h * 100) / available));
    left -= load;
    return load;
  });
  if (left > 0) loads[loads.findIndex((_, i) => health[i]! > 0)]! += left;
  return loads;
}
