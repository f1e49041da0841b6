// A Router: one immutable ServiceSnapshot compiled for synchronous per-call routing.
//
// route(request) tries the snapshot's virtual host's routes in order; the first match decides
// the cluster (fixed, weighted random, or named by a header), whose endpoint picker gives the
// endpoint. The pickers come from the `picking` option (cluster-picking.ts; the balancing layer
// implements it and keeps their state across Routers). Every matcher and per-route constant is
// built by createRouter; a successful route() allocates only its decision object, which holds the
// picked endpoint until its done() (route-decision.ts). The request hash (request-hash.ts) is
// computed only for clusters whose policy uses it (ring hash, Maglev). Routes whose
// literal path prefix (exact path, prefix, a regex's literal prefix) the request's path lacks are
// skipped without calling their matcher (match/prefix-index.ts): they cannot match, and a matcher
// that fails on the path draws no random number, so the first match is the same as trying them all. Each route also
// carries the HTTP filters its calls go through (route-http-filters.ts), worked out here once per route.

//
// Timeout (RouteDecision.timeoutMs), per gRFC A31 with a fallback for non-gRPC routes:
//   route max_stream_duration.grpc_timeout_header_max, if set;
//   else route max_stream_duration.max_stream_duration, if set;
//   else the HttpConnectionManager's common_http_protocol_options.max_stream_duration, if set;
//   else the route `timeout`.
// The first one *set* wins, and 0 there means no timeout. A gRPC client applies the result as a
// cap on the application's deadline (A31). The route `timeout` is not part of A31 — gRPC ignores
// it — but it is the only limit Istio gives a sidecar-style (non-GENERATOR=grpc) client and the
// one kitex-contrib/xds applies, so it is used when none of the three is set. Istio's proxyless
// routes carry both, equal, so both readings agree there. Thrift routes carry no timeout.
//
// Errors are returned, not thrown: LISTENER_ABSENT, ROUTE_CONFIGURATION_ABSENT, NO_HTTP_ROUTES,
// NO_ROUTE, UNSUPPORTED_ACTION, CLUSTER_ABSENT, UNSUPPORTED_CLUSTER, NO_HEALTHY_ENDPOINT,
// CIRCUIT_BREAKER_OPEN, each naming
// what is missing; a listener, route configuration or cluster with a resource error (gRFC A88) gives
// that error's code (INVALID_RESOURCE, CONTROL_PLANE_UNAVAILABLE) and names the resource and reason.

import type { HttpConnectionManagerEntry } from "../resources/listener.js";
import { createPrefixIndex } from "../resources/match/prefix-index.js";
import type { RandomSource, RouteRequest } from "../resources/match/route-match.js";
import type { RequestHeaders } from "../resources/match/route-match.js";
import type { RouteActionModel, WeightedClusterModel } from "../resources/route-action.js";
import type { RouteModel } from "../resources/route-configuration.js";
import type { HashPolicyModel, RetryPolicyModel } from "../resources/route-policies.js";
import type { ThriftCall, ThriftRouteConfigurationModel } from "../resources/thrift-route-configuration.js";
import { XdsError, type XdsErrorCode } from "../xds-error.js";
import type { CallMetrics } from "./call-metrics.js";
import { isPickFailure, type ClusterPickers, type ClusterPicking, type EndpointPicker, type PickFailure } from "./cluster-picking.js";
import { requestHasher, type RequestHasher } from "./request-hash.js";
import { Decision, type RouteDecision } from "./route-decision.js";
import { routeHttpFilters, type CallHttpFilter } from "./route-http-filters.js";
import type { ServiceSnapshot } from "./service-snapshot.js";
import type { ServiceSnapshotJson } from "./service-snapshot-json.js";

const inspect = Symbol.for("nodejs.util.inspect.custom");

export type { RouteDecision } from "./route-decision.js";

/** Routes calls with one snapshot; immutable, synchronous. */
export interface Router {
  /** The snapshot this router was built from. */
  readonly snapshot: ServiceSnapshot;
  /** Routes an HTTP/gRPC call by its path and headers; the decision holds its endpoint until its done(). */
  route(request: RouteRequest): RouteDecision | XdsError;
  /** Routes a Thrift call with the listener's ThriftProxy routes; the decision holds its endpoint until its done(). */
  routeThrift(call: { readonly service: string; readonly method: string; readonly headers: RequestHeaders }): RouteDecision | XdsError;
  /** What it routes with, as plain JSON: what logs and console.log show. */
  toJSON(): RouterJson;
}

