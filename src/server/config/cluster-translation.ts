import type { MessageInitShape } from "@bufbuild/protobuf";
import { isIP } from "node:net";
import { Cluster_DiscoveryType, Cluster_LbPolicy, type ClusterSchema } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ConfigSourceSchema } from "../../../gen/envoy/config/core/v3/config_source_pb.js";
import { HealthStatus } from "../../../gen/envoy/config/core/v3/health_check_pb.js";
import type { LbEndpointSchema } from "../../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import type { ClusterLoadAssignmentSchema } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { clusterName } from "./istio-names.js";
import { applyLocalityLoadBalancing, parseLocality, type ClientLocality } from "./locality-load-balancing.js";
import type { MeshService } from "./mesh-catalog.js";
import type { DestinationRule, ServicePort, Subset, TrafficPolicy, WorkloadEndpoint } from "./mesh-config-model.js";
import { istioMutualTransportSocket, serviceAccountSans } from "./tls-translation.js";

/** A Cluster as built (its init shape). */
export type Cluster = MessageInitShape<typeof ClusterSchema>;
/** A ClusterLoadAssignment as built (its init shape). */
export type ClusterLoadAssignment = MessageInitShape<typeof ClusterLoadAssignmentSchema>;
type LbEndpoint = MessageInitShape<typeof LbEndpointSchema>;

/** `{ ads: {} }`: fetch over the same ADS stream. */
export function adsConfigSource(): MessageInitShape<typeof ConfigSourceSchema> {
  return { configSourceSpecifier: { case: "ads", value: {} } };
}

/** How a view's clusters are built. */
export interface ClusterBuildOptions {
  /** True for GENERATOR=grpc clients (see applyTrafficPolicy); false for sidecars. */
  readonly proxyless: boolean;
  /** The client's locality, for localityLbSetting; undefined when its node has none. */
  readonly clientLocality?: ClientLocality;
}

/**
 * istiod's `MergeTrafficPolicy` for one port: the top level's settings, the subset's over them field by field, and
 * a `portLevelSettings` entry for the port (the top level's, then the subset's) replacing all three at once (port
 * settings do not inherit, as Istio documents).
 */
export function mergeTrafficPolicy(top: TrafficPolicy | undefined, subset: TrafficPolicy | undefined, port: number): TrafficPolicy {
  const merged = forPort(settingsOf(top), top, port);
  if (subset === undefined) return merged;
  return forPort({ ...merged, ...settingsOf(subset) }, subset, port);
}

/** A policy's settings, without its per-port ones. */
function settingsOf(policy: TrafficPolicy | undefined): TrafficPolicy {
  const { portLevelSettings: _, ...settings } = policy ?? {};
  return settings;
}

/** `policy`, or all three settings of `from`'s entry for `port` when it has one. */
function forPort(policy: TrafficPolicy, from: TrafficPolicy | undefined, port: number): TrafficPolicy {
  const entry = from?.portLevelSettings?.find((p) => p.port === port);
  if (entry === undefined) return policy;
  const { port: _, ...settings } = entry;
  return settings;
}

/**
 * Applies a traffic policy: load balancer, locality weighting, circuit breakers, outlier detection. As istiod's
 * sidecar generator does, a sidecar's cluster without a simple policy gets LEAST_REQUEST (istiod's default) and
 * consistentHash gives RING_HASH (minimum ring 1024 unless set) or MAGLEV. For proxyless clients the connection
 * pool gives only `max_requests`; unlike istiod's grpc generator, which drops `simple`, outlier detection and the
 * connection pool for gRPC clients that cannot apply them, rxds serve passes them on, since rxds clients do.
 */
