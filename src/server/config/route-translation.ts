import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DurationSchema } from "@bufbuild/protobuf/wkt";
import type {
  HeaderMatcherSchema,
  RetryPolicy_RetryHostPredicateSchema,
  RetryPolicySchema,
  RouteAction_HashPolicySchema,
  RouteActionSchema,
  RouteMatchSchema,
  RouteSchema,
  VirtualHostSchema,
  WeightedCluster_ClusterWeightSchema,
} from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import { HTTPFaultSchema } from "../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import type { StringMatcherSchema } from "../../../gen/envoy/type/matcher/v3/string_pb.js";
import { FractionalPercent_DenominatorType, type FractionalPercentSchema } from "../../../gen/envoy/type/v3/percent_pb.js";
import { GRPC_STATUS_NAMES } from "../../resources/grpc-status.js";
import { mergeTrafficPolicy } from "./cluster-translation.js";
import { alternativeHosts, clusterName, domainName } from "./istio-names.js";
import type { MeshCatalog, MeshService } from "./mesh-catalog.js";
import type { HashKey, HttpFault, HttpMatch, HttpRetry, HttpRoute, RouteDestination, StringMatch, VirtualService } from "./mesh-config-model.js";
import { packMessage } from "./message-encoding.js";

type Duration = MessageInitShape<typeof DurationSchema>;
type HashPolicy = MessageInitShape<typeof RouteAction_HashPolicySchema>;
type RetryPolicy = MessageInitShape<typeof RetryPolicySchema>;
type Route = MessageInitShape<typeof RouteSchema>;
type RouteAction = MessageInitShape<typeof RouteActionSchema>;
type RouteMatch = MessageInitShape<typeof RouteMatchSchema>;
type HeaderMatcher = MessageInitShape<typeof HeaderMatcherSchema>;
type ClusterWeight = MessageInitShape<typeof WeightedCluster_ClusterWeightSchema>;
type HttpFaultInit = MessageInitShape<typeof HTTPFaultSchema>;

/** How the routes are built. */
export interface RouteBuildOptions {
  /** True for GENERATOR=grpc clients: timeouts go to `max_stream_duration`, else to `max_grpc_timeout`. */
  readonly proxyless: boolean;
}

const noTimeout = (): Duration => ({ seconds: 0n, nanos: 0 });

/** The previous-hosts retry predicate, as istiod writes it. */
function previousHostsPredicate(): MessageInitShape<typeof RetryPolicy_RetryHostPredicateSchema>[] {
  return [
    {
      name: "envoy.retry_host_predicates.previous_hosts",
      configType: {
        case: "typedConfig",
        value: { typeUrl: "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate", value: new Uint8Array(0) },
      },
    },
  ];
}

/** istiod's mesh default retry policy (`retry.DefaultPolicy`, without the 503 code newer istiod drops). */
function defaultRetryPolicy(consistentHash: boolean): RetryPolicy {
  return {
    retryOn: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
    numRetries: 2,
    hostSelectionRetryMaxAttempts: 5n,
    // With consistent hashing istiod leaves out the previous-hosts predicate (DefaultConsistentHashPolicy).
    retryHostPredicate: consistentHash ? [] : previousHostsPredicate(),
  };
}

/**
 * `retry.ConvertPolicy`: absent → mesh default; attempts 0 → none; status codes in retryOn → retriable_status_codes;
 * `backoff` → retry_back_off.base_interval; `retryIgnorePreviousHosts: true` → the previous-hosts predicate.
 */
export function translateRetries(retries: HttpRetry | undefined, consistentHash: boolean): RetryPolicy | undefined {
  const out = defaultRetryPolicy(consistentHash);
  if (retries === undefined) return out;
  if (retries.attempts <= 0) return undefined;
  out.numRetries = retries.attempts;
  if (retries.retryOn !== undefined) {
    const conditions: string[] = [];
    const codes: number[] = [];
    for (const part of retries.retryOn.split(",").map((p) => p.trim())) {
      if (part === "") continue;
      const code = /^\d+$/.test(part) ? Number(part) : NaN;
      if (code >= 100 && code <= 599) codes.push(code);
      else conditions.push(part);
    }
    out.retryOn = conditions.join(",");
    out.retriableStatusCodes = codes;
    if (codes.length > 0 && !out.retryOn.includes("retriable-status-codes")) out.retryOn += ",retriable-status-codes";
  }
  if (retries.perTryTimeout !== undefined) out.perTryTimeout = { ...retries.perTryTimeout };
  if (retries.retryIgnorePreviousHosts === true) out.retryHostPredicate = previousHostsPredicate();
  if (retries.backoff !== undefined) out.retryBackOff = { baseInterval: { ...retries.backoff } };
  return out;
}