/** What Router.toJSON() returns. */
export interface RouterJson {
  readonly target: string;
  /** `<n> routes`, or why HTTP/gRPC calls fail: `CODE: message`. */
  readonly httpRoutes: string;
  /** `<n> routes`, or why Thrift calls fail: `CODE: message`. */
  readonly thriftRoutes: string;
  readonly snapshot: ServiceSnapshotJson;
}

/** Options of createRouter. */
export interface RouterOptions {
  /** Where the endpoint pickers come from (the balancing layer's TargetBalancer, one per target's router stream). */
  readonly picking: ClusterPicking;
  /** The random source for weighted clusters, runtime fractions and the hash of a request no hash policy hashes; default Math.random. */
  readonly random?: RandomSource;
  /** Where decisions report for per-call metrics (call-metrics.ts); default none: nothing is recorded. */
  readonly metrics?: CallMetrics;
}

/** A precomputed reason every call fails. */
interface Failure {
  readonly code: XdsErrorCode;
  readonly message: string;
}

/** A cluster as routing sees it: its picker, or why it cannot be picked from. */
interface ClusterEntry {
  readonly name: string;
  readonly result: EndpointPicker | PickFailure;
}

/** A route compiled against the snapshot. */
interface CompiledRoute {
  readonly name: string;
  readonly index: number;
  readonly label: string;
  readonly matches: (request: RouteRequest, random: RandomSource) => boolean;
  /** Text every path `matches` accepts starts with; "" when none is known. */
  readonly pathPrefix: string;
  readonly action: RouteActionModel;
  /** For a `cluster` action, its entry. */
  readonly fixed: ClusterEntry | undefined;
  readonly timeoutMs: number | undefined;
  readonly retryPolicy: RetryPolicyModel | undefined;
  readonly hashPolicy: readonly HashPolicyModel[];
  /** The request hash of the route's hash policies; undefined when it has none. */
  readonly hasher: RequestHasher | undefined;
  /** The HTTP filters its calls go through; undefined for none. */
  readonly httpFilters: readonly CallHttpFilter[] | undefined;
  /** For weighted cluster entries with filter overrides of their own, their calls' filters. */
  readonly entryFilters: ReadonlyMap<WeightedClusterModel, readonly CallHttpFilter[] | undefined> | undefined;
}

const NO_HASH: readonly HashPolicyModel[] = Object.freeze([]);

