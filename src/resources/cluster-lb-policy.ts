import type { Any } from "@bufbuild/protobuf/wkt";
import type { Cluster, LoadBalancingPolicy } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { LocalityLbConfig } from "../../gen/envoy/extensions/load_balancing_policies/common/v3/common_pb.js";
import type { RingHash_HashFunction } from "../../gen/envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash_pb.js";
import { leastRequestPolicy, maglevPolicy, pickFirstPolicy, randomPolicy, ringHashPolicy, roundRobinPolicy, wrrLocalityPolicy } from "./extension-schemas.js";
import { clusterModule } from "../client/resource-schemas.js";
import { fieldPath, type Reject } from "./field-error.js";
import { anyTypeName, unpackAny } from "./field-types.js";

const DEFAULT_HASH: RingHash_HashFunction.DEFAULT_HASH = 0;
const XX_HASH: RingHash_HashFunction.XX_HASH = 1;

/** How endpoints are picked (src/balancing applies each). */
export type LbPolicyModel =
  | { readonly kind: "ROUND_ROBIN" }
  /** Power of `choiceCount` choices (2..10; gRFC A48 caps it at 10). */
  | { readonly kind: "LEAST_REQUEST"; readonly choiceCount: number }
  /** Ketama ring hash with xxHash (gRFC A42); ring sizes 1..8,388,608, min ≤ max. */
  | { readonly kind: "RING_HASH"; readonly minRingSize: number; readonly maxRingSize: number }
  | { readonly kind: "RANDOM" }
  /** Maglev with a prime table size ≤ 5,000,011 (Envoy's rule). */
  | { readonly kind: "MAGLEV"; readonly tableSize: number }
  | { readonly kind: "PICK_FIRST"; readonly shuffleAddressList: boolean }
  /** The cluster picks the endpoint itself: ORIGINAL_DST's policy, and only its (see cluster.ts). */
  | { readonly kind: "CLUSTER_PROVIDED" };

/** The cluster's load balancing: the endpoint-picking policy and whether localities are picked by weight. */
export interface LbChoice {
  readonly policy: LbPolicyModel;
  /** Set by WrrLocality, a policy's locality_lb_config, or common_lb_config.locality_weighted_lb_config. */
  readonly localityWeighted: boolean;
}

const RING_SIZE_LIMIT = 8_388_608;
const MAGLEV_TABLE_LIMIT = 5_000_011;
const MAX_POLICY_DEPTH = 16;

/**
 * Reads the cluster's load balancing. `load_balancing_policy` (gRFC A52) wins when set: the first policy rxds supports
 * (round_robin, least_request, ring_hash, maglev, random, pick_first, and wrr_locality around one of them) is used,
 * and none supported is an error; otherwise `lb_policy` with its `lb_config`. Every policy read here is applied.
 */
export function buildLbChoice(cluster: Cluster, reject: Reject): LbChoice {
  if (cluster.loadBalancingPolicy !== undefined) {
    return typedPolicies(cluster.loadBalancingPolicy, "load_balancing_policy", 0, reject);
  }
  const localityWeighted = cluster.commonLbConfig?.localityConfigSpecifier.case === "localityWeightedLbConfig";
  return Object.freeze({ policy: enumPolicy(cluster, reject), localityWeighted });
}

function enumPolicy(cluster: Cluster, reject: Reject): LbPolicyModel {
  const { Cluster_LbPolicy, Cluster_RingHashLbConfig_HashFunction } = clusterModule();
  const config = cluster.lbConfig;
  switch (cluster.lbPolicy) {
    case Cluster_LbPolicy.ROUND_ROBIN:
      return ROUND_ROBIN;
    case Cluster_LbPolicy.RANDOM:
      return RANDOM;
    case Cluster_LbPolicy.LEAST_REQUEST:
      return leastRequest(config.case === "leastRequestLbConfig" ? config.value.choiceCount : undefined, "least_request_lb_config.choice_count", reject);
    case Cluster_LbPolicy.RING_HASH: {
      const ring = config.case === "ringHashLbConfig" ? config.value : undefined;
      if (ring !== undefined && ring.hashFunction !== Cluster_RingHashLbConfig_HashFunction.XX_HASH) {
        reject("ring_hash_lb_config.hash_function", "only XX_HASH is supported");
      }
      return ringHash(ring?.minimumRingSize, ring?.maximumRingSize, "ring_hash_lb_config", reject);
    }
    case Cluster_LbPolicy.MAGLEV: {
      const tableSize = config.case === "maglevLbConfig" ? config.value.tableSize : undefined;
      return maglev(tableSize, "maglev_lb_config.table_size", reject);
    }
    case Cluster_LbPolicy.CLUSTER_PROVIDED:
      return reject("lb_policy", "CLUSTER_PROVIDED is valid only for an ORIGINAL_DST cluster");
    case Cluster_LbPolicy.LOAD_BALANCING_POLICY_CONFIG:
      return reject("lb_policy", "LOAD_BALANCING_POLICY_CONFIG needs load_balancing_policy");
    default:
      return reject("lb_policy", `${Cluster_LbPolicy[cluster.lbPolicy] ?? cluster.lbPolicy} is not supported by a client`);
  }
}