function applyTrafficPolicy(cluster: Cluster, policy: TrafficPolicy, options: ClusterBuildOptions): void {
  const lb = policy.loadBalancer;
  const simple = lb?.simple ?? "UNSPECIFIED";
  if (simple === "LEAST_REQUEST" || simple === "LEAST_CONN" || (simple === "UNSPECIFIED" && !options.proxyless)) cluster.lbPolicy = Cluster_LbPolicy.LEAST_REQUEST;
  if (simple === "RANDOM") cluster.lbPolicy = Cluster_LbPolicy.RANDOM;
  const hash = lb?.consistentHash;
  if (hash?.algorithm === "maglev") {
    cluster.lbPolicy = Cluster_LbPolicy.MAGLEV;
    if (hash.tableSize !== undefined) cluster.lbConfig = { case: "maglevLbConfig", value: { tableSize: BigInt(hash.tableSize) } };
  } else if (hash !== undefined) {
    // ApplyRingHashLoadBalancer: ring hash, minimum ring size as given or Envoy's 1024.
    cluster.lbPolicy = Cluster_LbPolicy.RING_HASH;
    const minimumRingSize = BigInt(hash.minimumRingSize ?? 1024);
    cluster.lbConfig = { case: "ringHashLbConfig", value: { minimumRingSize } };
  }
  const locality = lb?.localityLbSetting;
  if (locality !== undefined && locality.enabled !== false && (locality.distribute !== undefined || policy.outlierDetection !== undefined)) {
    cluster.commonLbConfig ??= {};
    cluster.commonLbConfig.localityConfigSpecifier = { case: "localityWeightedLbConfig", value: {} };
  }
  const pool = policy.connectionPool;
  const threshold = options.proxyless
    ? { maxRequests: pool?.http?.http2MaxRequests }
    : {
        maxRequests: pool?.http?.http2MaxRequests,
        maxPendingRequests: pool?.http?.http1MaxPendingRequests,
        maxRetries: pool?.http?.maxRetries,
        maxConnections: pool?.tcp?.maxConnections,
      };
  const limits = Object.fromEntries(Object.entries(threshold).filter(([, v]) => v !== undefined));
  if (Object.keys(limits).length > 0) cluster.circuitBreakers = { thresholds: [limits] };
  if (!options.proxyless && pool?.tcp?.connectTimeout !== undefined) cluster.connectTimeout = { ...pool.tcp.connectTimeout };
  const outlier = policy.outlierDetection;
  if (outlier !== undefined) {
    const detection: NonNullable<Cluster["outlierDetection"]> = { enforcingSuccessRate: 0 };
    if (outlier.consecutive5xxErrors !== undefined) {
      detection.consecutive5xx = outlier.consecutive5xxErrors;
      detection.enforcingConsecutive5xx = outlier.consecutive5xxErrors > 0 ? 100 : 0;
    }
    if (outlier.consecutiveGatewayErrors !== undefined) {
      detection.consecutiveGatewayFailure = outlier.consecutiveGatewayErrors;
      detection.enforcingConsecutiveGatewayFailure = outlier.consecutiveGatewayErrors > 0 ? 100 : 0;
    }
    if (outlier.interval !== undefined) detection.interval = { ...outlier.interval };
    if (outlier.baseEjectionTime !== undefined) detection.baseEjectionTime = { ...outlier.baseEjectionTime };
    if (outlier.maxEjectionPercent !== undefined && outlier.maxEjectionPercent > 0) detection.maxEjectionPercent = outlier.maxEjectionPercent;
    cluster.outlierDetection = detection;
    if (outlier.minHealthPercent !== undefined) {
      cluster.commonLbConfig ??= {};
      cluster.commonLbConfig.healthyPanicThreshold = { value: outlier.minHealthPercent };
    }
  }
}

/**
 * `edsCluster`: an EDS cluster whose service_name is its own name, fetched over ADS, with the traffic policy; its `tls`
 * ISTIO_MUTUAL gives the transport socket istiod's grpc generator builds (both views get it, so rxds clients in
 * sidecar mode use mTLS too; istiod would give Envoy an SDS one). SIMPLE and MUTUAL are served as no TLS, as istiod's
 * grpc generator does.
 */
