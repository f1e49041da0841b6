// A DestinationRule's localityLbSetting applied to one client's ClusterLoadAssignment, as istiod applies it to each
// proxy's endpoints (pilot/pkg/networking/core/loadbalancer: ApplyLocalityLoadBalancer):
//
// - `distribute`: the first entry whose `from` matches the client's locality sets each locality's weight: a `to`
//   pattern's share is divided among the localities it matches in proportion to their weights (rounded up); the
//   localities no `to` matches get no endpoints.
// - failover (when the cluster has outlier detection, as istiod requires, since without it Envoy would never leave
//   a priority): priorities by how close each locality is to the client — the same region, zone and sub-zone is
//   priority 0, the same zone 1, the same region 2, another region 3; with a `failover` entry for the client's
//   region, the regions other than its `to` drop to 4. The priorities are then renumbered from 0 without gaps.
//
// A pattern is `region/zone/subzone`, each part `*` for any, and the missing trailing parts match any.

import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LocalitySchema } from "../../../gen/envoy/config/core/v3/base_pb.js";
import type { ClusterLoadAssignmentSchema } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { LocalityLbSettings } from "./mesh-config-model.js";

type Locality = MessageInitShape<typeof LocalitySchema>;
type ClusterLoadAssignment = MessageInitShape<typeof ClusterLoadAssignmentSchema>;

/** A client's locality, as its node says. */
export interface ClientLocality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

/** Reads `region/zone/subzone` (parts may be missing) into a locality. */
export function parseLocality(text: string): ClientLocality {
  const [region = "", zone = "", subZone = ""] = text.split("/");
  return { region, zone, subZone };
}

/** Whether `locality` matches the pattern `region/zone/subzone` (`*` for any part; missing parts match any). */
export function localityMatches(locality: ClientLocality | Locality | undefined, pattern: string): boolean {
  const [region = "", zone = "", subZone = ""] = pattern.split("/");
  const part = (rule: string, value: string | undefined, optional: boolean): boolean => rule === "*" || (optional && rule === "") || value === rule;
  return part(region, locality?.region, false) && part(zone, locality?.zone, true) && part(subZone, locality?.subZone, true);
}

/**
 * Applies `setting` to `assignment` (as built, in place) for a client in `client`; `failover` says whether the cluster
 * has outlier detection.
 */
export function applyLocalityLoadBalancing(assignment: ClusterLoadAssignment, client: ClientLocality, setting: LocalityLbSettings | undefined, failover: boolean): void {
  if (setting === undefined || setting.enabled === false) return;
  if (setting.distribute !== undefined) distribute(assignment, client, setting.distribute);
  else if (failover) prioritise(assignment, client, setting.failover ?? []);
}

function distribute(assignment: ClusterLoadAssignment, client: ClientLocality, rules: NonNullable<LocalityLbSettings["distribute"]>): void {
  const rule = rules.find((r) => localityMatches(client, r.from));
  if (rule === undefined) return;
  const groups = assignment.endpoints ?? [];
  const unmatched = new Set(groups.keys());
  for (const [pattern, share] of Object.entries(rule.to)) {
    const matched = [...unmatched].filter((i) => localityMatches(groups[i]!.locality, pattern));
    const total = matched.reduce((sum, i) => sum + (groups[i]!.loadBalancingWeight ?? 1), 0);
    for (const i of matched) {
      unmatched.delete(i);
      const weight = Math.ceil(((groups[i]!.loadBalancingWeight ?? 1) * share) / total);
      if (weight > 0) groups[i]!.loadBalancingWeight = weight;
    }
  }
  for (const i of unmatched) groups[i]!.lbEndpoints = [];
}

function prioritise(assignment: ClusterLoadAssignment, client: ClientLocality, failover: NonNullable<LocalityLbSettings["failover"]>): void {
  const groups = assignment.endpoints ?? [];
  for (const group of groups) {
    const locality = group.locality;
    let priority = closeness(client, locality);
    if (priority === 3) {
      const rule = failover.find((f) => f.from === client.region);
      if (rule !== undefined && locality?.region !== rule.to) priority = 4;
    }
    group.priority = (group.priority ?? 0) * 5 + priority;
  }
  const used = [...new Set(groups.map((g) => g.priority ?? 0))].sort((a, b) => a - b);
  for (const group of groups) group.priority = used.indexOf(group.priority ?? 0);
}

/** 0: same region, zone and sub-zone; 1: same zone; 2: same region; 3: elsewhere (istiod's LbPriority). */
function closeness(client: ClientLocality, locality: Locality | undefined): number {
  if (client.region !== (locality?.region ?? "")) return 3;
  if (client.zone !== (locality?.zone ?? "")) return 2;
  if (client.subZone !== (locality?.subZone ?? "")) return 1;
  return 0;
}
