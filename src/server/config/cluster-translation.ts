import { create } from "@bufbuild/protobuf";
import { isIP } from "node:net";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { CircuitBreakersSchema } from "../../../gen/envoy/config/cluster/v3/circuit_breaker_pb.js";
import {
  Cluster_CommonLbConfig_LocalityWeightedLbConfigSchema,
  Cluster_CommonLbConfigSchema,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  Cluster_MaglevLbConfigSchema,
  Cluster_RingHashLbConfigSchema,
  ClusterSchema,
  type Cluster,
} from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { OutlierDetectionSchema } from "../../../gen/envoy/config/cluster/v3/outlier_detection_pb.js";
import { AggregatedConfigSourceSchema, ConfigSourceSchema, type ConfigSource } from "../../../gen/envoy/config/core/v3/config_source_pb.js";
import { HealthStatus } from "../../../gen/envoy/config/core/v3/health_check_pb.js";
import { PercentSchema } from "../../../gen/envoy/type/v3/percent_pb.js";
import { LbEndpointSchema, LocalityLbEndpointsSchema, type LbEndpoint } from "../../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { clusterName } from "./istio-names.js";
import { applyLocalityLoadBalancing, parseLocality, type ClientLocality } from "./locality-load-balancing.js";
import type { MeshCatalog, MeshService } from "./mesh-catalog.js";
import type { ServicePort, Subset, TrafficPolicy, WorkloadEndpoint } from "./mesh-config-model.js";
import { istioMutualTransportSocket, serviceAccountSans } from "./tls-translation.js";

/** The clusters (CDS) and their endpoints (EDS) of a mesh, keyed by cluster name. */
export interface ClusterResources {
  readonly clusters: Map<string, Cluster>;
  readonly endpoints: Map<string, ClusterLoadAssignment>;
}

