// A ServiceSnapshot as plain, bounded JSON (its toJSON()): what a target routes to, for console.log, structured logs
// and `rxds watch`. Models hold compiled matchers, Maps and up to 100k endpoints; this keeps names, states, where
// each route goes, cluster policies and at most MAX_ENDPOINTS endpoints per cluster.

import type { EndpointHealth } from "../resources/endpoints.js";
import type { LbPolicyModel } from "../resources/cluster-lb-policy.js";
import type { OutlierDetectionModel } from "../resources/cluster-outlier-detection.js";
import type { RouteActionModel } from "../resources/route-action.js";
import type { XdsError } from "../xds-error.js";
import type { ClusterSnapshot, ServiceSnapshot } from "./service-snapshot.js";

/** The most endpoints listed per cluster; `endpointCount` says how many there are. */
export const MAX_ENDPOINTS = 100;

/** A resource of a snapshot: its name and whether it is there, absent, or unusable (with why). */
export interface ResourceStateJson {
  /** The resource name; "(inline)" for a route configuration inside its listener. */
  readonly name: string;
  /** `present`, `absent`, or `error` (its first version rejected, or no control plane to ask: gRFC A88). */
  readonly state: "present" | "absent" | "error";
  /** For `error`: `CODE: message`. */
  readonly error?: string;
}

/** One route of the virtual host: where it sends calls. */
export interface RouteJson {
  readonly index: number;
  /** "" when unnamed. */
  readonly name: string;
  /** What its match tests, in words: `prefix "/", header stage exact "canary"`. */
  readonly match: string;
  /** The cluster, the weighted clusters (`name weight/total`, comma-separated), a header naming it, or an unsupported action. */
  readonly to: string;
  /** route.timeout in ms, when set. */
  readonly timeoutMs?: number;
}

/** One endpoint of a cluster. */
export interface EndpointJson {
  /** `address:port`. */
  readonly address: string;
  readonly health: EndpointHealth;
  readonly weight: number;
  readonly priority: number;
  /** `region/zone/subZone` (empty parts left out); "" when none. */
  readonly locality: string;
}

/** One cluster of a snapshot: its state, how it is balanced, and its endpoints. */
export interface ClusterJson extends ResourceStateJson {
  /** How it finds endpoints: `EDS <service name>`, `STATIC`, `LOGICAL_DNS host:port`, `AGGREGATE`… */
  readonly discovery?: string;
  readonly lbPolicy?: LbPolicyModel;
  /** circuit_breakers max_requests (gRFC A32). */
  readonly maxRequests?: number;
  readonly outlierDetection?: OutlierDetectionModel;
  /** For a TLS cluster: the SANs its endpoints' certificates must match (empty: any). */
  readonly tlsSubjectAltNames?: readonly string[];
  /** For an aggregate cluster: its clusters, in priority order. */
  readonly children?: readonly string[];
  /** How many endpoints it has, and how many of them may be picked (HEALTHY or UNKNOWN). */
  readonly endpointCount: number;
  readonly usableEndpointCount: number;
  /** The first MAX_ENDPOINTS endpoints, by priority and locality. */
  readonly endpoints: readonly EndpointJson[];
}

/** What ServiceSnapshot.toJSON() returns. */
export interface ServiceSnapshotJson {
  readonly target: string;
  readonly listener: ResourceStateJson;
  /** Undefined when the listener has no HTTP routes to look up. */
  readonly routeConfiguration?: ResourceStateJson;
  /** The virtual host chosen for the target, with its routes; undefined when none matches. */
  readonly virtualHost?: { readonly name: string; readonly domains: readonly string[]; readonly routes: readonly RouteJson[] };
  readonly clusters: readonly ClusterJson[];
}

/** The snapshot as plain JSON. */
export function serviceSnapshotJson(snapshot: ServiceSnapshot): ServiceSnapshotJson {
  const host = snapshot.virtualHost;
  const hasRoutes = snapshot.routeConfigurationName !== undefined || snapshot.routeConfiguration !== undefined || snapshot.routeConfigurationError !== undefined;
  return {
    target: snapshot.target,
    listener: stateOf(snapshot.listenerName, snapshot.listener, snapshot.listenerError),
    ...(hasRoutes
      ? { routeConfiguration: stateOf(snapshot.routeConfigurationName ?? "(inline)", snapshot.routeConfiguration, snapshot.routeConfigurationError) }
      : {}),
    ...(host === undefined
      ? {}
      : {
          virtualHost: {
            name: host.name,
            domains: host.domains,
            routes: host.routes.map((route) => ({
              index: route.index,
              name: route.name,
              match: route.matchText,
              to: destinationOf(route.action),
              ...(route.timeoutMs === undefined ? {} : { timeoutMs: route.timeoutMs }),
            })),
          },
        }),
    clusters: [...snapshot.clusters.values()].map(clusterJson),
  };
}

/** Where a route action sends calls, in words. */
export function destinationOf(action: RouteActionModel): string {
  switch (action.kind) {
    case "cluster":
      return action.cluster;
    case "weighted_clusters":
      return action.clusters.map((c) => `${c.name || `header ${c.clusterHeader}`} ${c.weight}/${action.totalWeight}`).join(", ");
    case "cluster_header":
      return `the cluster named by header ${action.header}`;
    case "unsupported":
      return `${action.action} (not forwarded)`;
  }
}

function stateOf(name: string, value: unknown, error: XdsError | undefined): ResourceStateJson {
  if (error !== undefined) return { name, state: "error", error: `${error.code}: ${error.message}` };
  return { name, state: value === undefined ? "absent" : "present" };
}

function clusterJson(snapshot: ClusterSnapshot): ClusterJson {
  const cluster = snapshot.cluster;
  const endpoints: EndpointJson[] = [];
  let usable = 0;
  snapshot.endpoints?.priorities.forEach((localities, priority) => {
    for (const locality of localities) {
      const where = [locality.region, locality.zone, locality.subZone].filter((part) => part !== "").join("/");
      for (const e of locality.endpoints) {
        if (e.usable) usable++;
        if (endpoints.length < MAX_ENDPOINTS) endpoints.push({ address: `${e.address}:${e.port}`, health: e.health, weight: e.weight, priority, locality: where });
      }
    }
  });
  const discovery = cluster?.discovery;
  return {
    ...stateOf(snapshot.name, cluster, snapshot.error),
    ...(discovery === undefined
      ? {}
      : {
          discovery:
            discovery.kind === "EDS"
              ? `EDS ${discovery.serviceName}`
              : discovery.kind === "LOGICAL_DNS" || discovery.kind === "STRICT_DNS"
                ? `${discovery.kind} ${discovery.host}:${discovery.port}`
                : discovery.kind,
          lbPolicy: cluster!.lbPolicy,
          maxRequests: cluster!.maxRequests,
          ...(cluster!.outlierDetection === undefined ? {} : { outlierDetection: cluster!.outlierDetection }),
          ...(cluster!.tls === undefined ? {} : { tlsSubjectAltNames: cluster!.tls.subjectAltNames }),
        }),
    ...(snapshot.children.length === 0 ? {} : { children: snapshot.children }),
    endpointCount: snapshot.endpoints?.endpointCount ?? 0,
    usableEndpointCount: usable,
    endpoints,
  };
}
