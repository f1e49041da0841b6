import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { CircuitBreakersSchema } from "../../../gen/envoy/config/cluster/v3/circuit_breaker_pb.js";
import {
  Cluster_CommonLbConfigSchema,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  Cluster_RingHashLbConfigSchema,
  ClusterSchema,
  type Cluster,
} from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { OutlierDetectionSchema } from "../../../gen/envoy/config/cluster/v3/outlier_detection_pb.js";
import { AggregatedConfigSourceSchema, ConfigSourceSchema, type ConfigSource } from "../../../gen/envoy/config/core/v3/config_source_pb.js";
import { HealthStatus } from "../../../gen/envoy/config/core/v3/health_check_pb.js";
import { LbEndpointSchema, LocalityLbEndpointsSchema } from "../../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { clusterName } from "./istio-names.js";
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

/** istiod's `MergeTrafficPolicy`: each field the subset sets replaces the top-level one. */
export function mergeTrafficPolicy(top: TrafficPolicy | undefined, subset: TrafficPolicy | undefined): TrafficPolicy {
  return { ...top, ...subset };
}

/**
 * Applies a traffic policy: load balancer, circuit breakers, outlier detection. For proxyless
 * clients, like istiod's grpc generator, the connection pool gives only `max_requests`.
 */
function applyTrafficPolicy(cluster: Cluster, policy: TrafficPolicy, proxyless: boolean): void {
  const lb = policy.loadBalancer;
  if (lb?.simple === "LEAST_REQUEST" || lb?.simple === "LEAST_CONN") cluster.lbPolicy = Cluster_LbPolicy.LEAST_REQUEST;
  if (lb?.simple === "RANDOM") cluster.lbPolicy = Cluster_LbPolicy.RANDOM;
  if (lb?.consistentHash !== undefined) {
    // ApplyRingHashLoadBalancer: ring hash, minimum ring size as given or Envoy's 1024.
    cluster.lbPolicy = Cluster_LbPolicy.RING_HASH;
    const minimumRingSize = BigInt(lb.consistentHash.minimumRingSize ?? 1024);
    cluster.lbConfig = { case: "ringHashLbConfig", value: create(Cluster_RingHashLbConfigSchema, { minimumRingSize }) };
  }
  const pool = policy.connectionPool;
  const threshold = proxyless
    ? { maxRequests: pool?.http?.http2MaxRequests }
    : {
        maxRequests: pool?.http?.http2MaxRequests,
        maxPendingRequests: pool?.http?.http1MaxPendingRequests,
        maxRetries: pool?.http?.maxRetries,
        maxConnections: pool?.tcp?.maxConnections,
      };
  const limits = Object.fromEntries(Object.entries(threshold).filter(([, v]) => v !== undefined));
  if (Object.keys(limits).length > 0) cluster.circuitBreakers = create(CircuitBreakersSchema, { thresholds: [limits] });
  if (!proxyless && pool?.tcp?.connectTimeout !== undefined) cluster.connectTimeout = create(DurationSchema, pool.tcp.connectTimeout);
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
      cluster.commonLbConfig = create(Cluster_CommonLbConfigSchema, { healthyPanicThreshold: { value: outlier.minHealthPercent } });
    }
  }
}

/**
 * `edsCluster`: an EDS cluster whose service_name is its own name, fetched over ADS, with the traffic policy; its `tls`
 * ISTIO_MUTUAL gives the transport socket istiod's grpc generator builds (both views get it, so rxds clients in
 * sidecar mode use mTLS too; istiod would give Envoy an SDS one). SIMPLE and MUTUAL are served as no TLS, as istiod's
 * grpc generator does.
 */
function edsCluster(name: string, policy: TrafficPolicy, proxyless: boolean, service: MeshService): Cluster {
  const cluster = create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { serviceName: name, edsConfig: adsConfigSource() },
  });
  applyTrafficPolicy(cluster, policy, proxyless);
  if (policy.tls?.mode === "ISTIO_MUTUAL") cluster.transportSocket = istioMutualTransportSocket(serviceAccountSans(service));
  return cluster;
}

/** The instances of a service: its endpoints, or for DNS resolution without endpoints, its host. */
function instancesOf(service: MeshService): readonly WorkloadEndpoint[] {
  const entry = service.entry;
  if (entry.endpoints.length > 0 || (entry.resolution !== "DNS" && entry.resolution !== "DNS_ROUND_ROBIN")) return entry.endpoints;
  return [{ address: service.host, ports: {}, labels: {} }];
}

/** One locality holding the matching instances, weight 1 each unless the endpoint sets one. */
function loadAssignment(name: string, service: MeshService, port: ServicePort, subset: Subset | undefined): ClusterLoadAssignment {
  const selected = instancesOf(service).filter((endpoint) =>
    Object.entries(subset?.labels ?? {}).every(([key, value]) => endpoint.labels[key] === value),
  );
  const lbEndpoints = selected.map((endpoint) =>
    create(LbEndpointSchema, {
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
    }),
  );
  const total = lbEndpoints.reduce((sum, each) => sum + (each.loadBalancingWeight ?? 0), 0);
  const endpoints = lbEndpoints.length === 0 ? [] : [create(LocalityLbEndpointsSchema, { locality: {}, lbEndpoints, loadBalancingWeight: total })];
  return create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints });
}

/**
 * The clusters istiod's grpc CDS generator builds, with their EDS: per service port a default
 * cluster `outbound|<port>||<host>` (top-level traffic policy) and per DestinationRule subset a
 * cluster `outbound|<port>|<subset>|<host>` (subset policy merged over it), each with the
 * ClusterLoadAssignment of the instances whose labels match. `proxyless` limits the connection
 * pool mapping to what the grpc generator sets (see applyTrafficPolicy).
 */
export function translateClusters(catalog: MeshCatalog, proxyless: boolean): ClusterResources {
  const clusters = new Map<string, Cluster>();
  const endpoints = new Map<string, ClusterLoadAssignment>();
  for (const service of catalog.services) {
    const rule = catalog.destinationRule(service.host);
    const topPolicy = mergeTrafficPolicy(undefined, rule?.trafficPolicy);
    for (const port of service.ports) {
      const plain = clusterName(port.number, "", service.host);
      clusters.set(plain, edsCluster(plain, topPolicy, proxyless, service));
      endpoints.set(plain, loadAssignment(plain, service, port, undefined));
      for (const subset of rule?.subsets ?? []) {
        const name = clusterName(port.number, subset.name, service.host);
        clusters.set(name, edsCluster(name, mergeTrafficPolicy(rule?.trafficPolicy, subset.trafficPolicy), proxyless, service));
        endpoints.set(name, loadAssignment(name, service, port, subset));
      }
    }
  }
  return { clusters, endpoints };
}