function typedPolicies(list: LoadBalancingPolicy, path: string, depth: number, reject: Reject): LbChoice {
  if (depth >= MAX_POLICY_DEPTH) reject(path, `policies nest more than ${MAX_POLICY_DEPTH} deep`);
  const seen: string[] = [];
  for (let i = 0; i < list.policies.length; i++) {
    const any = list.policies[i]!.typedExtensionConfig?.typedConfig;
    if (any === undefined) {
      seen.push("(none)");
      continue;
    }
    const choice = typedPolicy(any, fieldPath(path, `policies[${i}].typed_extension_config.typed_config`), depth, reject);
    if (choice !== undefined) return choice;
    seen.push(anyTypeName(any));
  }
  return reject(fieldPath(path, "policies"), `no supported policy${seen.length === 0 ? " (the list is empty)" : ` among ${seen.join(", ")}`}`);
}

/** One typed policy: its model, or undefined when rxds does not support that type (the caller tries the next). */
function typedPolicy(any: Any, path: string, depth: number, reject: Reject): LbChoice | undefined {
  switch (anyTypeName(any)) {
    case roundRobinPolicy.typeName: {
      const config = unpackAny(any, roundRobinPolicy.schema(), path, reject);
      return choice(ROUND_ROBIN, weightedBy(config.localityLbConfig));
    }
    case leastRequestPolicy.typeName: {
      const config = unpackAny(any, leastRequestPolicy.schema(), path, reject);
      return choice(leastRequest(config.choiceCount, fieldPath(path, "choice_count"), reject), weightedBy(config.localityLbConfig));
    }
    case ringHashPolicy.typeName: {
      const config = unpackAny(any, ringHashPolicy.schema(), path, reject);
      if (config.hashFunction !== DEFAULT_HASH && config.hashFunction !== XX_HASH) {
        reject(fieldPath(path, "hash_function"), "only XX_HASH is supported");
      }
      return choice(ringHash(config.minimumRingSize, config.maximumRingSize, path, reject), config.localityWeightedLbConfig !== undefined);
    }
    case maglevPolicy.typeName: {
      const config = unpackAny(any, maglevPolicy.schema(), path, reject);
      return choice(maglev(config.tableSize, fieldPath(path, "table_size"), reject), config.localityWeightedLbConfig !== undefined);
    }
    case randomPolicy.typeName: {
      const config = unpackAny(any, randomPolicy.schema(), path, reject);
      return choice(RANDOM, weightedBy(config.localityLbConfig));
    }
    case pickFirstPolicy.typeName: {
      const config = unpackAny(any, pickFirstPolicy.schema(), path, reject);
      return choice(Object.freeze({ kind: "PICK_FIRST", shuffleAddressList: config.shuffleAddressList }), false);
    }
    case wrrLocalityPolicy.typeName: {
      const config = unpackAny(any, wrrLocalityPolicy.schema(), path, reject);
      if (config.endpointPickingPolicy === undefined) return reject(fieldPath(path, "endpoint_picking_policy"), "is required");
      const child = typedPolicies(config.endpointPickingPolicy, fieldPath(path, "endpoint_picking_policy"), depth + 1, reject);
      return choice(child.policy, true);
    }
    default:
      return undefined;
  }
}

function choice(policy: LbPolicyModel, localityWeighted: boolean): LbChoice {
  return Object.freeze({ policy, localityWeighted });
}

function weightedBy(config: LocalityLbConfig | undefined): boolean {
  return config?.localityConfigSpecifier.case === "localityWeightedLbConfig";
}

function leastRequest(choiceCount: number | undefined, path: string, reject: Reject): LbPolicyModel {
  const count = choiceCount ?? 2;
  if (count < 2) reject(path, `must be at least 2, got ${count}`);
  return Object.freeze({ kind: "LEAST_REQUEST", choiceCount: Math.min(count, 10) });
}

function ringHash(min: bigint | undefined, max: bigint | undefined, path: string, reject: Reject): LbPolicyModel {
  const minRingSize = ringSize(min, 1024, fieldPath(path, "minimum_ring_size"), reject);
  const maxRingSize = ringSize(max, RING_SIZE_LIMIT, fieldPath(path, "maximum_ring_size"), reject);
  if (minRingSize > maxRingSize) {
    reject(fieldPath(path, "minimum_ring_size"), `must not exceed maximum_ring_size (${minRingSize} > ${maxRingSize})`);
  }
  return Object.freeze({ kind: "RING_HASH", minRingSize, maxRingSize });
}

function ringSize(value: bigint | undefined, fallback: number, path: string, reject: Reject): number {
  if (value === undefined) return fallback;
  if (value < 1n || value > BigInt(RING_SIZE_LIMIT)) reject(path, `must be in 1..${RING_SIZE_LIMIT}, got ${value}`);
  return Number(value);
}

function maglev(tableSize: bigint | undefined, path: string, reject: Reject): LbPolicyModel {
  const size = tableSize ?? 65_537n;
  if (size > BigInt(MAGLEV_TABLE_LIMIT) || !isPrime(Number(size))) {
    reject(path, `must be a prime number at most ${MAGLEV_TABLE_LIMIT}, got ${size}`);
  }
  return Object.freeze({ kind: "MAGLEV", tableSize: Number(size) });
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

const ROUND_ROBIN: LbPolicyModel = Object.freeze({ kind: "ROUND_ROBIN" });
const RANDOM: LbPolicyModel = Object.freeze({ kind: "RANDOM" });
