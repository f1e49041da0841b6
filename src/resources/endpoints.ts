import type { JsonObject } from "@bufbuild/protobuf";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import type { LbEndpoint, LocalityLbEndpoints } from "../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import {
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
  type ClusterLoadAssignment_Policy,
} from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { FractionalPercent_DenominatorType } from "../../gen/envoy/type/v3/percent_pb.js";
import { messageType, type ResourceType } from "../client/resource-type.js";
import { addUnique, checkSocketAddress, type SeenAddresses } from "./endpoints-address.js";
import { fieldPath, fieldRejecter, type Reject } from "./field-error.js";

/** An endpoint's health as the control plane reports it (envoy.config.core.v3.HealthStatus). */
export type EndpointHealth = "UNKNOWN" | "HEALTHY" | "UNHEALTHY" | "DRAINING" | "TIMEOUT" | "DEGRADED";

/** An IP address and port. */
export interface SocketAddressModel {
  /** An IPv4 or IPv6 literal, as sent (not normalised). */
  readonly address: string;
  /** 1..65535. */
  readonly port: number;
}

/** The filter metadata of an endpoint (filter name → Struct), e.g. Istio's workload labels. */
export type EndpointMetadata = Readonly<Record<string, JsonObject>>;

/** One endpoint of a locality. Every endpoint has the same shape; absent parts share frozen empty values. */
export interface EndpointModel extends SocketAddressModel {
  /** load_balancing_weight, 1 when unset. */
  readonly weight: number;
  /** The reported health. */
  readonly health: EndpointHealth;
  /** Whether picking may use it: health is HEALTHY or UNKNOWN (gRFC A27). */
  readonly usable: boolean;
  /** endpoint.hostname, "" when unset. */
  readonly hostname: string;
  /** filter_metadata of the LbEndpoint (typed_filter_metadata is not kept); a shared empty object when none. */
  readonly metadata: EndpointMetadata;
  /** endpoint.additional_addresses (gRFC A61); a shared empty array when none. */
  readonly additionalAddresses: readonly SocketAddressModel[];
}

/** One locality of one priority. */
export interface LocalityModel {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
  /**
   * load_balancing_weight, 0 when unset. When locality weighting is in use (always in gRPC, per gRFC A27;
   * with locality_weighted_lb_config in Envoy) a locality of weight 0 gets no traffic: the picker skips it.
   */
  readonly weight: number;
  readonly endpoints: readonly EndpointModel[];
}

/** A drop category of the load assignment's policy. */
export interface DropOverloadModel {
  readonly category: string;
  /** Requests to drop per million, 0..1,000,000. */
  readonly perMillion: number;
}

/** A validated ClusterLoadAssignment, ready for picking. */
export interface EndpointsModel {
  readonly clusterName: string;
  /** Localities by priority: index 0 is the highest priority; priorities are contiguous. */
  readonly priorities: readonly (readonly LocalityModel[])[];
  readonly dropOverloads: readonly DropOverloadModel[];
  /** policy.overprovisioning_factor, 140 when unset. */
  readonly overprovisioningFactor: number;
  /** How many endpoints the assignment holds, over all priorities. */
  readonly endpointCount: number;
}

const HEALTH_NAMES: Readonly<Record<number, EndpointHealth>> = {
  [HealthStatus.UNKNOWN]: "UNKNOWN",
  [HealthStatus.HEALTHY]: "HEALTHY",
  [HealthStatus.UNHEALTHY]: "UNHEALTHY",
  [HealthStatus.DRAINING]: "DRAINING",
  [HealthStatus.TIMEOUT]: "TIMEOUT",
  [HealthStatus.DEGRADED]: "DEGRADED",
};
const EMPTY_METADATA: EndpointMetadata = Object.freeze({});
const EMPTY_ADDRESSES: readonly SocketAddressModel[] = Object.freeze([]);
const UINT32_MAX = 0xffff_ffff;
const DEFAULT_OVERPROVISIONING_FACTOR = 140;

/** Validates a ClusterLoadAssignment (EDS) into an EndpointsModel; throws an INVALID_RESOURCE XdsError naming the field. */
export function validateClusterLoadAssignment(message: ClusterLoadAssignment, name: string): EndpointsModel {
  return buildEndpoints(message, fieldRejecter("cluster load assignment", name), "");
}

/** EDS: ClusterLoadAssignment resources named by `cluster_name`; SotW omission does not delete them. */
export const endpointsType: ResourceType<EndpointsModel> = messageType(ClusterLoadAssignmentSchema, {
  deletedByOmission: false,
  name: (m) => m.clusterName,
  validate: validateClusterLoadAssignment,
});

/** What is gathered for one priority while reading the localities. */
interface PriorityBucket {
  readonly firstIndex: number;
  readonly localities: LocalityModel[];
  weightSum: number;
}

