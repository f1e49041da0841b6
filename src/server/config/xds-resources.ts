import { createRegistry, fromBinary, type Message } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { file_envoy_config_cluster_v3_cluster } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { file_envoy_config_endpoint_v3_endpoint } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { file_envoy_config_listener_v3_listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import { file_envoy_config_route_v3_route } from "../../../gen/envoy/config/route/v3/route_pb.js";
import { file_envoy_extensions_filters_http_router_v3_router } from "../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { file_envoy_extensions_filters_network_http_connection_manager_v3_http_connection_manager } from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { file_envoy_extensions_filters_http_fault_v3_fault } from "../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { file_envoy_extensions_filters_http_local_ratelimit_v3_local_rate_limit } from "../../../gen/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import { file_envoy_extensions_filters_network_tcp_proxy_v3_tcp_proxy } from "../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { file_envoy_extensions_filters_network_thrift_proxy_v3_thrift_proxy } from "../../../gen/envoy/extensions/filters/network/thrift_proxy/v3/thrift_proxy_pb.js";
import { file_envoy_extensions_transport_sockets_tls_v3_tls } from "../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { file_envoy_extensions_retry_host_previous_hosts_v3_previous_hosts } from "../../../gen/envoy/extensions/retry/host/previous_hosts/v3/previous_hosts_pb.js";
import { file_istio_networking_nds_v1_nds } from "../../../gen/istio/networking/nds/v1/nds_pb.js";
import { file_udpa_type_v1_typed_struct } from "../../../gen/udpa/type/v1/typed_struct_pb.js";
import { file_xds_type_v3_typed_struct } from "../../../gen/xds/type/v3/typed_struct_pb.js";
import { XdsError } from "../../xds-error.js";

/** Type URL of a Listener (LDS). */
export const listenerTypeUrl = "type.googleapis.com/envoy.config.listener.v3.Listener";
/** Type URL of a RouteConfiguration (RDS). */
export const routeConfigurationTypeUrl = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
/** Type URL of a Cluster (CDS). */
export const clusterTypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
/** Type URL of a ClusterLoadAssignment (EDS). */
export const endpointsTypeUrl = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
/** Type URL of Istio's NDS name table. */
export const nameTableTypeUrl = "type.googleapis.com/istio.networking.nds.v1.NameTable";

/** Short names of the types a mesh serves, for messages. */
const typeNames: Readonly<Record<string, string>> = {
  [listenerTypeUrl]: "LDS",
  [routeConfigurationTypeUrl]: "RDS",
  [clusterTypeUrl]: "CDS",
  [endpointsTypeUrl]: "EDS",
  [nameTableTypeUrl]: "NDS",
};

/** `LDS` for a Listener type URL; the message name for a type without a short name. */
export function shortTypeName(typeUrl: string): string {
  return typeNames[typeUrl] ?? typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

/** Resources as messages: type URL → resource name → message. */
export type XdsResources = Map<string, Map<string, Message>>;

/** Packed resources, ready to serve: type URL → resource name → Any. */
export type PackedResources = Map<string, Map<string, Any>>;

/**
 * The message types the config layer decodes, packs and prints: the four xDS resource types, Istio's
 * name table, and the filters, transport sockets and extensions that appear inside their Anys (those an EnvoyFilter
 * patch may carry too: local rate limits, and TypedStructs for the rest).
 */
export const xdsResourceRegistry = createRegistry(
  file_envoy_config_listener_v3_listener,
  file_envoy_config_route_v3_route,
  file_envoy_config_cluster_v3_cluster,
  file_envoy_config_endpoint_v3_endpoint,
  file_envoy_extensions_filters_network_http_connection_manager_v3_http_connection_manager,
  file_envoy_extensions_filters_http_router_v3_router,
  file_envoy_extensions_filters_http_fault_v3_fault,
  file_envoy_extensions_filters_http_local_ratelimit_v3_local_rate_limit,
  file_envoy_extensions_filters_network_tcp_proxy_v3_tcp_proxy,
  file_envoy_extensions_filters_network_thrift_proxy_v3_thrift_proxy,
  file_envoy_extensions_transport_sockets_tls_v3_tls,
  file_envoy_extensions_retry_host_previous_hosts_v3_previous_hosts,
  file_istio_networking_nds_v1_nds,
  file_xds_type_v3_typed_struct,
  file_udpa_type_v1_typed_struct,
);

/** Adds (or replaces) one resource under its type URL. */
export function putResource<T>(resources: Map<string, Map<string, T>>, typeUrl: string, name: string, message: T): void {
  let byName = resources.get(typeUrl);
  if (byName === undefined) {
    byName = new Map();
    resources.set(typeUrl, byName);
  }
  byName.set(name, message);
}

/** Packs a produced resource into an Any, for a DiscoveryResponse. */
export function packResource(message: Message): Any {
  const schema = xdsResourceRegistry.getMessage(message.$typeName);
  if (schema === undefined) {
    throw new XdsError("INVALID_ARGUMENT", `cannot pack message ${message.$typeName}: not a known xDS resource type`);
  }
  return anyPack(schema, message);
}

/** Decodes packed resources into messages (for tests and tools that read what a view serves). */
export function unpackResources(packed: PackedResources): XdsResources {
  const out: XdsResources = new Map();
  for (const [typeUrl, byName] of packed) {
    const schema = xdsResourceRegistry.getMessage(typeUrl.slice(typeUrl.lastIndexOf("/") + 1));
    if (schema === undefined) throw new XdsError("INVALID_ARGUMENT", `cannot unpack ${typeUrl}: not a known xDS resource type`);
    out.set(typeUrl, new Map([...byName].map(([name, any]) => [name, fromBinary(schema, any.value)])));
  }
  return out;
}
