import type { MessageInitShape } from "@bufbuild/protobuf";
import { TrafficDirection } from "../../../gen/envoy/config/core/v3/base_pb.js";
import { ListenerSchema } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import { HttpConnectionManagerSchema } from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { FilterChainSchema } from "../../../gen/envoy/config/listener/v3/listener_components_pb.js";
import { TcpProxySchema } from "../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { NameTable_NameInfoSchema, NameTableSchema } from "../../../gen/istio/networking/nds/v1/nds_pb.js";
import { clientWorkload, workloadInputs, type InboundPort } from "./client-workload.js";
import { adsConfigSource } from "./cluster-translation.js";
import { viewPatches, virtualInboundName } from "./envoy-filter-patch.js";
import { faultFilter, routerFilter } from "./grpc-translation.js";
import { clusterDomain, clusterName, domainName, isHttpProtocol } from "./istio-names.js";
import type { MeshService } from "./mesh-catalog.js";
import type { MeshConfig } from "./mesh-config-model.js";
import { packBytes, packMessage, writeBytes } from "./message-encoding.js";
import { inboundMtlsModes, type InboundMtls } from "./peer-authentication-mode.js";
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
  nameTableTypeUrl,
  routeConfigurationTypeUrl,
  unpackResources,
  type XdsResources,
} from "./xds-resources.js";

type Listener = MessageInitShape<typeof ListenerSchema>;

/**
 * The outbound listener `0.0.0.0_<port>` (`getListenerName`) whose HTTP connection manager reads RDS `<port>`, with the
 * fault filter (which routes configure from a VirtualService's `fault`) and the router, as istiod puts them last.
 */
function outboundListener(port: number): Listener {
  const manager: MessageInitShape<typeof HttpConnectionManagerSchema> = {
    statPrefix: `outbound_0.0.0.0_${port}`,
    httpFilters: [faultFilter, routerFilter],
    routeSpecifier: { case: "rds", value: { configSource: adsConfigSource(), routeConfigName: String(port) } },
  };
  return {
    name: `0.0.0.0_${port}`,
    address: { address: { case: "socketAddress", value: { address: "0.0.0.0", portSpecifier: { case: "portValue", value: port } } } },
    filterChains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            configType: { case: "typedConfig", value: packMessage(HttpConnectionManagerSchema, manager) },
          },
        ],
      },
    ],
    trafficDirection: TrafficDirection.OUTBOUND,
    bindToPort: false,
  };
}

/** The tcp_proxy network filter sending a connection to `cluster` (its stat prefix too, as istiod names it). */
function tcpProxyFilter(cluster: string) {
  return {
    name: "envoy.filters.network.tcp_proxy",
    configType: { case: "typedConfig" as const, value: packMessage(TcpProxySchema, { statPrefix: cluster, clusterSpecifier: { case: "cluster", value: cluster } }) },
  };
}

/** A TCP port of a service with a VIP: listener `<vip>_<port>` proxying to the port's cluster, as istiod builds it. */
function tcpListener(service: MeshService, vip: string, port: number): Listener {
  const cluster = clusterName(port, "", service.host);
  return {
    name: `${vip}_${port}`,
    address: { address: { case: "socketAddress", value: { address: vip, portSpecifier: { case: "portValue", value: port } } } },
    filterChains: [{ filters: [tcpProxyFilter(cluster)] }],
    trafficDirection: TrafficDirection.OUTBOUND,
    bindToPort: false,
  };
}

/** istiod's inbound cluster name for a port. */
function inboundCluster(port: number): string {
  return `inbound|${port}||`;
}

/** A filter chain of `virtualInbound` for one port, as istiod names and matches it. */
function inboundChain({ port, host, protocol }: InboundPort, transportProtocol = "", mtls = false): MessageInitShape<typeof FilterChainSchema> {
  const cluster = inboundCluster(port);
  const filter = isHttpProtocol(protocol)
    ? {
        name: "envoy.filters.network.http_connection_manager",
        configType: {
          case: "typedConfig" as const,
          value: packMessage(HttpConnectionManagerSchema, {
            statPrefix: `inbound_0.0.0.0_${port}`,
            routeSpecifier: {
              case: "routeConfig",
              value: {
                name: cluster,
                validateClusters: false,
                virtualHosts: [
                  {
                    name: `inbound|http|${port}`,
                    domains: ["*"],
                    routes: [
                      {
                        name: "default",
                        match: { pathSpecifier: { case: "prefix", value: "/" } },
                        action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: cluster }, timeout: {} } },
                        decorator: { operation: `${host}:${port}/*` },
                      },
                    ],
                  },
                ],
              },
            },
            httpFilters: [routerFilter],
          }),
        },
      }
    : tcpProxyFilter(cluster);
  const chain = { name: `0.0.0.0_${port}`, filterChainMatch: { destinationPort: port, transportProtocol }, filters: [filter] };
  return mtls ? { ...chain, transportSocket: istioMutualDownstreamSocket } : chain;
}