/**
 * Validates a ClusterLoadAssignment found at `path` of a resource (e.g. a cluster's `load_assignment`) and builds
 * its model, in one pass: O(n) in endpoints (duplicate addresses are found with a Set, not by rescanning).
 */
export function buildEndpoints(cla: ClusterLoadAssignment, reject: Reject, path: string): EndpointsModel {
  const seenAddresses: SeenAddresses = new Map();
  const seenLocalities = new Set<string>();
  const buckets = new Map<number, PriorityBucket>();
  let endpointCount = 0;
  for (let i = 0; i < cla.endpoints.length; i++) {
    const group = cla.endpoints[i]!;
    const groupPath = fieldPath(path, `endpoints[${i}]`);
    const locality = buildLocality(group, groupPath, reject, seenAddresses);
    const key = `${group.priority}\u0000${locality.region}\u0000${locality.zone}\u0000${locality.subZone}`;
    if (seenLocalities.has(key)) {
      reject(fieldPath(groupPath, "locality"), `duplicate locality ${JSON.stringify(locality.region + "/" + locality.zone + "/" + locality.subZone)} in priority ${group.priority}`);
    }
    seenLocalities.add(key);
    let bucket = buckets.get(group.priority);
    if (bucket === undefined) {
      bucket = { firstIndex: i, localities: [], weightSum: 0 };
      buckets.set(group.priority, bucket);
    }
    bucket.localities.push(locality);
    bucket.weightSum += locality.weight;
    if (bucket.weightSum > UINT32_MAX) {
      reject(fieldPath(groupPath, "load_balancing_weight"), `locality weights of priority ${group.priority} sum to more than ${UINT32_MAX}`);
    }
    endpointCount += locality.endpoints.length;
  }
  const priorities: (readonly LocalityModel[])[] = [];
  for (let p = 0; p < buckets.size; p++) {
    const bucket = buckets.get(p);
    if (bucket === undefined) return rejectGap(buckets, p, path, reject);
    priorities.push(Object.freeze(bucket.localities));
  }
  return Object.freeze({
    clusterName: cla.clusterName,
    priorities: Object.freeze(priorities),
    dropOverloads: buildDropOverloads(cla.policy, fieldPath(path, "policy"), reject),
    overprovisioningFactor: overprovisioningFactor(cla.policy, fieldPath(path, "policy.overprovisioning_factor"), reject),
    endpointCount,
  });
}

/** Rejects a gap in the priorities (gRFC A27): priority `missing` has no locality while a higher number is used. */
function rejectGap(buckets: Map<number, PriorityBucket>, missing: number, path: string, reject: Reject): never {
  let culprit: [number, PriorityBucket] | undefined;
  for (const entry of buckets) {
    if (entry[0] > missing && (culprit === undefined || entry[1].firstIndex < culprit[1].firstIndex)) culprit = entry;
  }
  const [priority, bucket] = culprit!;
  return reject(
    fieldPath(path, `endpoints[${bucket.firstIndex}].priority`),
    `priority ${priority} is used but priority ${missing} has no locality (priorities must be contiguous from 0)`,
  );
}

function buildLocality(group: LocalityLbEndpoints, path: string, reject: Reject, seen: SeenAddresses): LocalityModel {
  if (group.lbConfig.case === "ledsClusterLocalityConfig") {
    reject(fieldPath(path, "leds_cluster_locality_config"), "LEDS is not supported");
  }
  const endpoints: EndpointModel[] = new Array<EndpointModel>(group.lbEndpoints.length);
  let weightSum = 0;
  for (let j = 0; j < group.lbEndpoints.length; j++) {
    const endpoint = buildEndpoint(group.lbEndpoints[j]!, path, j, reject, seen);
    weightSum += endpoint.weight;
    if (weightSum > UINT32_MAX) {
      reject(fieldPath(path, `lb_endpoints[${j}].load_balancing_weight`), `endpoint weights of the locality sum to more than ${UINT32_MAX}`);
    }
    endpoints[j] = endpoint;
  }
  // A missing locality is the empty locality (as in Envoy); gRPC would reject it.
  const locality = group.locality;
  return Object.freeze({
    region: locality?.region ?? "",
    zone: locality?.zone ?? "",
    subZone: locality?.subZone ?? "",
    weight: group.loadBalancingWeight ?? 0,
    endpoints: Object.freeze(endpoints),
  });
}

