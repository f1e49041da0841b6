// Readiness of a target, for startup gates (`await whenReady(xds, target)`) and readiness probes (`ready$`).
//
// A target is ready when its snapshot can route a call somewhere: a listener and, for HTTP routes, a route
// configuration and a virtual host for the target (or Thrift routes), with at least one referenced cluster that
// has a usable endpoint. Otherwise it is not ready, with the reason as an XdsError: the listener's or route
// configuration's resource error (gRFC A88: INVALID_RESOURCE, or CONTROL_PLANE_UNAVAILABLE when the control plane
// could not be reached, gRFC A57), or LISTENER_ABSENT, ROUTE_CONFIGURATION_ABSENT, NO_HTTP_ROUTES, NO_ROUTE, or,
// when no cluster can take traffic, the first cluster's reason (its resource error, CLUSTER_ABSENT,
// UNSUPPORTED_CLUSTER or NO_HEALTHY_ENDPOINT).

import type { Observable } from "rxjs";
import { distinctUntilChanged, firstValueFrom, map } from "../rx.js";
import type { ClusterSnapshot, ServiceSnapshot } from "../routing/service-snapshot.js";
import type { XdsClient } from "../xds-client.js";
import { XdsError } from "../xds-error.js";

/** What readiness needs of the client: its per-target snapshot streams. */
export type SnapshotSource = Pick<XdsClient, "resolve">;

/** Whether a target can route calls now, and if not, why. */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly error: XdsError };

const READY: Readiness = Object.freeze({ ready: true });

/**
 * The readiness of `target`, from its first snapshot on, each time it changes (a change of reason counts).
 * Never errors for absence or a resource error: those are `ready: false` values. Completes when the client closes.
 * Cold; the client shares one snapshot stream per target among subscribers, and the last to leave drops its watches.
 * Throws an XdsError at once on a malformed target.
 */
export function ready$(xds: SnapshotSource, target: string): Observable<Readiness> {
  return xds.resolve(target).pipe(
    map(targetReadiness),
    distinctUntilChanged((a, b) => (a.ready ? b.ready : !b.ready && a.error.code === b.error.code && a.error.message === b.error.message)),
  );
}

/**
 * Resolves with the first snapshot of `target` when it is ready; rejects with why it is not (the A57/A88 error,
 * absence, no usable endpoint), with CLOSED when the client closes first, or with INVALID_ARGUMENT for a malformed
 * target. Leaves no subscription behind either way.
 */
export async function whenReady(xds: SnapshotSource, target: string): Promise<ServiceSnapshot> {
  const snapshot = await firstValueFrom(xds.resolve(target), { defaultValue: undefined });
  if (snapshot === undefined) throw new XdsError("CLOSED", `the xDS client closed before target ${JSON.stringify(target)} resolved`);
  const readiness = targetReadiness(snapshot);
  if (!readiness.ready) throw readiness.error;
  return snapshot;
}

/** Whether `snapshot` can route a call somewhere (see the top of this file), and if not, why. */
export function targetReadiness(snapshot: ServiceSnapshot): Readiness {
  const target = JSON.stringify(snapshot.target);
  const listener = snapshot.listener;
  const listenerName = JSON.stringify(snapshot.listenerName);
  if (listener === undefined) {
    const error = snapshot.listenerError;
    if (error !== undefined) return notReady(error.code, `listener ${listenerName} for target ${target} has no usable version: ${error.message}`);
    return notReady("LISTENER_ABSENT", `listener ${listenerName} for target ${target} does not exist`);
  }
  if (listener.httpConnectionManagers.length > 0) {
    const config = snapshot.routeConfiguration;
    const configName = snapshot.routeConfigurationName === undefined ? "the inline route configuration" : `route configuration ${JSON.stringify(snapshot.routeConfigurationName)}`;
    if (config === undefined) {
      const error = snapshot.routeConfigurationError;
      if (error !== undefined) return notReady(error.code, `${configName} of target ${target} has no usable version: ${error.message}`);
      return notReady("ROUTE_CONFIGURATION_ABSENT", `${configName} of target ${target} does not exist`);
    }
    if (snapshot.virtualHost === undefined) return notReady("NO_ROUTE", `no virtual host of ${configName} matches target ${target}`);
  } else if (!listener.thriftProxies.some((proxy) => proxy.routes.kind === "inline")) {
    return notReady("NO_HTTP_ROUTES", `listener ${listenerName} for target ${target} holds no HTTP routes and no inline Thrift routes`);
  }
  let first: Readiness | undefined;
  for (const cluster of snapshot.clusters.values()) {
    if (hasUsableEndpoint(cluster)) return READY;
    if (first === undefined && cluster.children.length === 0) first = clusterFailure(cluster, target);
  }
  return first ?? notReady("NO_ROUTE", `the routes of target ${target} reference no cluster`);
}

/** Whether picking can find an endpoint in `cluster`: a usable one in a locality that takes traffic (weight 0 takes none, unless no locality of the priority has a weight). */
function hasUsableEndpoint(cluster: ClusterSnapshot): boolean {
  for (const localities of cluster.endpoints?.priorities ?? []) {
    const weighted = localities.some((l) => l.weight > 0);
    for (const locality of localities) if ((!weighted || locality.weight > 0) && locality.endpoints.some((e) => e.usable)) return true;
  }
  return false;
}

/** Why a leaf cluster without a usable endpoint cannot take traffic. */
function clusterFailure(cluster: ClusterSnapshot, target: string): Readiness {
  const what = `no cluster of target ${target} can take traffic: cluster ${JSON.stringify(cluster.name)}`;
  if (cluster.error !== undefined) return notReady(cluster.error.code, `${what} has no usable version: ${cluster.error.message}`);
  if (cluster.cluster === undefined) return notReady("CLUSTER_ABSENT", `${what} does not exist`);
  if (cluster.cluster.discovery.kind === "ORIGINAL_DST") return notReady("UNSUPPORTED_CLUSTER", `${what} is ORIGINAL_DST, which a client cannot send to`);
  return notReady("NO_HEALTHY_ENDPOINT", `${what} has no healthy endpoint`);
}

function notReady(code: XdsError["code"], message: string): Readiness {
  return { ready: false, error: new XdsError(code, message) };
}