/** The fault filter's name in istiod's connection managers, and the key of its per-route config. */
export const FAULT_FILTER_NAME = "envoy.filters.http.fault";

/**
 * `TranslateFault`: a fixed delay and an abort (HTTP status, or a gRPC status by name), each with its percentage as a
 * fraction of a million (`percentage.value × 10000`; the deprecated integer `percent` as a fraction of a hundred).
 * Undefined when neither is set.
 */
export function translateFault(fault: HttpFault | undefined): HttpFaultInit | undefined {
  if (fault === undefined || (fault.delay === undefined && fault.abort === undefined)) return undefined;
  const out: HttpFaultInit = {};
  const delay = fault.delay;
  if (delay !== undefined) {
    out.delay = {
      faultDelaySecifier: { case: "fixedDelay", value: { ...delay.fixedDelay } },
      percentage: delay.percentage !== undefined ? perMillion(delay.percentage) : { numerator: delay.percent ?? 0, denominator: FractionalPercent_DenominatorType.HUNDRED },
    };
  }
  const abort = fault.abort;
  if (abort !== undefined) {
    out.abort = {
      errorType: abort.httpStatus !== undefined ? { case: "httpStatus", value: abort.httpStatus } : { case: "grpcStatus", value: GRPC_STATUS_NAMES.indexOf(abort.grpcStatus!) },
      ...(abort.percentage === undefined ? {} : { percentage: perMillion(abort.percentage) }),
    };
  }
  return out;
}

/** `translatePercentToFractionalPercent`: a percentage as a fraction of a million. */
function perMillion(percent: number): MessageInitShape<typeof FractionalPercentSchema> {
  return { numerator: Math.trunc(percent * 10000), denominator: FractionalPercent_DenominatorType.MILLION };
}

/** `consistentHashToHashPolicy`: a DestinationRule hash key as a route hash policy. */
export function translateHashKey(key: HashKey): HashPolicy {
  switch (key.kind) {
    case "header":
      return { policySpecifier: { case: "header", value: { headerName: key.name } } };
    case "queryParameter":
      return { policySpecifier: { case: "queryParameter", value: { name: key.name } } };
    case "sourceIp":
      return { policySpecifier: { case: "connectionProperties", value: { sourceIp: true } } };
    case "cookie":
      return {
        policySpecifier: {
          case: "cookie",
          value: { name: key.name, path: key.path ?? "", ...(key.ttl === undefined ? {} : { ttl: key.ttl }) },
        },
      };
  }
}

function toStringMatcher(match: StringMatch): MessageInitShape<typeof StringMatcherSchema> {
  if (match.kind === "regex") return { matchPattern: { case: "safeRegex", value: { regex: match.value } } };
  return { matchPattern: { case: match.kind, value: match.value } };
}