function edsCluster(name: string, policy: TrafficPolicy, options: ClusterBuildOptions, service: MeshService): Cluster {
  const cluster: Cluster = {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { serviceName: name, edsConfig: adsConfigSource() },
  };
  applyTrafficPolicy(cluster, policy, options);
  applyTls(cluster, policy, service);
  return cluster;
}

/** `tls.mode: ISTIO_MUTUAL` gives the cluster the transport socket istiod's grpc generator builds, with the service's SANs. */
function applyTls(cluster: Cluster, policy: TrafficPolicy, service: MeshService): void {
  if (policy.tls?.mode === "ISTIO_MUTUAL") cluster.transportSocket = istioMutualTransportSocket(serviceAccountSans(service));
}

/**
 * The DNS name a DNS-resolved service is reached by (its one host-name endpoint, or its host), or
 * undefined when its instances are IP addresses, served over EDS.
 */
function dnsInstance(service: MeshService): WorkloadEndpoint | undefined {
  const entry = service.entry;
  if (entry.resolution !== "DNS" && entry.resolution !== "DNS_ROUND_ROBIN") return undefined;
  if (entry.endpoints.length === 0) return { address: service.host, ports: {}, labels: {} };
  const only = entry.endpoints.length === 1 ? entry.endpoints[0] : undefined;
  return only !== undefined && isIP(only.address) === 0 ? only : undefined;
}

/** A STRICT_DNS cluster (LOGICAL_DNS for DNS_ROUND_ROBIN) resolving the service's DNS name, as istiod builds for DNS ServiceEntries. */
function dnsCluster(name: string, service: MeshService, port: ServicePort, instance: WorkloadEndpoint, policy: TrafficPolicy, options: ClusterBuildOptions): Cluster {
  const type = service.entry.resolution === "DNS_ROUND_ROBIN" ? Cluster_DiscoveryType.LOGICAL_DNS : Cluster_DiscoveryType.STRICT_DNS;
  const assignment = loadAssignment(name, [instance], port, undefined, policy, options);
  const cluster: Cluster = { name, clusterDiscoveryType: { case: "type", value: type }, loadAssignment: assignment };
  applyTrafficPolicy(cluster, policy, options);
  applyTls(cluster, policy, service);
  return cluster;
}

/**
 * The matching instances, grouped by locality (sorted, as istiod sorts them) with each locality weighing the sum of
 * its endpoints' weights (1 each unless the endpoint sets one); then the policy's localityLbSetting for the client.
 */
function loadAssignment(
  name: string,
  instances: readonly WorkloadEndpoint[],
  port: ServicePort,
  subset: Subset | undefined,
  policy: TrafficPolicy,
  options: ClusterBuildOptions,
): ClusterLoadAssignment {
  const selected = instances.filter((endpoint) =>
    Object.entries(subset?.labels ?? {}).every(([key, value]) => endpoint.labels[key] === value),
  );
  const byLocality = new Map<string, LbEndpoint[]>();
  for (const endpoint of selected) {
    const lbEndpoint: LbEndpoint = {
      hostIdentifier: {
        case: "endpoint",
        value: {
          address: {
            address: {
              case: "socketAddress",
              value: {
                address: endpoint.address,
                portSpecifier: { case: "portValue", value: endpoint.ports[port.name] ?? port.targetPort ?? port.number },
              },
            },
          },
        },
      },
      healthStatus: HealthStatus.HEALTHY,
      loadBalancingWeight: endpoint.weight ?? 1,
    };
    const locality = endpoint.locality ?? "";
    const group = byLocality.get(locality);
    if (group === undefined) byLocality.set(locality, [lbEndpoint]);
    else group.push(lbEndpoint);
  }
  const endpoints = [...byLocality.keys()].sort().map((locality) => {
    const lbEndpoints = byLocality.get(locality) as LbEndpoint[];
    const total = lbEndpoints.reduce((sum, each) => sum + (each.loadBalancingWeight ?? 0), 0);
    return { locality: parseLocality(locality), lbEndpoints, loadBalancingWeight: total };
  });
  const assignment: ClusterLoadAssignment = { clusterName: name, endpoints };
  if (options.clientLocality !== undefined) {
    applyLocalityLoadBalancing(assignment, options.clientLocality, policy.loadBalancer?.localityLbSetting, policy.outlierDetection !== undefined);
  }
  return assignment;
}