/** Compiles a snapshot into a Router. */
export function createRouter(snapshot: ServiceSnapshot, options: RouterOptions): Router {
  const random = options.random ?? Math.random;
  const metrics = options.metrics;
  const pickerFor: ClusterPickers = options.picking.pickers(snapshot.clusters);
  const entries = new Map<string, ClusterEntry>();
  const entryFor = (name: string): ClusterEntry => {
    let entry = entries.get(name);
    if (entry === undefined) {
      entry = { name, result: pickerFor(name) };
      entries.set(name, entry);
    }
    return entry;
  };
  for (const name of snapshot.clusters.keys()) entryFor(name);

  const compiled = compileHttp(snapshot, entryFor);
  const failure = isFailure(compiled) ? compiled : undefined;
  const http: readonly CompiledRoute[] = isFailure(compiled) ? [] : compiled;
  const thrift = compileThrift(snapshot, entryFor);
  const candidatesFor = createPrefixIndex(http.map((route) => route.pathPrefix));

  function decide(route: CompiledRoute, request: RouteRequest): RouteDecision | XdsError {
    let entry: ClusterEntry | undefined = route.fixed;
    let filters = route.httpFilters;
    const action = route.action;
    if (entry === undefined) {
      let name: string | undefined;
      let header: string | undefined;
      if (action.kind === "weighted_clusters") {
        const picked = action.pick(random);
        if (route.entryFilters?.has(picked) === true) filters = route.entryFilters.get(picked);
        if (picked.clusterHeader === undefined) name = picked.name;
        else header = picked.clusterHeader;
      } else if (action.kind === "cluster_header") {
        header = action.header;
      } else if (action.kind === "unsupported") {
        return new XdsError("UNSUPPORTED_ACTION", `${route.label} has a ${action.action} action, which a client cannot forward`);
      }
      if (header !== undefined) {
        name = firstValue(request.headers[header]);
        if (name === undefined || name === "") {
          return new XdsError("CLUSTER_ABSENT", `${route.label} names its cluster by header ${JSON.stringify(header)}, which the request lacks`);
        }
      }
      entry = entries.get(name!) ?? { name: name!, result: pickerFor(name!) };
    }
    const picker = entry.result;
    if (isPickFailure(picker)) return new XdsError(picker.code, `${picker.message} (picked by ${route.label})`);
    // A request no hash policy hashes gets a random hash, as in gRPC: a random endpoint of the ring.
    const hash = picker.hashed ? (route.hasher?.(request) ?? Math.floor(random() * 2 ** 53)) : 0;
    const picked = picker.pick(hash);
    if (isPickFailure(picked)) return new XdsError(picked.code, `${picked.message} (picked by ${route.label})`);
    return new Decision(route, entry.name, picked, filters, picker, hash, metrics);
  }

  const toJSON = (): RouterJson => ({
    target: snapshot.target,
    httpRoutes: failure === undefined ? `${http.length} routes` : `${failure.code}: ${failure.message}`,
    thriftRoutes: thrift.failure === undefined ? `${thrift.routes.length} routes` : `${thrift.failure.code}: ${thrift.failure.message}`,
    snapshot: snapshot.toJSON(),
  });
  return Object.freeze({
    snapshot,
    toJSON,
    [inspect]: (depth: number, options: object, nodeInspect: (value: unknown, options: object) => string) => `Router ${nodeInspect(toJSON(), { ...options, depth: depth + 7 })}`,
    route(request: RouteRequest): RouteDecision | XdsError {
      if (failure !== undefined) return new XdsError(failure.code, failure.message);
      const path = request.path;
      const queryAt = path.indexOf("?");
      const candidates = candidatesFor(path, queryAt < 0 ? path.length : queryAt);
      for (let i = 0; i < candidates.length; i++) {
        const route = http[candidates[i]!]!;
        if (route.matches(request, random)) return decide(route, request);
      }
      const host = snapshot.virtualHost!;
      return new XdsError("NO_ROUTE", `no route of virtual host ${JSON.stringify(host.name)} (target ${JSON.stringify(snapshot.target)}) matches path ${JSON.stringify(request.path)}`);
    },
    routeThrift(call: ThriftCall): RouteDecision | XdsError {
      if (thrift.failure !== undefined) return new XdsError(thrift.failure.code, thrift.failure.message);
      const model = thrift.model!;
      const matched = model.route(call);
      if (matched === undefined) {
        return new XdsError(
          "NO_ROUTE",
          `no route of thrift route configuration ${JSON.stringify(model.name)} (target ${JSON.stringify(snapshot.target)}) matches service ${JSON.stringify(call.service)} method ${JSON.stringify(call.method)}`,
        );
      }
      return decide(thrift.routes[matched.index]!, { path: "", headers: call.headers });
    },
  });
}

function isFailure(value: readonly CompiledRoute[] | Failure): value is Failure {
  return "code" in value;
}

function firstValue(value: string | readonly string[] | undefined): string | undefined {
  return value === undefined || typeof value === "string" ? value : value[0];
}

/** Why the snapshot has no listener: its resource error, or its absence. */
function listenerFailure(snapshot: ServiceSnapshot): Failure {
  const what = `listener ${JSON.stringify(snapshot.listenerName)} for target ${JSON.stringify(snapshot.target)}`;
  const error = snapshot.listenerError;
  if (error !== undefined) return { code: error.code, message: `${what} has no usable version: ${error.message}` };
  return { code: "LISTENER_ABSENT", message: `${what} does not exist` };
}

