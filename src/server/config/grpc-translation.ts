import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { ApiListenerSchema } from "../../../gen/envoy/config/listener/v3/api_listener_pb.js";
import { ListenerSchema, type Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import { VirtualHostSchema, type VirtualHost } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../../../gen/envoy/config/route/v3/route_pb.js";
import { HTTPFaultSchema } from "../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { RouterSchema } from "../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import {
  HttpConnectionManagerSchema,
  HttpFilterSchema,
  type HttpFilter,
} from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { adsConfigSource, translateClusters, type ClusterBuildOptions } from "./cluster-translation.js";
import { alternativeHosts, clusterName, domainName, isHttpProtocol, listenerAliases } from "./istio-names.js";
import type { ClientLocality } from "./locality-load-balancing.js";
import { buildMeshCatalog, type MeshCatalog, type MeshService } from "./mesh-catalog.js";
import type { MeshConfig } from "./mesh-config-model.js";
import { FAULT_FILTER_NAME, translateRoutes } from "./route-translation.js";
import {
  clusterTypeUrl,
  endpointsTypeUrl,
  listenerTypeUrl,
  putResource,
  routeConfigurationTypeUrl,
  type XdsResources,
} from "./xds-resources.js";

/** Options of the translations. */
export interface TranslationOptions {
  /**
   * The namespace the clients run in, which decides the short domains of a virtual host
   * (`name` and `name:port` only from the same namespace). Default: each service's own namespace.
   */
  readonly clientNamespace?: string;
  /** The clients' locality (their node's), which a DestinationRule's localityLbSetting is applied for. Default: none. */
  readonly clientLocality?: ClientLocality;
}

/** How the clusters of a view are built, for clients that are `proxyless` or not. */
export function clusterOptions(options: TranslationOptions, proxyless: boolean): ClusterBuildOptions {
  return options.clientLocality === undefined ? { proxyless } : { proxyless, clientLocality: options.clientLocality };
}

/** The router filter, which istiod always puts last. */
export function routerFilter(): HttpFilter {
  return create(HttpFilterSchema, {
    name: "envoy.filters.http.router",
    configType: { case: "typedConfig", value: anyPack(RouterSchema, create(RouterSchema)) },
  });
}

/** istiod's `xdsfilters.Fault`: the fault filter with an empty HTTPFault config; routes give it theirs (a VirtualService's `fault`). */
export function faultFilter(): HttpFilter {
  return create(HttpFilterSchema, { name: FAULT_FILTER_NAME, configType: { case: "typedConfig", value: anyPack(HTTPFaultSchema, create(HTTPFaultSchema)) } });
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

/** The virtual host `<fqdn>:<port>` with the service's routes on that port. */
export function buildVirtualHost(
  catalog: MeshCatalog,
  service: MeshService,
  port: number,
  proxyless: boolean,
  options: TranslationOptions,
): VirtualHost {
  return create(VirtualHostSchema, {
    name: domainName(service.host, port),
    domains: virtualHostDomains(service, port, options.clientNamespace ?? service.namespace),
    routes: translateRoutes(catalog, service, port, { proxyless }),
    includeRequestAttemptCount: true,
  });
}

/**
 * The api_listeners istiod's grpc LDS generator builds for `<host>:<port>` (`buildOutboundListeners`), one
 * per name a client may ask for (the FQDN and the aliases of `listenerAliases`), alike but for the name.
 */
function apiListeners(service: MeshService, port: number, clientNamespace: string | undefined): Listener[] {
  const manager = create(HttpConnectionManagerSchema, {
    httpFilters: [faultFilter(), routerFilter()],
    routeSpecifier: {
      case: "rds",
      value: { configSource: adsConfigSource(), routeConfigName: clusterName(port, "", service.host) },
    },
  });
  const api = create(ApiListenerSchema, { apiListener: anyPack(HttpConnectionManagerSchema, manager) });
  const names = [service.host, ...listenerAliases(service.host, clientNamespace)];
  return names.map((host) =>
    create(ListenerSchema, {
      name: domainName(host, port),
      address: {
        address: {
          case: "socketAddress",
          value: { address: service.addresses[0] ?? "0.0.0.0", portSpecifier: { case: "portValue", value: port } },
        },
      },
      apiListener: api,
    }),
  );
}

/** Adds the raw `@type` resources of the config, each replacing a generated one of the same type and name. */
export function overlayRawResources(resources: XdsResources, config: MeshConfig): void {
  for (const raw of config.raw) putResource(resources, raw.typeUrl, raw.name, raw.message);
}

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
 * Raw `@type` documents are added last, replacing generated resources of the same name.
 */
export function translateForGrpc(config: MeshConfig, options: TranslationOptions = {}): XdsResources {
  const catalog = buildMeshCatalog(config, options.clientNamespace);
  const resources: XdsResources = new Map();
  for (const service of catalog.services) {
    for (const port of service.ports) {
      for (const listener of apiListeners(service, port.number, options.clientNamespace)) putResource(resources, listenerTypeUrl, listener.name, listener);
      const name = clusterName(port.number, "", service.host);
      const virtualHosts = isHttpProtocol(port.protocol) ? [buildVirtualHost(catalog, service, port.number, true, options)] : [];
      putResource(resources, routeConfigurationTypeUrl, name, create(RouteConfigurationSchema, { name, virtualHosts }));
    }
  }
  const { clusters, endpoints } = translateClusters(catalog, clusterOptions(options, true));
  for (const [name, cluster] of clusters) putResource(resources, clusterTypeUrl, name, cluster);
  for (const [name, assignment] of endpoints) putResource(resources, endpointsTypeUrl, name, assignment);
  overlayRawResources(resources, config);
  return resources;
}
