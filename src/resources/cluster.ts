import { create } from "@bufbuild/protobuf";
import type { RoutingPriority } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { clusterLoadAssignmentSchema, clusterModule, clusterSchema } from "../client/resource-schemas.js";
import { lazyMessageType, type ResourceType } from "../client/resource-type.js";
import { buildLbChoice, type LbChoice, type LbPolicyModel } from "./cluster-lb-policy.js";
import { buildOutlierDetection, type OutlierDetectionModel } from "./cluster-outlier-detection.js";
import { buildUpstreamTls, type UpstreamTlsModel } from "./cluster-tls.js";
import { optionalDurationMillis } from "./duration.js";
import { aggregateClusterConfig } from "./extension-schemas.js";
import { checkPort } from "./endpoints-address.js";
import { buildEndpoints, type EndpointsModel } from "./endpoints.js";
import { fieldRejecter, type Reject } from "./field-error.js";
import { anyTypeName, checkAdsOrSelf, unpackAny } from "./field-types.js";

/** How a cluster finds its endpoints. */
export type ClusterDiscovery =
  /** From EDS, under `serviceName` (eds_cluster_config.service_name, else the cluster's name). */
  | { readonly kind: "EDS"; readonly serviceName: string }
  /** From the inline load_assignment, validated like an EDS resource. */
  | { readonly kind: "STATIC"; readonly endpoints: EndpointsModel }
  /** One DNS name (or IP) and port to resolve: LOGICAL_DNS uses the first address, STRICT_DNS all of them. */
  | { readonly kind: "LOGICAL_DNS" | "STRICT_DNS"; readonly host: string; readonly port: number }
  /** An aggregate cluster (gRFC A37): the named clusters, in priority order. */
  | { readonly kind: "AGGREGATE"; readonly clusters: readonly string[] }
  /**
   * ORIGINAL_DST (Istio's PassthroughCluster, InboundPassthroughCluster*, headless services): each connection goes
   * to the address it was dialled to before a sidecar intercepted it, which a proxyless client does not have.
   * Valid, but a client cannot send to it.
   */
  | { readonly kind: "ORIGINAL_DST" };

/** A validated Cluster. */
export interface ClusterModel {
  readonly name: string;
  readonly discovery: ClusterDiscovery;
  /** The endpoint-picking policy. */
  readonly lbPolicy: LbPolicyModel;
  /** Whether localities are picked by their weight (WrrLocality, or locality_weighted_lb_config). */
  readonly localityWeighted: boolean;
  /** common_lb_config.healthy_panic_threshold in percent, 0..100; default 50. */
  readonly healthyPanicThreshold: number;
  /** circuit_breakers: max_requests of the DEFAULT priority threshold (gRFC A32); default 1024. */
  readonly maxRequests: number;
  /** outlier_detection (gRFC A50), undefined when unset. */
  readonly outlierDetection: OutlierDetectionModel | undefined;
  /** The TLS of calls to its endpoints (transport_socket's UpstreamTlsContext, gRFC A29); undefined for plaintext. */
  readonly tls: UpstreamTlsModel | undefined;
  /** Whether load reports go to the xDS server itself (lrs_server: self). */
  readonly lrsServerSelf: boolean;
  /** connect_timeout in ms; default 5000 (Envoy). */
  readonly connectTimeoutMs: number;
}

/** What cluster validation depends on beyond the resource. */
export interface ClusterValidationOptions {
  /**
   * The bootstrap's certificate provider instance names; a TLS cluster naming another is rejected. `"any"` accepts
   * every name (a control plane checking what it serves cannot know its clients' bootstraps). Default: none.
   */
  readonly certificateProviders?: ReadonlySet<string> | "any" | undefined;
}

/** Validates a Cluster (CDS) into a ClusterModel; throws an INVALID_RESOURCE XdsError naming the field. */
export function validateCluster(message: Cluster, name: string, options: ClusterValidationOptions = {}): ClusterModel {
  const reject = fieldRejecter("cluster", name);
  const found = discovery(message, name, reject);
  const lb = found.kind === "ORIGINAL_DST" ? originalDstLb(message, reject) : buildLbChoice(message, reject);
  const common = message.commonLbConfig;
  const panic = common?.healthyPanicThreshold?.value ?? 50;
  if (!(panic >= 0 && panic <= 100)) reject("common_lb_config.healthy_panic_threshold.value", `must be in 0..100, got ${panic}`);
  const lrs = message.lrsServer;
  if (lrs !== undefined && lrs.configSourceSpecifier.case !== "self") reject("lrs_server", "must be a self config source");
  return Object.freeze({
    name,
    discovery: found,
    lbPolicy: lb.policy,
    localityWeighted: lb.localityWeighted || common?.localityConfigSpecifier.case === "localityWeightedLbConfig",
    healthyPanicThreshold: panic,
    maxRequests: maxRequests(message),
    outlierDetection:
      message.outlierDetection === undefined ? undefined : buildOutlierDetection(message.outlierDetection, "outlier_detection", reject),
    tls: buildUpstreamTls(message.transportSocket, options.certificateProviders, name, reject),
    lrsServerSelf: lrs !== undefined,
    connectTimeoutMs: optionalDurationMillis(message.connectTimeout, 5000, "connect_timeout", reject),
  });
}

/** CDS: Cluster resources validated with `options`; SotW omission deletes them. */
export function createClusterType(options: ClusterValidationOptions): ResourceType<ClusterModel> {
  return lazyMessageType(clusterSchema, { deletedByOmission: true, validate: (message, name) => validateCluster(message, name, options) });
}

