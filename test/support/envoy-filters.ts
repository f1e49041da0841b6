// EnvoyFilters as kitex users write them, for the rxds serve tests: the ThriftProxy patch of kitex-examples'
// proxyless/yaml/server/thrift_proxy.yaml (a NETWORK_FILTER REPLACE of the tcp_proxy of the service's `<clusterIP>_<port>`
// listener, its value in Envoy's snake_case JSON) and the local rate limit of kitex-contrib/xds's README (an HTTP_FILTER
// INSERT_BEFORE on SIDECAR_INBOUND, for the workloads a label selects).
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { HttpConnectionManager } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { xdsResourceRegistry } from "../../src/server/config/xds-resources.js";

/** An EnvoyFilter replacing the tcp_proxy of listener `listener` with a ThriftProxy whose `route_config.routes` are `routes` (YAML, indented for it). */
export function thriftProxyFilter(listener: string, routes: string, namespace = "default"): string {
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
            route_config:
              routes:${routes}
`;
}

/** An EnvoyFilter inserting a local rate limit of `maxTokens` per `fill` into the inbound HttpConnectionManagers of the workloads `selector` picks. */
export function rateLimitFilter(selector: Readonly<Record<string, string>>, maxTokens: number, fill = "60s", namespace = "default"): string {
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
              fill_interval: ${fill}
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