/**
 * The chains of `virtualInbound` for one port in its PeerAuthentication mode, as istiod matches them: STRICT, one
 * chain for `tls` connections that terminates mTLS; PERMISSIVE, that chain and one for `raw_buffer` (plaintext);
 * DISABLE, the plaintext chain alone, matching any transport.
 */
function inboundChains(port: InboundPort, mode: InboundMtls): MessageInitShape<typeof FilterChainSchema>[] {
  if (mode === "DISABLE") return [inboundChain(port)];
  const mtls = inboundChain(port, "tls", true);
  return mode === "STRICT" ? [mtls] : [mtls, inboundChain(port, "raw_buffer")];
}

/**
 * `virtualInbound`, when the view's clients are a workload (see client-workload.ts): one filter chain per port its
 * instances listen on, matched by destination port, holding an HttpConnectionManager (HTTP ports) whose inline routes
 * send to `inbound|<port>||`, or a tcp_proxy to it, as istiod builds them, with mTLS and plaintext chains by the
 * port's PeerAuthentication mode (see `inboundChains`; their DownstreamTlsContext takes its certificates from provider
 * instance `default`, as the grpc generator's, where istiod's sidecar chains use SDS). Left out: the blackhole and
 * passthrough chains, the ALPN matches, the `inbound|<port>||` clusters (an in-process server gets its calls directly)
 * and Envoy-only filters.
 */
function virtualInbound(t: ViewTranslation): ServedResource[] {
  const workload = clientWorkload(t);
  if (workload === undefined || workload.ports.length === 0) return [];
  const modes = inboundMtlsModes(t.config.peerAuthentications, t.options.clientNamespace, workload.labels, workload.ports.map(({ port }) => port));
  const inputs = [...workloadInputs(workload, true), ...modes];
  const resource = t.cache.get(t.cache, `virtualInbound ${t.options.clientAddress} ${t.options.clientNamespace}`, inputs, () =>
    packMessage(ListenerSchema, {
      name: virtualInboundName,
      address: { address: { case: "socketAddress", value: { address: "0.0.0.0", portSpecifier: { case: "portValue", value: 15006 } } } },
      filterChains: workload.ports.flatMap((port, i) => inboundChains(port, modes[i]!)),
      trafficDirection: TrafficDirection.INBOUND,
    }),
  );
  return [{ typeUrl: listenerTypeUrl, name: virtualInboundName, resource }];
}

/** A service's part of the sidecar view: what it serves on its own, its virtual host per HTTP port and its name table entry. */
interface SidecarService {
  readonly resources: readonly ServedResource[];
  readonly virtualHosts: readonly { readonly port: number; readonly name: string; readonly bytes: Uint8Array }[];
  /** Its NDS entry (host → VIPs), encoded; none without VIPs. */
  readonly nameEntry: Uint8Array | undefined;
}

/**
 * NDS entry: a service host with VIPs (`spec.addresses`) → its IPs. Hosts of the form
 * `<name>.<ns>.svc.cluster.local` are listed as Kubernetes services with their short name and
 * namespace (a ServiceEntry stands in for a Service here); other hosts as "External".
 */
function nameEntry(service: MeshService): Uint8Array | undefined {
  if (service.addresses.length === 0) return undefined;
  const parts = service.host.endsWith(`.${clusterDomain}`) ? service.host.slice(0, -clusterDomain.length - 1).split(".") : [];
  const kubernetes = parts.length === 2;
  const info: MessageInitShape<typeof NameTable_NameInfoSchema> = {
    ips: [...service.addresses],
    registry: kubernetes ? "Kubernetes" : "External",
    ...(kubernetes ? { shortname: parts[0] as string, namespace: parts[1] as string } : {}),
  };
  return writeBytes((writer) => writer.string(1, service.host).message(2, NameTable_NameInfoSchema, info));
}

