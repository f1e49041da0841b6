// What the istiod sidecar dump implies, derived from its resources alone (no rxds code): the NDS name
// table istiod's DNS capture would send with it, and where each service's calls must go.
import { isIP } from "node:net";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, Cluster_LbPolicy, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { VirtualHost } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TcpProxySchema } from "../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { NameTableSchema, type NameTable } from "../../gen/istio/networking/nds/v1/nds_pb.js";
import { edsServiceName, isEds, type SidecarDump } from "./istio-sidecar-dump.js";

/** The hosts a listener's filter chains send to: RDS `<host>:<port>` names and tcp_proxy `outbound|<port>|<subset>|<host>` clusters. */
function listenerHosts(listener: Listener): string[] {
  const hosts: string[] = [];
  const chains = [...listener.filterChains, ...(listener.defaultFilterChain ? [listener.defaultFilterChain] : [])];
  for (const filter of chains.flatMap((chain) => chain.filters)) {
    if (filter.configType.case !== "typedConfig") continue;
    const config: Any = filter.configType.value;
    const hcm = anyUnpack(config, HttpConnectionManagerSchema);
    if (hcm?.routeSpecifier.case === "rds") {
      const name = hcm.routeSpecifier.value.routeConfigName;
      if (name.includes(":")) hosts.push(name.slice(0, name.lastIndexOf(":")));
    }
    const tcp = anyUnpack(config, TcpProxySchema);
    if (tcp?.clusterSpecifier.case === "cluster") {
      const parts = tcp.clusterSpecifier.value.split("|");
      if (parts.length === 4 && parts[0] === "outbound") hosts.push(parts[3]!);
    }
  }
  return hosts;
}

/**
 * The service a virtual host serves: istiod names it `<host>:<port>` (its domains are then the host's
 * names and VIP, or just `*` in the route configuration of a sniffed port); undefined for the others
 * (`allow_any`, which sends unknown hosts to PassthroughCluster).
 */
function serviceOf(virtualHost: VirtualHost): { host: string; port: string } | undefined {
  const service = /^(.+):(\d+)$/.exec(virtualHost.name);
  return service ? { host: service[1]!, port: service[2]! } : undefined;
}

/**
 * The NDS name table istiod would send this sidecar: every service host named by a virtual host's domains
 * or by a `<IP>_<port>` listener, with the IPs of its virtual hosts' domains (cluster VIPs) and of the
 * listeners pointing at it (a headless service's pod IPs). Kubernetes hosts get their short name and
 * namespace, as Istio fills them.
 */
export function sidecarNameTable(dump: SidecarDump): NameTable {
  const ips = new Map<string, string[]>();
  const add = (host: string, ip: string) => {
    const list = ips.get(host) ?? [];
    if (!list.includes(ip)) list.push(ip);
    ips.set(host, list);
  };
  for (const virtualHost of dump.routeConfigurations.flatMap((rc) => rc.virtualHosts)) {
    const host = serviceOf(virtualHost)?.host;
    if (host === undefined) continue;
    ips.set(host, ips.get(host) ?? []);
    for (const domain of virtualHost.domains) if (isIP(domain) !== 0) add(host, domain);
  }
  for (const listener of dump.listeners) {
    const ip = /^(.+)_\d+$/.exec(listener.name)?.[1];
    if (ip === undefined || isIP(ip) === 0 || ip === "0.0.0.0") continue;
    for (const host of listenerHosts(listener)) add(host, ip);
  }
  const table: NonNullable<MessageInitShape<typeof NameTableSchema>["table"]> = {};
  for (const [host, addresses] of [...ips].sort(([a], [b]) => a.localeCompare(b))) {
    if (addresses.length === 0) continue;
    const kubernetes = /^([^.]+)\.([^.]+)\.svc\.cluster\.local$/.exec(host);
    table[host] = kubernetes
      ? { ips: addresses, registry: "Kubernetes", shortname: kubernetes[1]!, namespace: kubernetes[2]!, altHosts: [] }
      : { ips: addresses, registry: "External", shortname: "", namespace: "", altHosts: [] };
  }
  return create(NameTableSchema, { table });
}

/** How a call to a service must end, by the dump. */
export type ExpectedOutcome =
  /** Sent to an endpoint of the cluster. */
  | { readonly kind: "routed"; readonly endpoints: ReadonlySet<string> }
  /** The cluster has no healthy endpoint: the call fails, naming it. */
  | { readonly kind: "NO_HEALTHY_ENDPOINT" }
  /** The cluster is ORIGINAL_DST (CLUSTER_PROVIDED): valid, but a client cannot send to it; the call fails, naming it. */
  | { readonly kind: "UNSUPPORTED_CLUSTER" };

