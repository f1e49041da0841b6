import type { MessageInitShape } from "@bufbuild/protobuf";
import { ListenerSchema } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import { HTTPFaultSchema } from "../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { RouterSchema } from "../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import {
  HttpConnectionManagerSchema,
  type HttpFilterSchema,
} from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { FilterChainSchema } from "../../../gen/envoy/config/listener/v3/listener_components_pb.js";
import { clientWorkload, workloadInputs } from "./client-workload.js";
import { adsConfigSource } from "./cluster-translation.js";
import { clusterName, domainName, isHttpProtocol, listenerAliases } from "./istio-names.js";
import type { MeshService } from "./mesh-catalog.js";
import type { MeshConfig } from "./mesh-config-model.js";
import { encodeMessage, packBytes, packMessage, writeBytes } from "./message-encoding.js";
import { inboundMtlsModes, type InboundMtls } from "./peer-authentication-mode.js";
import { FAULT_FILTER_NAME } from "./route-translation.js";
import { istioMutualDownstreamSocket } from "./tls-translation.js";
import { translateView, type ViewKind } from "./view-state.js";
import {
  fieldNumber,
  localityKey,
  namespaceRelation,
  packedClusters,
  packedEndpoints,
  packRouteConfiguration,
  serviceInputs,
  viewTranslation,
  virtualHostBytes,
  type ServedResource,
  type TranslationOptions,
  type ViewTranslation,
} from "./view-translation.js";
import {
  clusterTypeUrl,
  endpointsTypeUrl,
  listenerTypeUrl,
  routeConfigurationTypeUrl,
  unpackResources,
  type XdsResources,
} from "./xds-resources.js";

/** The router filter, which istiod always puts last. */
export const routerFilter: MessageInitShape<typeof HttpFilterSchema> = {
  name: "envoy.filters.http.router",
  configType: { case: "typedConfig", value: packMessage(RouterSchema, {}) },
};

/** istiod's `xdsfilters.Fault`: the fault filter with an empty HTTPFault config; routes give it theirs (a VirtualService's `fault`). */
export const faultFilter: MessageInitShape<typeof HttpFilterSchema> = {
  name: FAULT_FILTER_NAME,
  configType: { case: "typedConfig", value: packMessage(HTTPFaultSchema, {}) },
};

const listenerName = fieldNumber(ListenerSchema, "name");

const noResources: readonly ServedResource[] = [];

/**
 * The api_listeners istiod's grpc LDS generator builds for `<host>:<port>` (`buildOutboundListeners`), one
 * per name a client may ask for (the FQDN and the aliases of `listenerAliases`), alike but for the name: the
 * listener is encoded once, and each name written in front of it.
 */
function apiListeners(t: ViewTranslation, service: MeshService, port: number): ServedResource[] {
  const manager: MessageInitShape<typeof HttpConnectionManagerSchema> = {
    httpFilters: [faultFilter, routerFilter],
    routeSpecifier: { case: "rds", value: { configSource: adsConfigSource(), routeConfigName: clusterName(port, "", service.host) } },
  };
  const body = encodeMessage(ListenerSchema, {
    address: {
      address: {
        case: "socketAddress",
        value: { address: service.addresses[0] ?? "0.0.0.0", portSpecifier: { case: "portValue", value: port } },
      },
    },
    apiListener: { apiListener: packMessage(HttpConnectionManagerSchema, manager) },
  });
  return [service.host, ...listenerAliases(service.host, t.options.clientNamespace)].map((host) => {
    const name = domainName(host, port);
    return { typeUrl: listenerTypeUrl, name, resource: packBytes(ListenerSchema, writeBytes((writer) => writer.string(listenerName, name).raw(body))) };
  });
}

/** gRFC A36's default name template, and istio-agent's: the prefixes of a gRPC server's listener name. */
const grpcServerPrefixes = ["grpc/server?xds.resource.listening_address=", "xds.istio.io/grpc/lds/inbound/"];

const grpcInboundManager = packMessage(HttpConnectionManagerSchema, {
  routeSpecifier: {
    case: "routeConfig",
    value: {
      name: "inbound",
      virtualHosts: [{ name: "inbound", domains: ["*"], routes: [{ match: { pathSpecifier: { case: "prefix", value: "/" } }, action: { case: "nonForwardingAction", value: {} } }] }],
    },
  },
  httpFilters: [routerFilter],
});

/**
 * The server listeners (gRFC A36) istiod's gRPC generator builds, when the view's clients are a workload (see
 * client-workload.ts): per port its instances listen on, a listener named
 * `grpc/server?xds.resource.listening_address=<host>:<port>` (A36's default name template) and
 * `xds.istio.io/grpc/lds/inbound/<host>:<port>` (istio-agent's), for the hosts a server binds: `0.0.0.0`, `[::]` and
 * the address itself. Its one chain's HttpConnectionManager has the route `/` with a non-forwarding action, and the
 * router; the chain is mTLS or plaintext by the port's PeerAuthentication mode (see `grpcChainMode`).
 * AuthorizationPolicy is not applied.
 */