function compileHttp(snapshot: ServiceSnapshot, entryFor: (name: string) => ClusterEntry): readonly CompiledRoute[] | Failure {
  const listener = snapshot.listener;
  if (listener === undefined) return listenerFailure(snapshot);
  if (listener.httpConnectionManagers.length === 0) {
    const holds = listener.thriftProxies.length > 0 ? "only ThriftProxy routes (for routeThrift)" : "no HttpConnectionManager (e.g. only tcp_proxy filters)";
    return { code: "NO_HTTP_ROUTES", message: `listener ${JSON.stringify(listener.name)} (target ${JSON.stringify(snapshot.target)}) has no HTTP routes: it holds ${holds}` };
  }
  const config = snapshot.routeConfiguration;
  if (config === undefined) {
    const what = snapshot.routeConfigurationName === undefined ? "its route configuration" : `route configuration ${JSON.stringify(snapshot.routeConfigurationName)}`;
    const error = snapshot.routeConfigurationError;
    if (error !== undefined) return { code: error.code, message: `${what} (of listener ${JSON.stringify(listener.name)}) has no usable version: ${error.message}` };
    return { code: "ROUTE_CONFIGURATION_ABSENT", message: `${what} (of listener ${JSON.stringify(listener.name)}) does not exist` };
  }
  const host = snapshot.virtualHost;
  if (host === undefined) {
    return { code: "NO_ROUTE", message: `no virtual host of route configuration ${JSON.stringify(config.name)} matches target ${JSON.stringify(snapshot.target)}` };
  }
  const hcm = connectionManagerFor(snapshot);
  const hcmMs = hcm?.maxStreamDurationMs;
  const hcmFilters = hcm?.httpFilters ?? [];
  return Object.freeze(
    host.routes.map((route): CompiledRoute => {
      const label = `route ${route.name === "" ? "" : JSON.stringify(route.name) + " "}(virtual host ${JSON.stringify(host.name)} routes[${route.index}])`;
      const levels = [route.typedPerFilterConfig, host.typedPerFilterConfig];
      let entryFilters: Map<WeightedClusterModel, readonly CallHttpFilter[] | undefined> | undefined;
      if (route.action.kind === "weighted_clusters") {
        for (const entry of route.action.clusters) {
          if (entry.typedPerFilterConfig.size > 0) (entryFilters ??= new Map()).set(entry, routeHttpFilters(hcmFilters, [entry.typedPerFilterConfig, ...levels]));
        }
      }
      return {
        name: route.name,
        index: route.index,
        label,
        matches: route.matches,
        pathPrefix: route.pathPrefix,
        action: route.action,
        fixed: route.action.kind === "cluster" ? entryFor(route.action.cluster) : undefined,
        timeoutMs: effectiveTimeoutMs(route, hcmMs),
        retryPolicy: route.retryPolicy,
        hashPolicy: route.hashPolicy,
        hasher: requestHasher(route.hashPolicy),
        httpFilters: routeHttpFilters(hcmFilters, levels),
        entryFilters,
      };
    }),
  );
}

/** The call timeout of a route: A31's chain, then the route timeout; 0 means none (see the top of this file). */
export function effectiveTimeoutMs(route: RouteModel, connectionManagerMaxStreamDurationMs: number | undefined): number | undefined {
  const limit = route.maxStreamDuration;
  const ms = limit?.grpcTimeoutHeaderMaxMs ?? limit?.maxStreamDurationMs ?? connectionManagerMaxStreamDurationMs ?? route.timeoutMs;
  return ms === undefined || ms === 0 ? undefined : ms;
}

/** The HttpConnectionManager that leads to the snapshot's route configuration. */
function connectionManagerFor(snapshot: ServiceSnapshot): HttpConnectionManagerEntry | undefined {
  const hcms = snapshot.listener?.httpConnectionManagers ?? [];
  const rdsName = snapshot.routeConfigurationName;
  return (
    hcms.find((h) => (rdsName === undefined ? h.routes.kind === "inline" : h.routes.kind === "rds" && h.routes.routeConfigName === rdsName)) ??
    hcms[0]
  );
}

interface CompiledThrift {
  readonly failure: Failure | undefined;
  readonly model: ThriftRouteConfigurationModel | undefined;
  readonly routes: readonly CompiledRoute[];
}

function compileThrift(snapshot: ServiceSnapshot, entryFor: (name: string) => ClusterEntry): CompiledThrift {
  const fail = (code: XdsErrorCode, message: string): CompiledThrift => ({ failure: { code, message }, model: undefined, routes: [] });
  const listener = snapshot.listener;
  if (listener === undefined) {
    const failure = listenerFailure(snapshot);
    return fail(failure.code, failure.message);
  }
  const proxy = listener.thriftProxies.find((t) => t.routes.kind === "inline") ?? listener.thriftProxies[0];
  if (proxy === undefined || proxy.routes.kind === "none") {
    return fail("ROUTE_CONFIGURATION_ABSENT", `listener ${JSON.stringify(listener.name)} has no ThriftProxy filter with routes`);
  }
  if (proxy.routes.kind === "trds") {
    return fail(
      "ROUTE_CONFIGURATION_ABSENT",
      `thrift route configuration ${JSON.stringify(proxy.routes.routeConfigName)} (trds, listener ${JSON.stringify(listener.name)}) is not in the snapshot`,
    );
  }
  const model = proxy.routes.routeConfig;
  const routes = model.routes.map((route): CompiledRoute => ({
    name: "",
    index: route.index,
    label: `thrift route (route configuration ${JSON.stringify(model.name)} routes[${route.index}])`,
    matches: () => true,
    pathPrefix: "",
    action: route.action,
    fixed: route.action.kind === "cluster" ? entryFor(route.action.cluster) : undefined,
    timeoutMs: undefined,
    retryPolicy: undefined,
    hashPolicy: NO_HASH,
    hasher: undefined,
    httpFilters: undefined,
    entryFilters: undefined,
  }));
  return { failure: undefined, model, routes };
}