/** Where the dump sends a call to one service. */
export interface ExpectedRoute {
  /** `<host>:<port>`, as a client dials it. */
  readonly target: string;
  /** The route configuration and virtual host the expectation was read from. */
  readonly routeConfiguration: string;
  /** The cluster the route names. */
  readonly cluster: string;
  readonly outcome: ExpectedOutcome;
}

/**
 * For every service virtual host of every route configuration (named `<host>:<port>`, so not
 * `allow_any`): the target `<host>:<port>`, the cluster of its first route matching `path`, and how a
 * call must end there. Throws on anything this derivation does not model (a port other than the route
 * configuration's, a host its domains do not name first, a match other than a prefix, an action other
 * than one cluster, one target sent to two clusters), so a surprise is never guessed.
 */
export function expectedRoutes(dump: SidecarDump, path: string): ExpectedRoute[] {
  const clusters = new Map(dump.clusters.map((c) => [c.name, c] as const));
  const byTarget = new Map<string, ExpectedRoute>();
  for (const rc of dump.routeConfigurations) {
    const port = /^(?:.*:)?(\d+)$/.exec(rc.name)?.[1];
    if (port === undefined) throw new Error(`route configuration ${rc.name}: no port in its name`);
    for (const virtualHost of rc.virtualHosts) {
      const service = serviceOf(virtualHost);
      if (service === undefined) continue;
      const target = virtualHost.name;
      if (service.port !== port) throw new Error(`route configuration ${rc.name}: virtual host ${target} is for another port`);
      const named = virtualHost.domains.filter((domain) => domain !== "*");
      if (named.length > 0 && named[0] !== service.host) throw new Error(`route configuration ${rc.name}: virtual host ${target} has domains ${named.join(", ")}`);
      const route = virtualHost.routes.find((r) => {
        const match = r.match;
        if (match?.pathSpecifier.case !== "prefix") throw new Error(`${virtualHost.name}: route ${r.name} matches by ${match?.pathSpecifier.case ?? "nothing"}, not modelled here`);
        if (match.headers.length > 0 || match.queryParameters.length > 0 || match.runtimeFraction || match.grpc || match.dynamicMetadata.length > 0) {
          throw new Error(`${virtualHost.name}: route ${r.name} matches more than a prefix, not modelled here`);
        }
        return path.startsWith(match.pathSpecifier.value);
      });
      if (route === undefined) throw new Error(`${virtualHost.name}: no route matches ${path}`);
      if (route.action.case !== "route" || route.action.value.clusterSpecifier.case !== "cluster") throw new Error(`${virtualHost.name}: route ${route.name} does not send to one cluster`);
      const cluster = route.action.value.clusterSpecifier.value;
      const expected: ExpectedRoute = { target, routeConfiguration: rc.name, cluster, outcome: outcomeOf(clusters.get(cluster), dump, cluster) };
      const earlier = byTarget.get(target);
      if (earlier && earlier.cluster !== cluster) throw new Error(`${target}: route configuration ${earlier.routeConfiguration} sends it to ${earlier.cluster}, ${rc.name} to ${cluster}`);
      if (!earlier) byTarget.set(target, expected);
    }
  }
  return [...byTarget.values()].sort((a, b) => a.target.localeCompare(b.target));
}

function outcomeOf(cluster: Cluster | undefined, dump: SidecarDump, name: string): ExpectedOutcome {
  if (cluster === undefined) throw new Error(`cluster ${name} is not in the dump`);
  const type = cluster.clusterDiscoveryType;
  if ((type.case === "type" && type.value === Cluster_DiscoveryType.ORIGINAL_DST) || cluster.lbPolicy === Cluster_LbPolicy.CLUSTER_PROVIDED) return { kind: "UNSUPPORTED_CLUSTER" };
  if (!isEds(cluster)) throw new Error(`cluster ${name}: neither EDS nor ORIGINAL_DST, not modelled here`);
  const endpoints = new Set<string>();
  for (const lbEndpoint of dump.endpoints.get(edsServiceName(cluster))?.endpoints.flatMap((locality) => locality.lbEndpoints) ?? []) {
    if (lbEndpoint.healthStatus !== HealthStatus.HEALTHY && lbEndpoint.healthStatus !== HealthStatus.UNKNOWN) continue;
    const address = lbEndpoint.hostIdentifier.case === "endpoint" ? lbEndpoint.hostIdentifier.value.address?.address : undefined;
    if (address?.case === "socketAddress" && address.value.portSpecifier.case === "portValue") endpoints.add(`${address.value.address}:${address.value.portSpecifier.value}`);
  }
  return endpoints.size === 0 ? { kind: "NO_HEALTHY_ENDPOINT" } : { kind: "routed", endpoints };
}
