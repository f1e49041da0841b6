import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import {
  ClusterSchema,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  Cluster_RingHashLbConfig_HashFunction,
  type Cluster,
} from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { LbEndpointSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { ClusterConfigSchema } from "../../gen/envoy/extensions/clusters/aggregate/v3/cluster_pb.js";
import { LeastRequestSchema } from "../../gen/envoy/extensions/load_balancing_policies/least_request/v3/least_request_pb.js";
import { MaglevSchema } from "../../gen/envoy/extensions/load_balancing_policies/maglev/v3/maglev_pb.js";
import { RandomSchema } from "../../gen/envoy/extensions/load_balancing_policies/random/v3/random_pb.js";
import { RingHashSchema } from "../../gen/envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash_pb.js";
import { RoundRobinSchema } from "../../gen/envoy/extensions/load_balancing_policies/round_robin/v3/round_robin_pb.js";
import { WrrLocalitySchema } from "../../gen/envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality_pb.js";
import { clusterType, validateCluster, type ClusterModel } from "../../src/resources/cluster.js";

/** The plain-object form of a Cluster init (not a Cluster message), so that it can be spread. */
type ClusterInit = Exclude<MessageInitShape<typeof ClusterSchema>, Cluster>;

const NAME = "outbound|8080||echo.default.svc.cluster.local";
const ads = { configSourceSpecifier: { case: "ads" as const, value: {} } };

function pack<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Any {
  return anyPack(schema, create(schema, init));
}

function eds(init: ClusterInit = {}): Cluster {
  return create(ClusterSchema, {
    name: NAME,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: ads, serviceName: NAME },
    ...init,
  });
}

function ep(address: string, port: number): MessageInitShape<typeof LbEndpointSchema> {
  return { hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address, portSpecifier: { case: "portValue", value: port } } } } } } };
}

function valid(message: Cluster): ClusterModel {
  const result = clusterType.decode(toBinary(ClusterSchema, message));
  if (result.error !== undefined) throw new Error(result.error);
  expect(result.name).to.equal(message.name);
  return result.value;
}

function reason(message: Cluster): string {
  const result = clusterType.decode(toBinary(ClusterSchema, message));
  expect(result.error, "expected a rejection").to.be.a("string");
  return result.error!;
}