function grpcInbound(t: ViewTranslation): readonly ServedResource[] {
  const workload = clientWorkload(t);
  const address = t.options.clientAddress;
  if (workload === undefined || address === undefined) return noResources;
  const meshTls = workload.labels.some((each) => each["security.istio.io/tlsMode"] === "istio");
  const modes = inboundMtlsModes(t.config.peerAuthentications, t.options.clientNamespace, workload.labels, workload.ports.map(({ port }) => port)).map((mode) =>
    grpcChainMode(mode, meshTls),
  );
  return t.cache.get(t.cache, `grpc inbound ${address} ${t.options.clientNamespace}`, [...workloadInputs(workload, false), ...modes], () =>
    workload.ports.flatMap(({ port }, i) => {
      const mode = modes[i]!;
      return t.cache.get(t.cache, `grpc inbound ${address}:${port} ${mode}`, [], () => grpcServerListeners(address, port, mode));
    }),
  );
}

/**
 * The chain istiod's gRPC generator gives a port in `mode`: STRICT, mTLS; DISABLE, plaintext; PERMISSIVE, plaintext
 * (a gRPC server cannot tell TLS from plaintext per connection), but mTLS when `meshTls`, the workload being labelled
 * `security.istio.io/tlsMode: istio`, since its callers then use mTLS (auto-mTLS).
 */
function grpcChainMode(mode: InboundMtls, meshTls: boolean): "mtls" | "plaintext" {
  if (mode === "STRICT" || (mode === "PERMISSIVE" && meshTls)) return "mtls";
  return "plaintext";
}

/** The server listeners of `port` for the hosts a server on `address` binds, under both name templates. */
function grpcServerListeners(address: string, port: number, mode: "mtls" | "plaintext"): ServedResource[] {
  const chain: MessageInitShape<typeof FilterChainSchema> = {
    name: `inbound-${mode}`,
    filters: [{ name: `inbound-hcm${mode}`, configType: { case: "typedConfig", value: grpcInboundManager } }],
    ...(mode === "mtls" ? { transportSocket: istioMutualDownstreamSocket } : {}),
  };
  return [...new Set(["0.0.0.0", "::", address])].flatMap((host) => {
    const authority = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    return grpcServerPrefixes.map((prefix) => {
      const name = `${prefix}${authority}`;
      const resource = packMessage(ListenerSchema, {
        name,
        address: { address: { case: "socketAddress", value: { address: host, portSpecifier: { case: "portValue", value: port } } } },
        filterChains: [chain],
      });
      return { typeUrl: listenerTypeUrl, name, resource };
    });
  });
}

/** A service's part of the grpc view: per port its listeners and route configuration; its clusters and endpoints. */
function grpcService(t: ViewTranslation, service: MeshService): ServedResource[] {
  const out: ServedResource[] = [];
  for (const port of service.ports) {
    out.push(...apiListeners(t, service, port.number));
    const name = clusterName(port.number, "", service.host);
    const virtualHosts = isHttpProtocol(port.protocol) ? [virtualHostBytes(t, service, port.number, true)] : [];
    out.push({ typeUrl: routeConfigurationTypeUrl, name, resource: packRouteConfiguration(name, virtualHosts) });
  }
  for (const [name, resource] of packedClusters(t, service, true)) out.push({ typeUrl: clusterTypeUrl, name, resource });
  for (const [name, resource] of packedEndpoints(t, service)) out.push({ typeUrl: endpointsTypeUrl, name, resource });
  return out;
}

/**
 * The cache keys of a service's part of a grpc view, by how the view's clients stand to the service (names and domains
 * differ); the clients' locality is added when the service's endpoints depend on it (see `localityKey`).
 */
const grpcKeys = { own: "grpc own", other: "grpc other", unknown: "grpc unknown" } as const;

/**
 * What istiod's `grpc` generator (GENERATOR=grpc) serves a proxyless client, for every service
 * host and port of the config:
 * - Listener `<fqdn>:<port>`: an api_listener whose HttpConnectionManager reads RDS over ADS
 *   (route config `outbound|<port>||<fqdn>`) with the filters [fault, router]. istiod names a
 *   listener exactly as the client asked, so the same listener is also served under each short
 *   name a client in `clientNamespace` may dial (`echo:7070`, `echo.ns:7070`, `echo.ns.svc:7070`).
 * - RouteConfiguration `outbound|<port>||<fqdn>`: the one virtual host `<fqdn>:<port>` (none for a
 *   non-HTTP port).
 * - Clusters and ClusterLoadAssignments `outbound|<port>|<subset>|<fqdn>`.
 * - When the view's clients are a workload, its server listeners, mTLS as its PeerAuthentications say (see `grpcInbound`).
 * EnvoyFilters are not applied, as istiod's gRPC generator ignores them. Each service's part is built again only when
 * what it is built from changed (see `serviceInputs`).
 */
export const grpcKind: ViewKind<readonly ServedResource[]> = {
  part: (t, service) => {
    const key = `${grpcKeys[namespaceRelation(t, service)]}${localityKey(t, service)}`;
    return t.cache.get(service, key, serviceInputs(t, service), () => grpcService(t, service));
  },
  resources: (part) => part,
  shared: (t) => grpcInbound(t),
};

/** The grpc view of a config on its own, as messages (see `grpcKind`; raw `@type` documents replace generated resources of the same name). */
export function translateForGrpc(config: MeshConfig, options: TranslationOptions = {}): XdsResources {
  return unpackResources(translateView(grpcKind, viewTranslation(config, options)));
}
