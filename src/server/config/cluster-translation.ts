import type { MessageInitShape } from "@bufbuild/protobuf";
import { isIP } from "node:net";
import { Cluster_DiscoveryType, Cluster_LbPolicy, type ClusterSchema } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ConfigSourceSchema } from "../../../gen/envoy/config/core/v3/config_source_pb.js";
import { HealthStatus } from "../../../gen/envoy/config/core/v3/health_check_pb.js";
import type { LbEndpointSchema } from "../../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import type { ClusterLoadAssignmentSchema } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { clusterName } from "./istio-names.js";
import type { MeshService } from "./mesh-catalog.js";
import type { DestinationRule, ServicePort, Subset, TrafficPolicy, WorkloadEndpoint } from "./mesh-config-model.js";
import { istioMutualTransportSocket, serviceAccountSans } from "./tls-translation.js";

/** A Cluster as built (its init shape). */
export type Cluster = MessageInitShape<typeof ClusterSchema>;
/** A ClusterLoadAssignment as built (its init shape). */
export type ClusterLoadAssignment = MessageInitShape<typeof ClusterLoadAssignmentSchema>;

/** `{ ads: {} }`: fetch over the same ADS stream. */
export function adsConfigSource(): MessageInitShape<typeof ConfigSourceSchema> {
  return { configSourceSpecifier: { case: "ads", value: {} } };
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
    cluster.lbConfig = { case: "ringHashLbConfig", value: { minimumRingSize } };
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
  if (Object.keys(limits).length > 0) cluster.circuitBreakers = { thresholds: [limits] };
  if (!proxyless && pool?.tcp?.connectTimeout !== undefined) cluster.connectTimeout = { ...pool.tcp.connectTimeout };
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
      cluster.commonLbConfig = { healthyPanicThreshold: { value: outlier.minHealthPercent } };
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
  const cluster: Cluster = {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { serviceName: name, edsConfig: adsConfigSource() },
  };
  applyTrafficPolicy(cluster, policy, proxyless);
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
function dnsCluster(name: string, service: MeshService, port: ServicePort, instance: WorkloadEndpoint, policy: TrafficPolicy, proxyless: boolean): Cluster {
  const type = service.entry.resolution === "DNS_ROUND_ROBIN" ? Cluster_DiscoveryType.LOGICAL_DNS : Cluster_DiscoveryType.STRICT_DNS;
  const assignment = loadAssignment(name, [instance], port, undefined);
  const cluster: Cluster = { name, clusterDiscoveryType: { case: "type", value: type }, loadAssignment: assignment };
  applyTrafficPolicy(cluster, policy, proxyless);
  applyTls(cluster, policy, service);
  return cluster;
}

/** One locality holding the matching instances, weight 1 each unless the endpoint sets one. */
function loadAssignment(name: string, instances: readonly WorkloadEndpoint[], port: ServicePort, subset: Subset | undefined): ClusterLoadAssignment {
  const selected = instances.filter((endpoint) =>
    Object.entries(subset?.labels ?? {}).every(([key, value]) => endpoint.labels[key] === value),
  );
  const lbEndpoints = selected.map(
    (endpoint): MessageInitShape<typeof LbEndpointSchema> => ({
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
  const endpoints = lbEndpoints.length === 0 ? [] : [{ locality: {}, lbEndpoints, loadBalancingWeight: total }];
  return { clusterName: name, endpoints };
}

/** The clusters of each port of a service: the default one (top-level policy) and one per subset (subset policy merged over it). */
function clustersOf(service: MeshService, rule: DestinationRule | undefined): { name: string; port: ServicePort; subset: Subset | undefined; policy: TrafficPolicy }[] {
  const out: { name: string; port: ServicePort; subset: Subset | undefined; policy: TrafficPolicy }[] = [];
  const topPolicy = mergeTrafficPolicy(undefined, rule?.trafficPolicy);
  for (const port of service.ports) {
    out.push({ name: clusterName(port.number, "", service.host), port, subset: undefined, policy: topPolicy });
    for (const subset of rule?.subsets ?? []) {
      out.push({ name: clusterName(port.number, subset.name, service.host), port, subset, policy: mergeTrafficPolicy(rule?.trafficPolicy, subset.trafficPolicy) });
    }
  }
  return out;
}

/**
 * The clusters istiod's grpc CDS generator builds for a service, by name: per port a default cluster
 * `outbound|<port>||<host>` (top-level traffic policy of `rule`, its DestinationRule) and per subset a cluster
 * `outbound|<port>|<subset>|<host>` (subset policy merged over it), fetching their endpoints over EDS; a
 * DNS-resolved service gets DNS clusters with the name to resolve inline. `proxyless` limits the connection pool
 * mapping to what the grpc generator sets (see applyTrafficPolicy).
 */
export function serviceClusters(service: MeshService, rule: DestinationRule | undefined, proxyless: boolean): Map<string, Cluster> {
  const dns = dnsInstance(service);
  const out = new Map<string, Cluster>();
  for (const { name, port, policy } of clustersOf(service, rule)) {
    out.set(name, dns === undefined ? edsCluster(name, policy, proxyless, service) : dnsCluster(name, service, port, dns, policy, proxyless));
  }
  return out;
}

/** The ClusterLoadAssignment (EDS) of each of a service's EDS clusters, by name: the instances whose labels match the subset's. */
export function serviceEndpoints(service: MeshService, rule: DestinationRule | undefined): Map<string, ClusterLoadAssignment> {
  const out = new Map<string, ClusterLoadAssignment>();
  if (dnsInstance(service) !== undefined) return out;
  for (const { name, port, subset } of clustersOf(service, rule)) out.set(name, loadAssignment(name, service.entry.endpoints, port, subset));
  return out;
}