describe("cluster (CDS)", () => {
  it("reads an istiod EDS cluster with its defaults", () => {
    const model = valid(eds());
    expect(model.discovery).to.deep.equal({ kind: "EDS", serviceName: NAME });
    expect(model.lbPolicy).to.deep.equal({ kind: "ROUND_ROBIN" });
    expect(model).to.include({ localityWeighted: false, healthyPanicThreshold: 50, maxRequests: 1024, tls: undefined, connectTimeoutMs: 5000 });
    expect(model.outlierDetection).to.equal(undefined);
    expect(Object.isFrozen(model)).to.equal(true);
  });

  it("uses the cluster name as EDS service name when service_name is empty", () => {
    expect(valid(eds({ edsClusterConfig: { edsConfig: ads } })).discovery).to.deep.equal({ kind: "EDS", serviceName: NAME });
  });

  it("rejects an EDS config source that is not ADS or self, naming the field path", () => {
    const message = eds({ edsClusterConfig: { edsConfig: { configSourceSpecifier: { case: "path", value: "/eds.yaml" } } } });
    expect(reason(message)).to.equal(`cluster "${NAME}": eds_cluster_config.eds_config: must be an ADS or self config source, got path`);
    expect(reason(eds({ edsClusterConfig: {} }))).to.equal(`cluster "${NAME}": eds_cluster_config.eds_config: is required`);
  });

  it("validates a STATIC cluster's load_assignment like an EDS resource", () => {
    const message = create(ClusterSchema, {
      name: "static",
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
      loadAssignment: { clusterName: "static", endpoints: [{ lbEndpoints: [ep("127.0.0.1", 15010)] }] },
    });
    const model = valid(message);
    expect(model.discovery.kind === "STATIC" && model.discovery.endpoints.priorities[0]![0]!.endpoints[0]).to.include({ address: "127.0.0.1", port: 15010 });
    message.loadAssignment!.endpoints[0]!.priority = 1;
    expect(reason(message)).to.contain(`cluster "static": load_assignment.endpoints[0].priority: priority 1 is used but priority 0 has no locality`);
  });

  it("reads a LOGICAL_DNS cluster's one host and port and rejects more than one endpoint", () => {
    const message = create(ClusterSchema, {
      name: "dns",
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.LOGICAL_DNS },
      loadAssignment: { endpoints: [{ lbEndpoints: [ep("istiod.istio-system.svc", 15012)] }] },
    });
    expect(valid(message).discovery).to.deep.equal({ kind: "LOGICAL_DNS", host: "istiod.istio-system.svc", port: 15012 });
    message.loadAssignment!.endpoints[0]!.lbEndpoints.push(message.loadAssignment!.endpoints[0]!.lbEndpoints[0]!);
    expect(reason(message)).to.equal(`cluster "dns": load_assignment.endpoints[0].lb_endpoints: must hold exactly one endpoint, got 2`);
  });

  it("reads an aggregate cluster and rejects an empty one", () => {
    const aggregate = (clusters: string[]): Cluster =>
      create(ClusterSchema, {
        name: "agg",
        clusterDiscoveryType: { case: "clusterType", value: { name: "envoy.clusters.aggregate", typedConfig: pack(ClusterConfigSchema, { clusters }) } },
      });
    expect(valid(aggregate(["primary", "fallback"])).discovery).to.deep.equal({ kind: "AGGREGATE", clusters: ["primary", "fallback"] });
    expect(reason(aggregate([]))).to.equal(`cluster "agg": cluster_type.typed_config.clusters: must not be empty`);
  });

  it("reads istiod's ORIGINAL_DST PassthroughCluster (lb_policy CLUSTER_PROVIDED) as a valid cluster of its own kind", () => {
    const passthrough = create(ClusterSchema, {
      name: "PassthroughCluster",
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.ORIGINAL_DST },
      lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
      connectTimeout: { seconds: 10n },
      circuitBreakers: { thresholds: [{ maxConnections: 4294967295, maxRequests: 4294967295, trackRemaining: true }] },
      commonLbConfig: { localityConfigSpecifier: { case: "localityWeightedLbConfig", value: {} } },
    });
    const model = valid(passthrough);
    expect(model.discovery).to.deep.equal({ kind: "ORIGINAL_DST" });
    expect(model.lbPolicy).to.deep.equal({ kind: "CLUSTER_PROVIDED" });
    expect(model).to.include({ maxRequests: 4294967295, connectTimeoutMs: 10000 });
  });

  it("accepts CLUSTER_PROVIDED only for ORIGINAL_DST, and ORIGINAL_DST only with CLUSTER_PROVIDED (as Envoy)", () => {
    expect(reason(eds({ lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED }))).to.equal(`cluster "${NAME}": lb_policy: CLUSTER_PROVIDED is valid only for an ORIGINAL_DST cluster`);
    const originalDst = { clusterDiscoveryType: { case: "type" as const, value: Cluster_DiscoveryType.ORIGINAL_DST } };
    expect(reason(eds({ ...originalDst, lbPolicy: Cluster_LbPolicy.ROUND_ROBIN }))).to.equal(
      `cluster "${NAME}": lb_policy: ROUND_ROBIN is not valid for an ORIGINAL_DST cluster, which takes only CLUSTER_PROVIDED`,
    );
  });

  it("reads lb_policy LEAST_REQUEST, RING_HASH, RANDOM and MAGLEV with their configs", () => {
    expect(valid(eds({ lbPolicy: Cluster_LbPolicy.LEAST_REQUEST, lbConfig: { case: "leastRequestLbConfig", value: { choiceCount: 3 } } })).lbPolicy).to.deep.equal({ kind: "LEAST_REQUEST", choiceCount: 3 });
    expect(valid(eds({ lbPolicy: Cluster_LbPolicy.RING_HASH })).lbPolicy).to.deep.equal({ kind: "RING_HASH", minRingSize: 1024, maxRingSize: 8_388_608 });
    expect(valid(eds({ lbPolicy: Cluster_LbPolicy.RANDOM })).lbPolicy).to.deep.equal({ kind: "RANDOM" });
    expect(valid(eds({ lbPolicy: Cluster_LbPolicy.MAGLEV })).lbPolicy).to.deep.equal({ kind: "MAGLEV", tableSize: 65_537 });
  });

  it("rejects ring hash bounds over 8M, min above max, and non-xxHash functions (gRFC A42)", () => {
    const ring = (value: ClusterInit["lbConfig"]): Cluster => eds({ lbPolicy: Cluster_LbPolicy.RING_HASH, lbConfig: value! });
    expect(reason(ring({ case: "ringHashLbConfig", value: { maximumRingSize: 8_388_609n } }))).to.equal(
      `cluster "${NAME}": ring_hash_lb_config.maximum_ring_size: must be in 1..8388608, got 8388609`,
    );
    expect(reason(ring({ case: "ringHashLbConfig", value: { minimumRingSize: 4096n, maximumRingSize: 2048n } }))).to.contain(
      "ring_hash_lb_config.minimum_ring_size: must not exceed maximum_ring_size (4096 > 2048)",
    );
    expect(reason(ring({ case: "ringHashLbConfig", value: { hashFunction: Cluster_RingHashLbConfig_HashFunction.MURMUR_HASH_2 } }))).to.contain(
      "ring_hash_lb_config.hash_function: only XX_HASH is supported",
    );
  });

  it("picks the first supported load_balancing_policy, through WrrLocality", () => {
    const policies = {
      policies: [
        { typedExtensionConfig: { name: "custom", typedConfig: { $typeName: "google.protobuf.Any", typeUrl: "type.googleapis.com/example.Custom", value: new Uint8Array() } as Any } },
        {
          typedExtensionConfig: {
            name: "wrr",
            typedConfig: pack(WrrLocalitySchema, { endpointPickingPolicy: { policies: [{ typedExtensionConfig: { name: "lr", typedConfig: pack(LeastRequestSchema, { choiceCount: 50 }) } }] } }),
          },
        },
        { typedExtensionConfig: { name: "rr", typedConfig: pack(RoundRobinSchema, {}) } },
      ],
    };
    const model = valid(eds({ loadBalancingPolicy: policies, lbPolicy: Cluster_LbPolicy.RANDOM }));
    expect(model.lbPolicy, "choice_count is capped at 10 (gRFC A48)").to.deep.equal({ kind: "LEAST_REQUEST", choiceCount: 10 });
    expect(model.localityWeighted).to.equal(true);
  });

  it("reads typed maglev (table size checked) and random policies", () => {
    const typed = (typedConfig: Any): ClusterInit => ({ loadBalancingPolicy: { policies: [{ typedExtensionConfig: { name: "p", typedConfig } }] } });
    expect(valid(eds(typed(pack(MaglevSchema, { tableSize: 251n })))).lbPolicy).to.deep.equal({ kind: "MAGLEV", tableSize: 251 });
    expect(valid(eds(typed(pack(RandomSchema, {})))).lbPolicy).to.deep.equal({ kind: "RANDOM" });
    expect(reason(eds(typed(pack(MaglevSchema, { tableSize: 250n }))))).to.equal(
      `cluster "${NAME}": load_balancing_policy.policies[0].typed_extension_config.typed_config.table_size: must be a prime number at most 5000011, got 250`,
    );
  });

  it("rejects a load_balancing_policy with no supported policy, and an invalid supported one", () => {
    const custom = { $typeName: "google.protobuf.Any", typeUrl: "type.googleapis.com/example.Custom", value: new Uint8Array() } as Any;
    expect(reason(eds({ loadBalancingPolicy: { policies: [{ typedExtensionConfig: { name: "c", typedConfig: custom } }] } }))).to.equal(
      `cluster "${NAME}": load_balancing_policy.policies: no supported policy among example.Custom`,
    );
    const ring = pack(RingHashSchema, { minimumRingSize: 0n });
    expect(reason(eds({ loadBalancingPolicy: { policies: [{ typedExtensionConfig: { name: "r", typedConfig: ring } }] } }))).to.equal(
      `cluster "${NAME}": load_balancing_policy.policies[0].typed_extension_config.typed_config.minimum_ring_size: must be in 1..8388608, got 0`,
    );
  });

  it("maps outlier_detection per gRFC A50, with defaults and disabled algorithms", () => {
    const model = valid(eds({ outlierDetection: { interval: { seconds: 5n }, enforcingFailurePercentage: 80, failurePercentageThreshold: 60, maxEjectionPercent: 30 } }));
    expect(model.outlierDetection).to.deep.equal({
      intervalMs: 5000,
      baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 30,
      successRate: { stdevFactor: 1900, enforcementPercentage: 100, minimumHosts: 5, requestVolume: 100 },
      failurePercentage: { threshold: 60, enforcementPercentage: 80, minimumHosts: 5, requestVolume: 50 },
      consecutive5xx: { threshold: 5, enforcementPercentage: 100 },
      consecutiveGatewayFailure: undefined,
    });
    const off = valid(eds({ outlierDetection: { enforcingSuccessRate: 0, enforcingConsecutive5xx: 0 } })).outlierDetection;
    expect(off?.successRate).to.equal(undefined);
    expect(off?.failurePercentage).to.equal(undefined);
    expect(off?.consecutive5xx).to.equal(undefined);
  });

  it("maps Envoy's consecutive_5xx and consecutive_gateway_failure as Istio sets them; a threshold of 0 never ejects", () => {
    const model = valid(eds({ outlierDetection: { enforcingSuccessRate: 0, consecutive5xx: 3, enforcingConsecutive5xx: 100, consecutiveGatewayFailure: 2, enforcingConsecutiveGatewayFailure: 100 } }));
    expect(model.outlierDetection?.consecutive5xx).to.deep.equal({ threshold: 3, enforcementPercentage: 100 });
    expect(model.outlierDetection?.consecutiveGatewayFailure).to.deep.equal({ threshold: 2, enforcementPercentage: 100 });
    expect(valid(eds({ outlierDetection: { consecutive5xx: 0 } })).outlierDetection?.consecutive5xx).to.equal(undefined);
  });

  it("rejects split_external_local_origin_errors, which a client cannot honour", () => {
    expect(reason(eds({ outlierDetection: { splitExternalLocalOriginErrors: true } }))).to.equal(
      `cluster "${NAME}": outlier_detection.split_external_local_origin_errors: is not supported: a client does not count local-origin failures apart`,
    );
  });

  it("rejects outlier_detection percentages above 100 and negative durations", () => {
    expect(reason(eds({ outlierDetection: { maxEjectionPercent: 101 } }))).to.equal(`cluster "${NAME}": outlier_detection.max_ejection_percent: must be at most 100, got 101`);
    expect(reason(eds({ outlierDetection: { enforcingFailurePercentage: 150 } }))).to.contain("outlier_detection.enforcing_failure_percentage: must be at most 100, got 150");
    expect(reason(eds({ outlierDetection: { baseEjectionTime: { seconds: -3n } } }))).to.contain("outlier_detection.base_ejection_time: must not be negative");
  });

  it("reads circuit breaker max_requests of the DEFAULT priority and common_lb_config", () => {
    const model = valid(
      eds({
        circuitBreakers: { thresholds: [{ priority: 1, maxRequests: 7 }, { priority: 0, maxRequests: 100 }] },
        commonLbConfig: { healthyPanicThreshold: { value: 20 }, localityConfigSpecifier: { case: "localityWeightedLbConfig", value: {} } },
      }),
    );
    expect(model).to.include({ maxRequests: 100, healthyPanicThreshold: 20, localityWeighted: true, tls: undefined });
  });

  it("rejects a healthy panic threshold above 100", () => {
    expect(validateClusterOrReason(eds({ commonLbConfig: { healthyPanicThreshold: { value: 120 } } }))).to.equal(
      `cluster "${NAME}": common_lb_config.healthy_panic_threshold.value: must be in 0..100, got 120`,
    );
  });
});

function validateClusterOrReason(message: Cluster): string {
  try {
    validateCluster(message, message.name);
    return "accepted";
  } catch (e) {
    return (e as Error).message;
  }
}
