import type { Any } from "@bufbuild/protobuf/wkt";
import type { Address } from "../../gen/envoy/config/core/v3/address_pb.js";
import type { TrafficDirection } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { FilterChain } from "../../gen/envoy/config/listener/v3/listener_components_pb.js";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { listenerSchema } from "../client/resource-schemas.js";
import { lazyMessageType, type ResourceType } from "../client/resource-type.js";
import { httpConnectionManager, thriftProxy } from "./extension-schemas.js";
import { fieldPath, fieldRejecter, type Reject } from "./field-error.js";
import { anyTypeName, checkAdsOrSelf, unpackAny } from "./field-types.js";
import { readDownstreamTls, type DownstreamTls } from "./listener-tls.js";
import { validateHttpConnectionManager, type HttpConnectionManagerModel } from "./listener-http-connection-manager.js";
import { defaultRegexLimits, type RegexLimits } from "./match/safe-regex.js";
import { validateThriftRouteConfiguration, type ThriftRouteConfigurationModel } from "./thrift-route-configuration.js";

/** Where in the listener a network filter was found. */
export interface FilterPlace {
  /** The field path of the filter's config, e.g. `api_listener.api_listener` or `filter_chains[0].filters[1].typed_config`. */
  readonly path: string;
  /** The filter chain's name; "" for an api_listener or an unnamed chain. */
  readonly filterChainName: string;
  /** filter_chain_match.destination_port of its chain, when set. */
  readonly destinationPort: number | undefined;
  /** filter_chain_match.transport_protocol of its chain (`tls`, `raw_buffer`), when set. */
  readonly transportProtocol: string | undefined;
  /** The TLS its chain's transport_socket asks of a server; undefined for plaintext. */
  readonly tls: DownstreamTls | undefined;
}

/** An HttpConnectionManager found in a listener. */
export type HttpConnectionManagerEntry = HttpConnectionManagerModel & FilterPlace;

/** Where a ThriftProxy's routes come from. */
export type ThriftRouteSource =
  /** Fetched by thrift RDS (trds) under this name. */
  | { readonly kind: "trds"; readonly routeConfigName: string }
  /** Inline, validated with the listener. */
  | { readonly kind: "inline"; readonly routeConfig: ThriftRouteConfigurationModel }
  /** Neither route_config nor trds: the proxy routes nothing. */
  | { readonly kind: "none" };

/** A ThriftProxy network filter found in a listener (e.g. put there by an EnvoyFilter, as kitex users do). */
export interface ThriftProxyEntry extends FilterPlace {
  readonly routes: ThriftRouteSource;
}

/** A validated Listener. */
export interface ListenerModel {
  readonly name: string;
  /** `api`: a gRPC-style api_listener (GENERATOR=grpc); `socket`: an Envoy listener with filter chains (sidecar mode). */
  readonly kind: "api" | "socket";
  /** The listener's socket address when it has one (the service VIP for istiod's api listeners); IP not checked. */
  readonly address: { readonly host: string; readonly port: number } | undefined;
  /** `traffic_direction`: whether the listener is for calls into the workload or out of it, as Istio marks sidecar listeners. */
  readonly trafficDirection: "UNSPECIFIED" | "INBOUND" | "OUTBOUND";
  /** Every HttpConnectionManager: the api_listener's one, or each one found across the filter chains, in order. */
  readonly httpConnectionManagers: readonly HttpConnectionManagerEntry[];
  /** Every ThriftProxy found across the filter chains, in order. */
  readonly thriftProxies: readonly ThriftProxyEntry[];
  /** False when the listener holds nothing a client can route with (e.g. only tcp_proxy filters): valid, but no routes. */
  readonly hasRoutes: boolean;
}

const HCM_TYPE = httpConnectionManager.typeName;
const DIRECTIONS: Readonly<Record<number, ListenerModel["trafficDirection"]>> = {
  0: "UNSPECIFIED",
  1: "INBOUND",
  2: "OUTBOUND",
} satisfies Record<TrafficDirection, ListenerModel["trafficDirection"]>;
const THRIFT_TYPE = thriftProxy.typeName;
const NO_HCMS: readonly HttpConnectionManagerEntry[] = Object.freeze([]);
const NO_THRIFT: readonly ThriftProxyEntry[] = Object.freeze([]);

/**
 * Validates a Listener (LDS) into a ListenerModel, the regexes of inline route configurations within `limits`; throws an
 * INVALID_RESOURCE XdsError naming the field.
 *
 * An api_listener must hold an HttpConnectionManager whose HTTP filters follow gRFC A39 strictly. A socket listener
 * is read the way a client needs it: HttpConnectionManager and ThriftProxy network filters are validated (HTTP
 * filters tolerantly), everything else (listener_filters, tcp_proxy, istio.stats, unknown types) is skipped.
 */
