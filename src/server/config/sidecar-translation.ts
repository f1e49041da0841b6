import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { TrafficDirection } from "../../../gen/envoy/config/core/v3/base_pb.js";
import { FilterChainSchema, FilterSchema } from "../../../gen/envoy/config/listener/v3/listener_components_pb.js";
import { ListenerSchema, type Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../../../gen/envoy/config/route/v3/route_pb.js";
import { HttpConnectionManagerSchema } from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TcpProxySchema } from "../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { NameTable_NameInfoSchema, NameTableSchema, type NameTable, type NameTable_NameInfo } from "../../../gen/istio/networking/nds/v1/nds_pb.js";
import { adsConfigSource, translateClusters } from "./cluster-translation.js";
import { buildVirtualHost, clusterOptions, faultFilter, overlayRawResources, routerFilter, type TranslationOptions } from "./grpc-translation.js";
import { clusterDomain, clusterName, isHttpProtocol } from "./istio-names.js";
import { buildMeshCatalog, type MeshCatalog, type MeshService } from "./mesh-catalog.js";
import type { MeshConfig } from "./mesh-config-model.js";
import {
  clusterTypeUrl,
  endpointsTypeUrl,
  listenerTypeUrl,
  nameTableTypeUrl,
  putResource,
  routeConfigurationTypeUrl,
  type XdsResources,
} from "./xds-resources.js";

/**
 * The outbound listener `0.0.0.0_<port>` (`getListenerName`) whose HTTP connection manager reads RDS `<port>`, with the
 * fault filter (which routes configure from a VirtualService's `fault`) and the router, as istiod puts them last.
 */
function outboundListener(port: number): Listener {
  const manager = create(HttpConnectionManagerSchema, {
    statPrefix: `outbound_0.0.0.0_${port}`,
    httpFilters: [faultFilter(), routerFilter()],
    routeSpecifier: { case: "rds", value: { configSource: adsConfigSource(), routeConfigName: String(port) } },
  });
  return create(ListenerSchema, {
    name: `0.0.0.0_${port}`,
    address: { address: { case: "socketAddress", value: { address: "0.0.0.0", portSpecifier: { case: "portValue", value: port } } } },
    filterChains: [
      create(FilterChainSchema, {
        filters: [
          create(FilterSchema, {
            name: "envoy.filters.network.http_connection_manager",
            configType: { case: "typedConfig", value: anyPack(HttpConnectionManagerSchema, manager) },
          }),
        ],
      }),
    ],
    trafficDirection: TrafficDirection.OUTBOUND,
    bindToPort: false,
  });
}

/** A TCP port of a service with a VIP: listener `<vip>_<port>` proxying to the port's cluster, as istiod builds it. */
function tcpListener(service: MeshService, vip: string, port: number): Listener {
  const cluster = clusterName(port, "", service.host);
  const proxy = create(TcpProxySchema, { statPrefix: cluster, clusterSpecifier: { case: "cluster", value: cluster } });
  return create(ListenerSchema, {
    name: `${vip}_${port}`,
    address: { address: { case: "socketAddress", value: { address: vip, portSpecifier: { case: "portValue", value: port } } } },
    filterChains: [
      create(FilterChainSchema, {
        filters: [create(FilterSchema, { name: "envoy.filters.network.tcp_proxy", configType: { case: "typedConfig", value: anyPack(TcpProxySchema, proxy) } })],
      }),
    ],
    trafficDirection: TrafficDirection.OUTBOUND,
    bindToPort: false,
  });
}

/** RDS `<port>`: one virtual host per service on that port, sorted by name, as istiod shares it per port. */
function portRouteConfiguration(catalog: MeshCatalog, port: number, services: readonly MeshService[], options: TranslationOptions): RouteConfiguration {
  const virtualHosts = services.map((service) => buildVirtualHost(catalog, service, port, false, options));
  virtualHosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return create(RouteConfigurationSchema, { name: String(port), virtualHosts, validateClusters: false, ignorePortInHostMatching: true });
}

/**
 * NDS: each service host with VIPs (`spec.addresses`) → its IPs. Hosts of the form
 * `<name>.<ns>.svc.cluster.local` are listed as Kubernetes services with their short name and
 * namespace (a ServiceEntry stands in for a Service here); other hosts as "External".
 */
function nameTable(catalog: MeshCatalog): NameTable {
  const table: Record<string, NameTable_NameInfo> = {};
  for (const service of catalog.services) {
    if (service.addresses.length === 0) continue;
    const parts = service.host.endsWith(`.${clusterDomain}`) ? service.host.slice(0, -clusterDomain.length - 1).split(".") : [];
    const kubernetes = parts.length === 2;
    table[service.host] = create(NameTable_NameInfoSchema, {
      ips: [...service.addresses],
      registry: kubernetes ? "Kubernetes" : "External",
      ...(kubernetes ? { shortname: parts[0] as string, namespace: parts[1] as string } : {}),
    });
  }
  return create(NameTableSchema, { table });
}

/**
 * Envoy sidecar-style resources, as istiod serves a client without GENERATOR=grpc (the shape
 * kitex-contrib/xds consumes): per HTTP port a listener `0.0.0.0_<port>` with an
 * HttpConnectionManager reading RDS `<port>`; that route configuration holds one virtual host per
 * service on the port (domains: the FQDN, its short forms and VIPs, with and without `:<port>`,
 * and `ignore_port_in_host_matching` as istiod sets); the same clusters and endpoints as the grpc
 * translation (with the full connection-pool mapping); and the NDS name table (one resource "").
 * Raw `@type` documents are added last, replacing generated resources of the same name.
 *
 * A TCP port of a service with a VIP gets a listener `<vip>_<port>` whose tcp_proxy sends to the
 * port's cluster (the name a client finds through the name table).
 *
 * Left out compared with istiod: virtualInbound/virtualOutbound, the `allow_any` catch-all virtual
 * host and the Passthrough/BlackHole clusters, and Envoy-only filters such as istio.stats.
 */
export function translateForSidecar(config: MeshConfig, options: TranslationOptions = {}): XdsResources {
  const catalog = buildMeshCatalog(config, options.clientNamespace);
  const resources: XdsResources = new Map();
  const byPort = new Map<number, MeshService[]>();
  for (const service of catalog.services) {
    for (const port of service.ports) {
      if (!isHttpProtocol(port.protocol)) {
        if (port.protocol === "UDP") continue;
        for (const vip of service.addresses) {
          const listener = tcpListener(service, vip, port.number);
          putResource(resources, listenerTypeUrl, listener.name, listener);
        }
        continue;
      }
      const list = byPort.get(port.number) ?? [];
      list.push(service);
      byPort.set(port.number, list);
    }
  }
  for (const port of [...byPort.keys()].sort((a, b) => a - b)) {
    const listener = outboundListener(port);
    putResource(resources, listenerTypeUrl, listener.name, listener);
    const routes = portRouteConfiguration(catalog, port, byPort.get(port) ?? [], options);
    putResource(resources, routeConfigurationTypeUrl, routes.name, routes);
  }
  const { clusters, endpoints } = translateClusters(catalog, clusterOptions(options, false));
  for (const [name, cluster] of clusters) putResource(resources, clusterTypeUrl, name, cluster);
  for (const [name, assignment] of endpoints) putResource(resources, endpointsTypeUrl, name, assignment);
  putResource(resources, nameTableTypeUrl, "", nameTable(catalog));
  overlayRawResources(resources, config);
  return resources;
}