/** `{ ads: {} }`: fetch over the same ADS stream. */
export function adsConfigSource(): ConfigSource {
  return create(ConfigSourceSchema, { configSourceSpecifier: { case: "ads", value: create(AggregatedConfigSourceSchema) } });
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
    if (hash.tableSize !== undefined) cluster.lbConfig = { case: "maglevLbConfig", value: create(Cluster_MaglevLbConfigSchema, { tableSize: BigInt(hash.tableSize) }) };
  } else if (hash !== undefined) {
    // ApplyRingHashLoadBalancer: ring hash, minimum ring size as given or Envoy's 1024.
    cluster.lbPolicy = Cluster_LbPolicy.RING_HASH;
    const minimumRingSize = BigInt(hash.minimumRingSize ?? 1024);
    cluster.lbConfig = { case: "ringHashLbConfig", value: create(Cluster_RingHashLbConfigSchema, { minimumRingSize }) };
  }
  const locality = lb?.localityLbSetting;
  if (locality !== undefined && locality.enabled !== false && (locality.distribute !== undefined || policy.outlierDetection !== undefined)) {
    cluster.commonLbConfig ??= create(Cluster_CommonLbConfigSchema);
    cluster.commonLbConfig.localityConfigSpecifier = { case: "localityWeightedLbConfig", value: create(Cluster_CommonLbConfig_LocalityWeightedLbConfigSchema) };
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
  if (Object.keys(limits).length > 0) cluster.circuitBreakers = create(CircuitBreakersSchema, { thresholds: [limits] });
  if (!options.proxyless && pool?.tcp?.connectTimeout !== undefined) cluster.connectTimeout = create(DurationSchema, pool.tcp.connectTimeout);
  const outlier = policy.outlierDetection;
  if (outlier !== undefined) {
    const detection = create(OutlierDetectionSchema, { enforcingSuccessRate: 0 });
    if (outlier.consecutive5xxErrors !== undefined) {
      detection.consecutive5xx = outlier.consecutive5xxErrors;
      detection.enforcingConsecutive5xx = outlier.consecutive5xxErrors > 0 ? 100 : 0;
    }
    if (outlier.consecutiveGatewayErrors !== undefined) {
      detection.consecutiveGatewayFailure = outlier.consecutiveGatewayErrors;
      detection.enforcingConsecutiveGatewayFailure = outlier.consecutiveGatewayErrors > 0 ? 100 : 0;
    }
    if (outlier.interval !== undefined) detection.interval = create(DurationSchema, outlier.interval);
    if (outlier.baseEjectionTime !== undefined) detection.baseEjectionTime = create(DurationSchema, outlier.baseEjectionTime);
    if (outlier.maxEjectionPercent !== undefined && outlier.maxEjectionPercent > 0) detection.maxEjectionPercent = outlier.maxEjectionPercent;
    cluster.outlierDetection = detection;
    if (outlier.minHealthPercent !== undefined) {
      cluster.commonLbConfig ??= create(Cluster_CommonLbConfigSchema);
      cluster.commonLbConfig.healthyPanicThreshold = create(PercentSchema, { value: outlier.minHealthPercent });
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
  const cluster = create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { serviceName: name, edsConfig: adsConfigSource() },
  });
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
  const cluster = create(ClusterSchema, { name, clusterDiscoveryType: { case: "type", value: type }, loadAssignment: assignment });
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
    const lbEndpoint = create(LbEndpointSchema, {
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
    });
    const locality = endpoint.locality ?? "";
    byLocality.set(locality, [...(byLocality.get(locality) ?? []), lbEndpoint]);
  }
  const endpoints = [...byLocality.keys()].sort().map((locality) => {
    const lbEndpoints = byLocality.get(locality)!;
    const total = lbEndpoints.reduce((sum, each) => sum + (each.loadBalancingWeight ?? 0), 0);
    return create(LocalityLbEndpointsSchema, { locality: parseLocality(locality), lbEndpoints, loadBalancingWeight: total });
  });
  const assignment = create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints });
  if (options.clientLocality !== undefined) {
    applyLocalityLoadBalancing(assignment, options.clientLocality, policy.loadBalancer?.localityLbSetting, policy.outlierDetection !== undefined);
  }
  return assignment;
}

/**
 * The clusters istiod's CDS generators build, with their EDS: per service port a default cluster
 * `outbound|<port>||<host>` (the top-level traffic policy) and per DestinationRule subset a cluster
 * `outbound|<port>|<subset>|<host>` (the subset's policy merged over it), each with the port's own
 * settings when the policy has some, and the ClusterLoadAssignment of the instances whose labels match; a
 * DNS-resolved service gets DNS clusters with the name to resolve inline, and no EDS.
 */
export function translateClusters(catalog: MeshCatalog, options: ClusterBuildOptions): ClusterResources {
  const clusters = new Map<string, Cluster>();
  const endpoints = new Map<string, ClusterLoadAssignment>();
  for (const service of catalog.services) {
    const rule = catalog.destinationRule(service.host);
    const dns = dnsInstance(service);
    for (const port of service.ports) {
      const subsets: [string, Subset | undefined, TrafficPolicy][] = [
        [clusterName(port.number, "", service.host), undefined, mergeTrafficPolicy(rule?.trafficPolicy, undefined, port.number)],
      ];
      for (const subset of rule?.subsets ?? []) {
        subsets.push([clusterName(port.number, subset.name, service.host), subset, mergeTrafficPolicy(rule?.trafficPolicy, subset.trafficPolicy, port.number)]);
      }
      for (const [name, subset, policy] of subsets) {
        if (dns !== undefined) {
          clusters.set(name, dnsCluster(name, service, port, dns, policy, options));
          continue;
        }
        clusters.set(name, edsCluster(name, policy, options, service));
        endpoints.set(name, loadAssignment(name, service.entry.endpoints, port, subset, policy, options));
      }
    }
  }
  return { clusters, endpoints };
}
