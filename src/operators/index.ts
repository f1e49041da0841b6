// rxds/operators: compose rxds's streams with RxJS.
//
//   import { init } from "rxds";
//   import { endpointChanges, perEndpoint, routeWith, whenReady } from "rxds/operators";
//   await whenReady(xds, "kitex-server:8888");
//   jobs$.pipe(routeWith(xds.router("kitex-server:8888"))).subscribe((decision) => …);

/** Routes each request of a stream with the latest Router of a Router stream; emits its RouteDecision or XdsError. */
export { routeWith } from "./route-with.js";
/** What routeWith routes, what it emits per item, and its bounds on items that arrive before the first Router. */
export type { Routable, RouteResult, RouteWithOptions } from "./route-with.js";
/** Turns an endpoints stream or a target's snapshots into `{ added, removed, changed, size }` diffs keyed by address. */
export { endpointChanges } from "./endpoint-changes.js";
/** An endpoint of a set keyed by address, a diff of such sets, and the sources endpoint sets are read from. */
export type { EndpointChanges, EndpointSource, Locality, MeshEndpoint } from "./endpoint-set.js";
/** Keeps one resource per endpoint of an endpointChanges() stream: created on add, disposed on remove and on teardown. */
export { perEndpoint } from "./per-endpoint.js";
/** How perEndpoint creates, updates and disposes each endpoint's resource. */
export type { PerEndpointOptions } from "./per-endpoint.js";
/** The flat, de-duplicated usable endpoint set of a target across its clusters, for users who balance themselves. */
export { endpointsOf } from "./endpoints-of.js";
/** Readiness of a target: a Promise for startup gates, a stream for readiness probes, and the rule for one snapshot. */
export { ready$, targetReadiness, whenReady } from "./readiness.js";
/** A target's readiness (ready, or not with an XdsError saying why), and what readiness reads snapshots from. */
export type { Readiness, SnapshotSource } from "./readiness.js";
/** The Router a router$ carries and the RouteDecision it makes, as routeWith passes them on. */
export type { RouteDecision, Router } from "../routing/router.js";
/** An HTTP/gRPC request as routeWith routes it: `{ path, headers }`. */
export type { RouteRequest } from "../resources/match/route-match.js";
/** A Thrift call as routeWith routes it: `{ service, method, headers }`. */
export type { ThriftCall } from "../resources/thrift-route-configuration.js";
/** A target's snapshot (what endpointChanges, endpointsOf and readiness read) and one of its clusters. */
export type { ClusterSnapshot, ServiceSnapshot } from "../routing/service-snapshot.js";