function buildEndpoint(lb: LbEndpoint, groupPath: string, j: number, reject: Reject, seen: SeenAddresses): EndpointModel {
  const at = (field: string): string => fieldPath(groupPath, `lb_endpoints[${j}]${field === "" ? "" : "." + field}`);
  if (lb.hostIdentifier.case !== "endpoint") {
    reject(at(lb.hostIdentifier.case === "endpointName" ? "endpoint_name" : "endpoint"), lb.hostIdentifier.case === "endpointName" ? "named endpoints are not supported" : "is required");
  }
  const endpoint = lb.hostIdentifier.value;
  const socket = checkSocketAddress(endpoint.address, at("endpoint.address"), reject);
  const port = socket.portSpecifier.value as number;
  addUnique(seen, socket.address, port, at("endpoint.address"), reject);
  let additionalAddresses = EMPTY_ADDRESSES;
  if (endpoint.additionalAddresses.length > 0) {
    const list: SocketAddressModel[] = [];
    for (let k = 0; k < endpoint.additionalAddresses.length; k++) {
      const extraPath = at(`endpoint.additional_addresses[${k}].address`);
      const extra = checkSocketAddress(endpoint.additionalAddresses[k]!.address, extraPath, reject);
      const extraPort = extra.portSpecifier.value as number;
      addUnique(seen, extra.address, extraPort, extraPath, reject);
      list.push(Object.freeze({ address: extra.address, port: extraPort }));
    }
    additionalAddresses = Object.freeze(list);
  }
  const weight = lb.loadBalancingWeight ?? 1;
  if (weight === 0) reject(at("load_balancing_weight"), "must be at least 1 when set");
  const health = HEALTH_NAMES[lb.healthStatus];
  if (health === undefined) reject(at("health_status"), `unknown value ${lb.healthStatus}`);
  const metadata = metadataOf(lb);
  const extra =
    endpoint.hostname === "" && metadata === EMPTY_METADATA && additionalAddresses === EMPTY_ADDRESSES
      ? EMPTY_EXTRA
      : Object.freeze({ hostname: endpoint.hostname, metadata, additionalAddresses });
  return Object.freeze(new Endpoint(socket.address, port, weight, health, extra));
}

/** The rarely set parts of an endpoint, kept out of line so that the common endpoint stays small. */
interface EndpointExtra {
  readonly hostname: string;
  readonly metadata: EndpointMetadata;
  readonly additionalAddresses: readonly SocketAddressModel[];
}
const EMPTY_EXTRA: EndpointExtra = Object.freeze({ hostname: "", metadata: EMPTY_METADATA, additionalAddresses: EMPTY_ADDRESSES });

/**
 * The EndpointModel implementation: five own fields (about 64 bytes on 64-bit V8 without pointer compression),
 * the rest read through prototype getters, so that a 100k-endpoint assignment stays near 100 bytes per endpoint.
 */
class Endpoint implements EndpointModel {
  constructor(
    readonly address: string,
    readonly port: number,
    readonly weight: number,
    readonly health: EndpointHealth,
    private readonly extra: EndpointExtra,
  ) {}

  get usable(): boolean {
    return this.health === "HEALTHY" || this.health === "UNKNOWN";
  }

  get hostname(): string {
    return this.extra.hostname;
  }

  get metadata(): EndpointMetadata {
    return this.extra.metadata;
  }

  get additionalAddresses(): readonly SocketAddressModel[] {
    return this.extra.additionalAddresses;
  }
}

function metadataOf(lb: LbEndpoint): EndpointMetadata {
  const filterMetadata = lb.metadata?.filterMetadata;
  if (filterMetadata === undefined) return EMPTY_METADATA;
  for (const _ in filterMetadata) return filterMetadata;
  return EMPTY_METADATA;
}

const PER_MILLION: Readonly<Record<number, number>> = {
  [FractionalPercent_DenominatorType.HUNDRED]: 10_000,
  [FractionalPercent_DenominatorType.TEN_THOUSAND]: 100,
  [FractionalPercent_DenominatorType.MILLION]: 1,
};

function buildDropOverloads(policy: ClusterLoadAssignment_Policy | undefined, path: string, reject: Reject): readonly DropOverloadModel[] {
  if (policy === undefined || policy.dropOverloads.length === 0) return EMPTY_DROPS;
  return Object.freeze(
    policy.dropOverloads.map((drop, i) => {
      const fraction = drop.dropPercentage;
      let perMillion = 0;
      if (fraction !== undefined) {
        const scale = PER_MILLION[fraction.denominator];
        if (scale === undefined) reject(`${path}.drop_overloads[${i}].drop_percentage.denominator`, `unknown value ${fraction.denominator}`);
        perMillion = Math.min(1_000_000, fraction.numerator * scale);
      }
      return Object.freeze({ category: drop.category, perMillion });
    }),
  );
}
const EMPTY_DROPS: readonly DropOverloadModel[] = Object.freeze([]);

function overprovisioningFactor(policy: ClusterLoadAssignment_Policy | undefined, path: string, reject: Reject): number {
  const factor = policy?.overprovisioningFactor ?? DEFAULT_OVERPROVISIONING_FACTOR;
  if (factor === 0) reject(path, "must be greater than 0");
  return factor;
}
