// A text view of a target's ServiceSnapshot: its listener and route configuration, the routes of its virtual host
// with where they send calls, and every cluster with its endpoints. Pure: the `rxds watch` command may reuse it.
import type { ClusterSnapshot, ServiceSnapshot } from "rxds/operators";

/** The lines that describe `snapshot`. */
export function renderTarget(snapshot: ServiceSnapshot): string[] {
  const lines = [`target ${snapshot.target}`];
  const listener = snapshot.listenerError ? `rejected: ${snapshot.listenerError.message}` : snapshot.listener ? "" : "does not exist";
  lines.push(`  listener ${snapshot.listenerName} ${listener}`.trimEnd());
  if (snapshot.routeConfigurationName !== undefined || snapshot.routeConfiguration !== undefined) {
    const state = snapshot.routeConfigurationError ? `rejected: ${snapshot.routeConfigurationError.message}` : snapshot.routeConfiguration ? "" : "does not exist";
    lines.push(`  route configuration ${snapshot.routeConfigurationName ?? "(inline)"} ${state}`.trimEnd());
  }
  const host = snapshot.virtualHost;
  if (host !== undefined) {
    lines.push(`routes (virtual host ${host.name})`);
    for (const route of host.routes) {
      const action = route.action;
      const to =
        action.kind === "cluster"
          ? action.cluster
          : action.kind === "weighted_clusters"
            ? action.clusters.map((c) => `${c.name || `header ${c.clusterHeader}`} ${c.weight}/${action.totalWeight}`).join(", ")
            : action.kind === "cluster_header"
              ? `the cluster named by header ${action.header}`
              : `${action.action} (not forwarded)`;
      const timeout = route.timeoutMs === undefined ? "" : `  timeout ${route.timeoutMs} ms`;
      lines.push(`  [${route.index}] ${route.name || "(unnamed)"} → ${to}${timeout}`);
    }
  }
  lines.push("clusters");
  for (const cluster of snapshot.clusters.values()) lines.push(...renderCluster(cluster));
  return lines;
}

function renderCluster(cluster: ClusterSnapshot): string[] {
  const state = cluster.error ? `rejected: ${cluster.error.message}` : cluster.cluster ? cluster.cluster.discovery.kind : "does not exist";
  const lines = [`  ${cluster.name}  ${state}`];
  if (cluster.children.length > 0) lines.push(`    aggregate of ${cluster.children.join(", ")}`);
  cluster.endpoints?.priorities.forEach((localities, priority) => {
    for (const locality of localities) {
      const where = [locality.region, locality.zone, locality.subZone].filter((part) => part !== "").join("/") || "(no locality)";
      for (const e of locality.endpoints) lines.push(`    ${e.address}:${e.port}  ${e.health}  weight ${e.weight}  priority ${priority}  ${where}`);
    }
  });
  return lines;
}
