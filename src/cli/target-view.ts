// A text view of one target as a client sees it, for `rxds watch` (and examples/watch.ts): the listener and route
// configuration, the routes of the virtual host and where they send calls, each cluster with its policies and
// endpoints (health, and ejection once outlier detection reports it), and the resources NACKed or in error.

import type { BalancingStatus } from "../balancing/balancing-status.js";
import type { ResourceStatus } from "../client/xds-status.js";
import type { LbPolicyModel } from "../resources/cluster-lb-policy.js";
import type { ClusterJson, ResourceStateJson, ServiceSnapshotJson } from "../routing/service-snapshot-json.js";
import type { ServiceSnapshot } from "../routing/service-snapshot.js";
import { textTable } from "./text-table.js";

/** What the view shows beside the snapshot. */
export interface TargetViewExtras {
  /** The client's connection, e.g. `127.0.0.1:15010 ready`. */
  readonly connection?: string;
  /** The watched resources; those NACKed or in error are listed with their reasons. */
  readonly resources?: readonly ResourceStatus[];
  /**
   * The balancing of the client drawing the view (`xds.balancing(target)`): its endpoints' ejections by outlier detection
   * fill the EJECTED column (`-` without it, or for a cluster without outlier detection).
   */
  readonly balancing?: BalancingStatus;
}

/** The lines that describe `snapshot`. */
export function renderTarget(snapshot: ServiceSnapshot | ServiceSnapshotJson, extras: TargetViewExtras = {}): string[] {
  const json = "toJSON" in snapshot ? snapshot.toJSON() : snapshot;
  const lines = [`target ${json.target}${extras.connection === undefined ? "" : `  (xDS ${extras.connection})`}`];
  lines.push(`  listener ${stateLine(json.listener)}`);
  if (json.routeConfiguration !== undefined) lines.push(`  route configuration ${stateLine(json.routeConfiguration)}`);
  const host = json.virtualHost;
  if (host !== undefined) {
    lines.push(`routes (virtual host ${host.name})`);
    for (const route of host.routes) {
      const timeout = route.timeoutMs === undefined ? "" : `  timeout ${route.timeoutMs} ms`;
      lines.push(`  [${route.index}] ${route.name === "" ? "" : `${route.name}: `}${route.match} → ${route.to}${timeout}`);
    }
  }
  lines.push("clusters");
  for (const cluster of json.clusters) lines.push(...clusterLines(cluster, extras.balancing));
  const troubled = (extras.resources ?? []).filter((r) => r.state === "NACKED" || r.error !== undefined);
  if (troubled.length > 0) {
    lines.push("NACKs and errors");
    for (const r of troubled) {
      const what = `  ${r.typeUrl.slice(r.typeUrl.lastIndexOf(".") + 1)} ${r.name}`;
      if (r.state === "NACKED") lines.push(`${what}: version ${r.rejectedVersion ?? ""} rejected${r.version === "" ? "" : ` (serving version ${r.version})`}: ${r.reason ?? ""}`);
      else lines.push(`${what}: ${r.error}`);
    }
  }
  return lines;
}

function stateLine(resource: ResourceStateJson): string {
  return resource.state === "present" ? resource.name : resource.state === "absent" ? `${resource.name} does not exist` : `${resource.name} rejected: ${resource.error}`;
}

function clusterLines(cluster: ClusterJson, balancing: BalancingStatus | undefined): string[] {
  if (cluster.state !== "present") return [`  ${stateLine(cluster)}`];
  const policies = [cluster.discovery, lbPolicyText(cluster.lbPolicy), `max_requests ${cluster.maxRequests}`];
  const od = cluster.outlierDetection;
  if (od !== undefined) policies.push(`outlier detection every ${od.intervalMs} ms, eject ${od.baseEjectionTimeMs} ms, at most ${od.maxEjectionPercent}%`);
  if (cluster.tlsSubjectAltNames !== undefined) policies.push(`mTLS ${cluster.tlsSubjectAltNames.join(", ") || "(any SAN)"}`);
  const lines = [`  ${cluster.name}  ${policies.filter((p) => p !== undefined).join("  ")}`];
  if (cluster.children !== undefined) lines.push(`    aggregate of ${cluster.children.join(", ")}`);
  if (cluster.endpointCount === 0) {
    if (cluster.children === undefined) lines.push("    no endpoints");
    return lines;
  }
  const ejected = ejectionsOf(cluster.name, balancing);
  const rows = cluster.endpoints.map((e) => [e.address, e.health, String(e.weight), String(e.priority), e.locality || "-", ejected?.get(e.address) ?? "-"]);
  lines.push(...textTable(["ENDPOINT", "HEALTH", "WEIGHT", "PRIORITY", "LOCALITY", "EJECTED"], rows, "    "));
  const more = cluster.endpointCount - cluster.endpoints.length;
  if (more > 0) lines.push(`    … and ${more} more (${cluster.usableEndpointCount} of ${cluster.endpointCount} usable)`);
  return lines;
}

function lbPolicyText(policy: LbPolicyModel | undefined): string | undefined {
  if (policy === undefined) return undefined;
  switch (policy.kind) {
    case "LEAST_REQUEST":
      return `LEAST_REQUEST (${policy.choiceCount} choices)`;
    case "RING_HASH":
      return `RING_HASH (ring ${policy.minRingSize}..${policy.maxRingSize})`;
    case "MAGLEV":
      return `MAGLEV (table ${policy.tableSize})`;
    default:
      return policy.kind;
  }
}

/**
 * The EJECTED column of a cluster's endpoints by `address:port`: `no`, or `yes until <time>: <reason>`; undefined
 * when the cluster has no outlier detection or no balancing status is known.
 */
function ejectionsOf(cluster: string, balancing: BalancingStatus | undefined): Map<string, string> | undefined {
  const status = balancing?.clusters.find((c) => c.name === cluster);
  if (status === undefined || !status.outlierDetection) return undefined;
  const column = new Map<string, string>();
  for (const e of status.endpoints) {
    column.set(`${e.address}:${e.port}`, e.ejection === undefined ? "no" : `yes until ${new Date(e.ejection.until).toISOString()}: ${e.ejection.reason}`);
  }
  return column;
}