/** A cluster of a service: its name, port, subset (none for the default one) and traffic policy. */
interface ServiceCluster {
  readonly name: string;
  readonly port: ServicePort;
  readonly subset: Subset | undefined;
  readonly policy: TrafficPolicy;
}

/**
 * The clusters of each port of a service: the default one (the top-level traffic policy) and one per subset (the
 * subset's policy merged over it), each with the port's own settings when the policy has some.
 */
function clustersOf(service: MeshService, rule: DestinationRule | undefined): ServiceCluster[] {
  const out: ServiceCluster[] = [];
  for (const port of service.ports) {
    out.push({ name: clusterName(port.number, "", service.host), port, subset: undefined, policy: mergeTrafficPolicy(rule?.trafficPolicy, undefined, port.number) });
    for (const subset of rule?.subsets ?? []) {
      const policy = mergeTrafficPolicy(rule?.trafficPolicy, subset.trafficPolicy, port.number);
      out.push({ name: clusterName(port.number, subset.name, service.host), port, subset, policy });
    }
  }
  return out;
}

/**
 * Whether a DestinationRule sets a localityLbSetting anywhere (top level, subsets, ports): only then do the endpoints
 * of its service differ by the client's locality.
 */
export function dependsOnLocality(rule: DestinationRule | undefined): boolean {
  if (rule === undefined) return false;
  return setsLocality(rule.trafficPolicy) || rule.subsets.some((subset) => setsLocality(subset.trafficPolicy));
}

function setsLocality(policy: TrafficPolicy | undefined): boolean {
  if (policy === undefined) return false;
  return policy.loadBalancer?.localityLbSetting !== undefined || (policy.portLevelSettings?.some((each) => each.loadBalancer?.localityLbSetting !== undefined) ?? false);
}

/**
 * The clusters istiod's CDS generators build for a service, by name: per port a default cluster
 * `outbound|<port>||<host>` (the top-level traffic policy of `rule`, its DestinationRule) and per subset a cluster
 * `outbound|<port>|<subset>|<host>` (the subset's policy merged over it), with the port's own settings when the
 * policy has some, fetching their endpoints over EDS; a DNS-resolved service gets DNS clusters with the name to
 * resolve inline.
 */
export function serviceClusters(service: MeshService, rule: DestinationRule | undefined, options: ClusterBuildOptions): Map<string, Cluster> {
  const dns = dnsInstance(service);
  const out = new Map<string, Cluster>();
  for (const { name, port, policy } of clustersOf(service, rule)) {
    out.set(name, dns === undefined ? edsCluster(name, policy, options, service) : dnsCluster(name, service, port, dns, policy, options));
  }
  return out;
}

/**
 * The ClusterLoadAssignment (EDS) of each of a service's EDS clusters, by name: the instances whose labels match the
 * subset's, with the cluster's localityLbSetting applied for `options.clientLocality`.
 */
export function serviceEndpoints(service: MeshService, rule: DestinationRule | undefined, options: ClusterBuildOptions): Map<string, ClusterLoadAssignment> {
  const out = new Map<string, ClusterLoadAssignment>();
  if (dnsInstance(service) !== undefined) return out;
  for (const { name, port, subset, policy } of clustersOf(service, rule)) {
    out.set(name, loadAssignment(name, service.entry.endpoints, port, subset, policy, options));
  }
  return out;
}