function sidecarService(t: ViewTranslation, service: MeshService): SidecarService {
  const resources: ServedResource[] = [];
  const virtualHosts: { port: number; name: string; bytes: Uint8Array }[] = [];
  for (const port of service.ports) {
    if (isHttpProtocol(port.protocol)) {
      virtualHosts.push({ port: port.number, name: domainName(service.host, port.number), bytes: virtualHostBytes(t, service, port.number, false) });
    } else if (port.protocol !== "UDP") {
      for (const vip of service.addresses) {
        resources.push({ typeUrl: listenerTypeUrl, name: `${vip}_${port.number}`, resource: packMessage(ListenerSchema, tcpListener(service, vip, port.number)) });
      }
    }
  }
  for (const [name, resource] of packedClusters(t, service, false)) resources.push({ typeUrl: clusterTypeUrl, name, resource });
  for (const [name, resource] of packedEndpoints(t, service)) resources.push({ typeUrl: endpointsTypeUrl, name, resource });
  return { resources, virtualHosts, nameEntry: nameEntry(service) };
}

const nameTableEntries = fieldNumber(NameTableSchema, "table");

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
 * port's cluster (the name a client finds through the name table). A view whose clients are a workload gets its
 * `virtualInbound` (see `virtualInbound`). The view's EnvoyFilters patch its listeners (see envoy-filter-patch.ts).
 *
 * Left out compared with istiod: virtualOutbound, the `allow_any` catch-all virtual host and the
 * Passthrough/BlackHole clusters, and Envoy-only filters such as istio.stats.
 */
export const sidecarKind: ViewKind<SidecarService> = {
  part: (t, service) => {
    const key = `${namespaceRelation(t, service) === "other" ? "sidecar other" : "sidecar own"}${localityKey(t, service)}`;
    return t.cache.get(service, key, serviceInputs(t, service), () => sidecarService(t, service));
  },
  resources: (part) => part.resources,
  shared: (t, parts) => {
    const out: ServedResource[] = [];
    const byPort = new Map<number, { name: string; bytes: Uint8Array }[]>();
    for (const part of parts) {
      for (const host of part.virtualHosts) {
        const list = byPort.get(host.port);
        if (list === undefined) byPort.set(host.port, [host]);
        else list.push(host);
      }
    }
    const view = t.options.clientNamespace ?? "";
    for (const port of [...byPort.keys()].sort((a, b) => a - b)) {
      const listener = t.cache.get(t.cache, `outbound ${port}`, [], () => packMessage(ListenerSchema, outboundListener(port)));
      out.push({ typeUrl: listenerTypeUrl, name: `0.0.0.0_${port}`, resource: listener });
      // RDS <port>: one virtual host per service on the port, sorted by name, as istiod shares it per port.
      const hosts = (byPort.get(port) ?? []).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((host) => host.bytes);
      const routes = t.cache.get(t.cache, `rds ${port} ${view}`, hosts, () => packRouteConfiguration(String(port), hosts, { validateClusters: false, ignorePortInHostMatching: true }));
      out.push({ typeUrl: routeConfigurationTypeUrl, name: String(port), resource: routes });
    }
    const entries = parts.flatMap((part) => (part.nameEntry === undefined ? [] : [part.nameEntry]));
    const nameTable = t.cache.get(t.cache, `nds ${view}`, entries, () =>
      packBytes(NameTableSchema, writeBytes((writer) => entries.forEach((entry) => writer.bytes(nameTableEntries, entry)))),
    );
    out.push({ typeUrl: nameTableTypeUrl, name: "", resource: nameTable });
    out.push(...virtualInbound(t));
    return out;
  },
  patches: (t) => viewPatches(t.config.envoyFilters, t.options.clientNamespace, clientWorkload(t)?.labels ?? []),
};

/** The sidecar view of a config on its own, as messages (see `sidecarKind`; raw `@type` documents replace generated resources of the same name). */
export function translateForSidecar(config: MeshConfig, options: TranslationOptions = {}): XdsResources {
  return unpackResources(translateView(sidecarKind, viewTranslation(config, options)));
}