export function validateListener(message: Listener, name: string, limits: RegexLimits = defaultRegexLimits): ListenerModel {
  const reject = fieldRejecter("listener", name);
  const address = socketAddress(message.address);
  const trafficDirection = DIRECTIONS[message.trafficDirection] ?? "UNSPECIFIED";
  if (message.apiListener !== undefined) {
    const any = message.apiListener.apiListener;
    if (any === undefined) return reject("api_listener.api_listener", "is required");
    const hcm = validateHttpConnectionManager(any, "api_listener.api_listener", "strict", reject, name, limits);
    const entry: HttpConnectionManagerEntry = Object.freeze({
      ...hcm,
      path: "api_listener.api_listener",
      filterChainName: "",
      destinationPort: undefined,
      transportProtocol: undefined,
      tls: undefined,
    });
    return Object.freeze({ name, kind: "api", address, trafficDirection, httpConnectionManagers: Object.freeze([entry]), thriftProxies: NO_THRIFT, hasRoutes: true });
  }
  const hcms: HttpConnectionManagerEntry[] = [];
  const thrifts: ThriftProxyEntry[] = [];
  message.filterChains.forEach((chain, i) => readFilterChain(chain, `filter_chains[${i}]`, hcms, thrifts, reject, name, limits));
  if (message.defaultFilterChain !== undefined) {
    readFilterChain(message.defaultFilterChain, "default_filter_chain", hcms, thrifts, reject, name, limits);
  }
  return Object.freeze({
    name,
    kind: "socket",
    address,
    trafficDirection,
    httpConnectionManagers: hcms.length === 0 ? NO_HCMS : Object.freeze(hcms),
    thriftProxies: thrifts.length === 0 ? NO_THRIFT : Object.freeze(thrifts),
    hasRoutes: hcms.length > 0 || thrifts.some((t) => t.routes.kind !== "none"),
  });
}

/** LDS: Listener resources, regexes of inline route configurations validated within `limits`; SotW omission deletes them. */
export function createListenerType(limits: RegexLimits): ResourceType<ListenerModel> {
  return lazyMessageType(listenerSchema, {
    deletedByOmission: true,
    validate: (message, name) => validateListener(message, name, limits),
  });
}

/** LDS with the default regex limits. */
export const listenerType: ResourceType<ListenerModel> = createListenerType(defaultRegexLimits);

function readFilterChain(
  chain: FilterChain,
  path: string,
  hcms: HttpConnectionManagerEntry[],
  thrifts: ThriftProxyEntry[],
  reject: Reject,
  name: string,
  limits: RegexLimits,
): void {
  const destinationPort = chain.filterChainMatch?.destinationPort;
  const transportProtocol = chain.filterChainMatch?.transportProtocol || undefined;
  const tls = readDownstreamTls(chain.transportSocket, path);
  chain.filters.forEach((filter, j) => {
    // Filters are told apart by their config type, not their name; ECDS filters and filters without config are skipped.
    if (filter.configType.case !== "typedConfig") return;
    const any = filter.configType.value;
    const place: FilterPlace = { path: fieldPath(path, `filters[${j}].typed_config`), filterChainName: chain.name, destinationPort, transportProtocol, tls };
    const type = anyTypeName(any);
    if (type === HCM_TYPE) {
      hcms.push(Object.freeze({ ...validateHttpConnectionManager(any, place.path, "tolerant", reject, name, limits), ...place }));
    } else if (type === THRIFT_TYPE) {
      thrifts.push(Object.freeze({ ...place, routes: thriftRoutes(any, place.path, reject, name, limits) }));
    }
  });
}

function thriftRoutes(any: Any, path: string, reject: Reject, name: string, limits: RegexLimits): ThriftRouteSource {
  const proxy = unpackAny(any, thriftProxy.schema(), path, reject);
  // As in Envoy, trds wins over an inline route_config.
  if (proxy.trds !== undefined) {
    checkAdsOrSelf(proxy.trds.configSource, fieldPath(path, "trds.config_source"), reject);
    if (proxy.trds.routeConfigName === "") reject(fieldPath(path, "trds.route_config_name"), "must not be empty");
    return Object.freeze({ kind: "trds", routeConfigName: proxy.trds.routeConfigName });
  }
  if (proxy.routeConfig !== undefined) {
    const place = { kind: "listener", name, path: fieldPath(path, "route_config") };
    return Object.freeze({ kind: "inline", routeConfig: validateThriftRouteConfiguration(proxy.routeConfig, proxy.routeConfig.name, place, limits) });
  }
  return NO_THRIFT_ROUTES;
}
const NO_THRIFT_ROUTES: ThriftRouteSource = Object.freeze({ kind: "none" });

function socketAddress(address: Address | undefined): ListenerModel["address"] {
  if (address?.address.case !== "socketAddress") return undefined;
  const socket = address.address.value;
  const port = socket.portSpecifier.case === "portValue" ? socket.portSpecifier.value : 0;
  return Object.freeze({ host: socket.address, port });
}