/** `TranslateRouteMatch`: uri → path/prefix/safe_regex; headers sorted by name (regex "*" → present). */
export function translateMatch(match: HttpMatch | undefined): RouteMatch {
  const caseSensitive = !(match?.ignoreUriCase ?? false);
  if (match === undefined) return { pathSpecifier: { case: "prefix", value: "/" }, caseSensitive };
  const headers = [...match.headers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const headerMatchers = headers.map(
    ({ name, match: condition }): HeaderMatcher =>
      condition.kind === "regex" && condition.value === "*"
        ? { name, headerMatchSpecifier: { case: "presentMatch", value: true } }
        : { name, headerMatchSpecifier: { case: "stringMatch", value: toStringMatcher(condition) } },
  );
  const uri = match.uri;
  const pathSpecifier: RouteMatch["pathSpecifier"] =
    uri === undefined || uri.kind === "prefix"
      ? { case: "prefix", value: uri?.value ?? "/" }
      : uri.kind === "exact"
        ? { case: "path", value: uri.value }
        : { case: "safeRegex", value: { regex: uri.value } };
  return { pathSpecifier, caseSensitive, headers: headerMatchers };
}

/** `IsCatchAllRoute`: prefix "/" (or regex ".*") and no header condition. */
function isCatchAll(match: RouteMatch): boolean {
  const path = match.pathSpecifier;
  const all = (path?.case === "prefix" && path.value === "/") || (path?.case === "safeRegex" && path.value.regex === ".*");
  return all && (match.headers ?? []).length === 0 && (match.queryParameters ?? []).length === 0;
}

/** `setTimeout`: timeout (0s when unset) and, for proxyless, max_stream_duration; else max_grpc_timeout. */
function applyTimeout(action: RouteAction, timeout: Duration, proxyless: boolean): void {
  action.timeout = timeout;
  if (proxyless) action.maxStreamDuration = { maxStreamDuration: timeout };
  else action.maxGrpcTimeout = timeout;
}

/** The consistent hash key the DestinationRule of `host` asks for on `port` (and `subset`), as its cluster's policy merges. */
function hashKeyFor(catalog: MeshCatalog, host: string, port: number, subset: string | undefined): HashKey | undefined {
  const rule = catalog.destinationRule(host);
  if (rule === undefined) return undefined;
  const subsetPolicy = rule.subsets.find((s) => s.name === subset)?.trafficPolicy;
  return mergeTrafficPolicy(rule.trafficPolicy, subsetPolicy, port).loadBalancer?.consistentHash?.key;
}

/** `GetDestinationCluster`: the port is destination.port, else the service's only port, else the listener port. */
function destinationCluster(catalog: MeshCatalog, destination: RouteDestination, listenerPort: number): { name: string; port: number } {
  const service = catalog.service(destination.host);
  const only = service !== undefined && service.ports.length === 1 ? service.ports[0]?.number : undefined;
  const port = destination.port ?? only ?? listenerPort;
  return { name: clusterName(port, destination.subset ?? "", destination.host), port };
}

/** `GetRouteOperation`: `<host>:<port><path>` for one cluster, else `<vs name>:<port><path>`. */
function operation(match: RouteMatch, single: { host: string; port: number } | undefined, vsName: string, port: number): string {
  const path = match.pathSpecifier;
  const suffix = path?.case === "prefix" ? `${path.value}*` : path?.case === "path" ? path.value : path?.case === "safeRegex" ? path.value.regex : "/*";
  return single === undefined ? `${vsName}:${port}${suffix}` : `${single.host}:${single.port}${suffix}`;
}

function translateRoute(
  catalog: MeshCatalog,
  vs: VirtualService,
  http: HttpRoute,
  match: HttpMatch | undefined,
  listenerPort: number,
  options: RouteBuildOptions,
): Route {
  const action: RouteAction = {};
  applyTimeout(action, http.timeout === undefined ? noTimeout() : { ...http.timeout }, options.proxyless);
  const hashPolicy: HashPolicy[] = [];
  let consistentHash = false;
  let single: { host: string; port: number } | undefined;
  if (http.route.length === 1) {
    const destination = http.route[0] as RouteDestination;
    const cluster = destinationCluster(catalog, destination, listenerPort);
    action.clusterSpecifier = { case: "cluster", value: cluster.name };
    single = { host: destination.host, port: cluster.port };
    const key = hashKeyFor(catalog, destination.host, cluster.port, destination.subset);
    if (key !== undefined) hashPolicy.push(translateHashKey(key));
    consistentHash = key !== undefined;
  } else {
    const clusters = http.route
      .filter((destination) => destination.weight !== 0)
      .map((destination): ClusterWeight => {
        const cluster = destinationCluster(catalog, destination, listenerPort);
        const key = hashKeyFor(catalog, destination.host, cluster.port, destination.subset);
        if (key !== undefined) hashPolicy.push(translateHashKey(key));
        return { name: cluster.name, weight: destination.weight };
      });
    action.clusterSpecifier = { case: "weightedClusters", value: { clusters } };
  }
  action.hashPolicy = hashPolicy;
  const retryPolicy = translateRetries(http.retries, consistentHash);
  if (retryPolicy !== undefined) action.retryPolicy = retryPolicy;
  const routeMatch = translateMatch(match);
  const name = http.name === undefined ? (match?.name ?? "") : match?.name === undefined ? http.name : `${http.name}.${match.name}`;
  const config = `/apis/networking.istio.io/v1/namespaces/${vs.namespace}/virtual-service/${vs.name}`;
  const fault = translateFault(http.fault);
  return {
    name,
    match: routeMatch,
    action: { case: "route", value: action },
    metadata: { filterMetadata: { istio: { config } } },
    decorator: { operation: operation(routeMatch, single, vs.name, listenerPort) },
    ...(fault === undefined ? {} : { typedPerFilterConfig: { [FAULT_FILTER_NAME]: packMessage(HTTPFaultSchema, fault) } }),
  };
}

/** `BuildDefaultHTTPOutboundRoute`: "default", prefix "/", the port's cluster, mesh retries, no timeout. */
function defaultRoute(catalog: MeshCatalog, service: MeshService, port: number): Route {
  const action: RouteAction = { clusterSpecifier: { case: "cluster", value: clusterName(port, "", service.host) } };
  const key = hashKeyFor(catalog, service.host, port, undefined);
  if (key !== undefined) action.hashPolicy = [translateHashKey(key)];
  action.retryPolicy = defaultRetryPolicy(false);
  // istiod builds the default route's timeouts without the proxy, so even proxyless clients get max_grpc_timeout.
  applyTimeout(action, noTimeout(), false);
  return {
    name: "default",
    match: translateMatch(undefined),
    action: { case: "route", value: action },
    decorator: { operation: `${service.host}:${port}/*` },
  };
}

/**
 * The routes of a service's virtual host on `port`, as istiod builds them: the VirtualService's
 * http entries in order, one route per match, stopping after the first catch-all (so a catch-all
 * is always last); istiod adds no route after a VirtualService without a catch-all. Without a
 * VirtualService (or with one that yields no route), the single default route.
 */
export function translateRoutes(catalog: MeshCatalog, service: MeshService, port: number, options: RouteBuildOptions): Route[] {
  const vs = catalog.virtualService(service.host);
  const out: Route[] = [];
  for (const http of vs?.http ?? []) {
    const matches: (HttpMatch | undefined)[] = http.match.length === 0 ? [undefined] : [...http.match];
    let caughtAll = false;
    for (const match of matches) {
      const route = translateRoute(catalog, vs as VirtualService, http, match, port, options);
      out.push(route);
      if (route.match !== undefined && isCatchAll(route.match)) {
        caughtAll = true;
        break;
      }
    }
    if (caughtAll) break;
  }
  return out.length > 0 ? out : [defaultRoute(catalog, service, port)];
}

/**
 * The domains of a service's virtual host on `port` (`generateVirtualHostDomains` with ports
 * kept, as for proxyless): the FQDN, its short forms, the VIPs, each also with `:<port>`.
 */
export function virtualHostDomains(service: MeshService, port: number, clientNamespace: string): string[] {
  const out = [service.host, domainName(service.host, port), ...alternativeHosts(service.host, clientNamespace, port)];
  for (const address of service.addresses) {
    if (address !== "0.0.0.0") out.push(address, domainName(address, port));
  }
  return [...new Set(out)];
}

/** The virtual host `<fqdn>:<port>` with the service's routes on that port, for clients in `clientNamespace`. */
export function buildVirtualHost(
  catalog: MeshCatalog,
  service: MeshService,
  port: number,
  proxyless: boolean,
  clientNamespace: string,
): MessageInitShape<typeof VirtualHostSchema> {
  return {
    name: domainName(service.host, port),
    domains: virtualHostDomains(service, port, clientNamespace),
    routes: translateRoutes(catalog, service, port, { proxyless }),
    includeRequestAttemptCount: true,
  };
}
