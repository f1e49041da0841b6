// EnvoyFilters as kitex users write them, for the rxds serve tests: the ThriftProxy patch of kitex-examples'
// proxyless/yaml/server/thrift_proxy.yaml (a NETWORK_FILTER REPLACE of the tcp_proxy of the service's `<clusterIP>_<port>`
// listener, its value in Envoy's snake_case JSON) and the local rate limit of kitex-contrib/xds's README (an HTTP_FILTER
// INSERT_BEFORE on SIDECAR_INBOUND, for the workloads a label selects).
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { HttpConnectionManager } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { xdsResourceRegistry } from "../../src/server/config/xds-resources.js";

/** `yaml`'s lines (empty ones dropped), each on a new line indented by `by` spaces more than the least indented of them. */
function indented(yaml: string, by: number): string {
  const lines = yaml.split("\n").filter((line) => line.trim() !== "");
  const least = Math.min(...lines.map((line) => line.search(/\S/)));
  return lines.map((line) => `\n${" ".repeat(by)}${line.slice(least)}`).join("");
}

/**
 * An EnvoyFilter replacing the tcp_proxy of listener `listener` with a ThriftProxy whose `route_config` (named
 * `routeConfigName` when given) has the routes `routes` (a YAML list).
 */
export function thriftProxyFilter(listener: string, routes: string, namespace = "default", routeConfigName?: string): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: thrift-proxy
  namespace: ${namespace}
spec:
  configPatches:
    - applyTo: NETWORK_FILTER
      match:
        listener:
          name: ${listener}
          filterChain:
            filter:
              name: envoy.filters.network.tcp_proxy
      patch:
        operation: REPLACE
        value:
          name: envoy.filters.network.thrift_proxy
          typed_config:
            "@type": "type.googleapis.com/envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy"
            stat_prefix: "${listener}"
            transport: AUTO_TRANSPORT
            protocol: AUTO_PROTOCOL
            thrift_filters:
              - name: envoy.filters.thrift.router
            route_config:${routeConfigName === undefined ? "" : `\n              name: ${routeConfigName}`}
              routes:${indented(routes, 16)}
`;
}

/**
 * kitex-examples' ThriftProxy routes for kitex-server in `namespace`: method SayHello2 split 50/50 between v1 and v2,
 * then (shadowed by the first, as there) SayHello2 with header stage: canary, in the deprecated `exact_match`, to v2.
 */
export function kitexExamplesRoutes(namespace: string): string {
  const cluster = (subset: string) => `"outbound|8888|${subset}|kitex-server.${namespace}.svc.cluster.local"`;
  return `
- match:
    method_name: "SayHello2"
  route:
    weighted_clusters:
      clusters:
        - name: ${cluster("v1")}
          weight: 50
        - name: ${cluster("v2")}
          weight: 50
- match:
    method_name: "SayHello2"
    headers:
        - name: "stage"
          exact_match: "canary"
  route:
    weighted_clusters:
      clusters:
        - name: ${cluster("v2")}
          weight: 100`;
}

/** An EnvoyFilter inserting a local rate limit of `maxTokens` per `fill` into the inbound HttpConnectionManagers of the workloads `selector` picks. */
export function rateLimitFilter(selector: Readonly<Record<string, string>>, maxTokens: number, fill = "60s", namespace = "default", enforced = false): string {
  // Envoy (and rxds) check the bucket only for the filter_enabled share of calls, and refuse the filter_enforced share.
  const everyCall = "{default_value: {numerator: 100, denominator: HUNDRED}}";
  const enforcing = enforced ? `\n            filter_enabled: ${everyCall}\n            filter_enforced: ${everyCall}` : "";
  return `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: filter-local-ratelimit-svc
  namespace: ${namespace}
spec:
  configPatches:
    - applyTo: HTTP_FILTER
      match:
        context: SIDECAR_INBOUND
        listener:
          filterChain:
            filter:
              name: "envoy.filters.network.http_connection_manager"
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.local_ratelimit
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
            stat_prefix: http_local_rate_limiter
            token_bucket:
              max_tokens: ${maxTokens}
              tokens_per_fill: ${maxTokens}
              fill_interval: ${fill}${enforcing}
  workloadSelector:
    labels:
${Object.entries(selector).map(([key, value]) => `      ${key}: ${value}`).join("\n")}
`;
}

/** A listener's filter chains as `[destination port or "-", filter names, HTTP filter names of its connection managers]`. */
export function chainsOf(listener: Listener): [number | "-", string[], string[]][] {
  return listener.filterChains.map((chain) => {
    const http = chain.filters.flatMap((filter) => {
      const any = filter.configType.case === "typedConfig" ? filter.configType.value : undefined;
      const manager = any?.typeUrl.endsWith(".HttpConnectionManager") === true ? (anyUnpack(any, xdsResourceRegistry) as HttpConnectionManager) : undefined;
      return manager?.httpFilters.map((each) => each.name) ?? [];
    });
    return [chain.filterChainMatch?.destinationPort ?? "-", chain.filters.map((filter) => filter.name), http];
  });
}