/** CDS: Cluster resources, for a client without certificate providers; SotW omission deletes them. */
export const clusterType: ResourceType<ClusterModel> = createClusterType({});

function discovery(cluster: Cluster, name: string, reject: Reject): ClusterDiscovery {
  const specifier = cluster.clusterDiscoveryType;
  if (specifier.case === "clusterType") {
    const custom = specifier.value;
    const any = custom.typedConfig;
    if (any === undefined) return reject("cluster_type.typed_config", "is required");
    if (anyTypeName(any) !== aggregateClusterConfig.typeName) {
      return reject("cluster_type.typed_config", `unsupported cluster type ${anyTypeName(any) || custom.name}`);
    }
    const config = unpackAny(any, aggregateClusterConfig.schema(), "cluster_type.typed_config", reject);
    if (config.clusters.length === 0) reject("cluster_type.typed_config.clusters", "must not be empty");
    return Object.freeze({ kind: "AGGREGATE", clusters: Object.freeze([...config.clusters]) });
  }
  const { Cluster_DiscoveryType } = clusterModule();
  // As in Envoy, an unset discovery type is STATIC.
  const type = specifier.case === "type" ? specifier.value : Cluster_DiscoveryType.STATIC;
  switch (type) {
    case Cluster_DiscoveryType.EDS: {
      const eds = cluster.edsClusterConfig;
      if (eds === undefined) return reject("eds_cluster_config", "is required for an EDS cluster");
      checkAdsOrSelf(eds.edsConfig, "eds_cluster_config.eds_config", reject);
      if (eds.serviceName === "" && name.startsWith("xdstp:")) {
        reject("eds_cluster_config.service_name", "is required for an xdstp: cluster name (gRFC A47)");
      }
      return Object.freeze({ kind: "EDS", serviceName: eds.serviceName === "" ? name : eds.serviceName });
    }
    case Cluster_DiscoveryType.STATIC: {
      const assignment = cluster.loadAssignment ?? create(clusterLoadAssignmentSchema.schema(), { clusterName: name });
      return Object.freeze({ kind: "STATIC", endpoints: buildEndpoints(assignment, reject, "load_assignment") });
    }
    case Cluster_DiscoveryType.LOGICAL_DNS:
    case Cluster_DiscoveryType.STRICT_DNS:
      return dnsTarget(cluster, type === Cluster_DiscoveryType.LOGICAL_DNS ? "LOGICAL_DNS" : "STRICT_DNS", reject);
    case Cluster_DiscoveryType.ORIGINAL_DST:
      return ORIGINAL_DST;
    default:
      return reject("type", `${Cluster_DiscoveryType[type] ?? type} is not supported by a client`);
  }
}

/** LOGICAL_DNS and STRICT_DNS (gRFC A37): exactly one locality with exactly one endpoint, a host name or IP and a port. */
function dnsTarget(cluster: Cluster, kind: "LOGICAL_DNS" | "STRICT_DNS", reject: Reject): ClusterDiscovery {
  const assignment = cluster.loadAssignment;
  if (assignment === undefined) return reject("load_assignment", `is required for a ${kind} cluster`);
  if (assignment.endpoints.length !== 1) {
    return reject("load_assignment.endpoints", `must hold exactly one locality, got ${assignment.endpoints.length}`);
  }
  const lbEndpoints = assignment.endpoints[0]!.lbEndpoints;
  if (lbEndpoints.length !== 1) {
    return reject("load_assignment.endpoints[0].lb_endpoints", `must hold exactly one endpoint, got ${lbEndpoints.length}`);
  }
  const path = "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address";
  const host = lbEndpoints[0]!.hostIdentifier;
  const address = host.case === "endpoint" ? host.value.address : undefined;
  if (address?.address.case !== "socketAddress") return reject(path, "must be a socket_address");
  const socket = address.address.value;
  if (socket.address === "") reject(`${path}.socket_address.address`, "must not be empty");
  const port = checkPort(socket, `${path}.socket_address`, reject);
  return Object.freeze({ kind, host: socket.address, port });
}

const ORIGINAL_DST: ClusterDiscovery = Object.freeze({ kind: "ORIGINAL_DST" });
const CLUSTER_PROVIDED: LbChoice = Object.freeze({ policy: Object.freeze({ kind: "CLUSTER_PROVIDED" }), localityWeighted: false });

/** As in Envoy, an ORIGINAL_DST cluster takes lb_policy CLUSTER_PROVIDED and nothing else. */
function originalDstLb(cluster: Cluster, reject: Reject): LbChoice {
  const { Cluster_LbPolicy } = clusterModule();
  if (cluster.lbPolicy !== Cluster_LbPolicy.CLUSTER_PROVIDED || cluster.loadBalancingPolicy !== undefined) {
    const policy = cluster.loadBalancingPolicy !== undefined ? "load_balancing_policy" : (Cluster_LbPolicy[cluster.lbPolicy] ?? String(cluster.lbPolicy));
    return reject("lb_policy", `${policy} is not valid for an ORIGINAL_DST cluster, which takes only CLUSTER_PROVIDED`);
  }
  return CLUSTER_PROVIDED;
}

const DEFAULT_PRIORITY: RoutingPriority.DEFAULT = 0;

function maxRequests(cluster: Cluster): number {
  const thresholds = cluster.circuitBreakers?.thresholds ?? [];
  const fallback = 1024;
  for (const threshold of thresholds) {
    if (threshold.priority === DEFAULT_PRIORITY) return threshold.maxRequests ?? fallback;
  }
  return fallback;
}
