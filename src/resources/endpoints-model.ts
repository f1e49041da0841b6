// The EDS model (EndpointsModel → priorities → LocalityModel → EndpointModel) and the pieces of its
// construction that the generic path (endpoints.ts, from protobuf-es messages) and the wire path
// (endpoints-wire.ts, straight from the bytes) share, so that both build exactly the same values.

import type { JsonObject } from "@bufbuild/protobuf";
import type { ClusterLoadAssignment_Policy } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { FractionalPercent_DenominatorType } from "../../gen/envoy/type/v3/percent_pb.js";
import { fieldPath, type Reject } from "./field-error.js";

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

/** Health names by envoy.config.core.v3.HealthStatus number (0..5); other numbers are unknown. */
export const HEALTH_NAMES: readonly EndpointHealth[] = Object.freeze(["UNKNOWN", "HEALTHY", "UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED"]);
export const EMPTY_METADATA: EndpointMetadata = Object.freeze({});
export const EMPTY_ADDRESSES: readonly SocketAddressModel[] = Object.freeze([]);
export const UINT32_MAX = 0xffff_ffff;
const DEFAULT_OVERPROVISIONING_FACTOR = 140;

/** The health name of a HealthStatus number, undefined when the number is not a known status. */
export function healthName(status: number): EndpointHealth | undefined {
  return status >= 0 && status < HEALTH_NAMES.length && Number.isInteger(status) ? HEALTH_NAMES[status] : undefined;
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

/** A frozen endpoint; `metadata` and `additionalAddresses` are the shared empty values when there are none. */
export function makeEndpoint(
  address: string,
  port: number,
  weight: number,
  health: EndpointHealth,
  hostname: string,
  metadata: EndpointMetadata,
  additionalAddresses: readonly SocketAddressModel[],
): EndpointModel {
  const extra =
    hostname === "" && metadata === EMPTY_METADATA && additionalAddresses === EMPTY_ADDRESSES
      ? EMPTY_EXTRA
      : Object.freeze({ hostname, metadata, additionalAddresses });
  return Object.freeze(new Endpoint(address, port, weight, health, extra));
}

/** A frozen additional address. */
export function makeSocketAddress(address: string, port: number): SocketAddressModel {
  return Object.freeze({ address, port });
}

/** A frozen locality; freezes `endpoints`. */
export function makeLocality(region: string, zone: string, subZone: string, weight: number, endpoints: EndpointModel[]): LocalityModel {
  return Object.freeze({ region, zone, subZone, weight, endpoints: Object.freeze(endpoints) });
}

/** The model's filter metadata: `filterMetadata` itself when it has an entry, else the shared empty object. */
export function filterMetadataOf(filterMetadata: Record<string, JsonObject> | undefined): EndpointMetadata {
  if (filterMetadata === undefined) return EMPTY_METADATA;
  for (const _ in filterMetadata) return filterMetadata;
  return EMPTY_METADATA;
}

/** What is gathered for one priority while reading the localities. */
interface PriorityBucket {
  readonly firstIndex: number;
  readonly localities: LocalityModel[];
  weightSum: number;
}

/**
 * Gathers the localities of an assignment, in order, into priorities: rejects a locality repeated in one
 * priority, locality weights of a priority summing past uint32, and gaps in the priorities. O(1) per locality.
 */
export class PriorityCollector {
  private readonly seenLocalities = new Set<string>();
  private readonly buckets = new Map<number, PriorityBucket>();
  private count = 0;
  endpointCount = 0;

  constructor(
    private readonly path: string,
    private readonly reject: Reject,
  ) {}

  /** Adds the next locality (its index in `endpoints` is the number added before it). */
  add(priority: number, locality: LocalityModel): void {
    const i = this.count++;
    const key = `${priority}\u0000${locality.region}\u0000${locality.zone}\u0000${locality.subZone}`;
    if (this.seenLocalities.has(key)) {
      this.reject(
        fieldPath(fieldPath(this.path, `endpoints[${i}]`), "locality"),
        `duplicate locality ${JSON.stringify(locality.region + "/" + locality.zone + "/" + locality.subZone)} in priority ${priority}`,
      );
    }
    this.seenLocalities.add(key);
    let bucket = this.buckets.get(priority);
    if (bucket === undefined) {
      bucket = { firstIndex: i, localities: [], weightSum: 0 };
      this.buckets.set(priority, bucket);
    }
    bucket.localities.push(locality);
    bucket.weightSum += locality.weight;
    if (bucket.weightSum > UINT32_MAX) {
      this.reject(
        fieldPath(fieldPath(this.path, `endpoints[${i}]`), "load_balancing_weight"),
        `locality weights of priority ${priority} sum to more than ${UINT32_MAX}`,
      );
    }
    this.endpointCount += locality.endpoints.length;
  }

  /** The priorities, frozen; rejects a gap (gRFC A27): a priority with no locality while a higher number is used. */
  priorities(): readonly (readonly LocalityModel[])[] {
    const priorities: (readonly LocalityModel[])[] = [];
    for (let p = 0; p < this.buckets.size; p++) {
      const bucket = this.buckets.get(p);
      if (bucket === undefined) return this.rejectGap(p);
      priorities.push(Object.freeze(bucket.localities));
    }
    return Object.freeze(priorities);
  }

  private rejectGap(missing: number): never {
    let culprit: [number, PriorityBucket] | undefined;
    for (const entry of this.buckets) {
      if (entry[0] > missing && (culprit === undefined || entry[1].firstIndex < culprit[1].firstIndex)) culprit = entry;
    }
    const [priority, bucket] = culprit!;
    return this.reject(
      fieldPath(this.path, `endpoints[${bucket.firstIndex}].priority`),
      `priority ${priority} is used but priority ${missing} has no locality (priorities must be contiguous from 0)`,
    );
  }
}

/**
 * Finishes an assignment's model from its gathered localities and its policy: the priorities (gap check), then
 * the drop overloads, then the overprovisioning factor, rejecting in that order.
 */
export function finishEndpoints(
  clusterName: string,
  collector: PriorityCollector,
  policy: ClusterLoadAssignment_Policy | undefined,
  path: string,
  reject: Reject,
): EndpointsModel {
  const priorities = collector.priorities();
  return Object.freeze({
    clusterName,
    priorities,
    dropOverloads: buildDropOverloads(policy, fieldPath(path, "policy"), reject),
    overprovisioningFactor: overprovisioningFactor(policy, fieldPath(path, "policy.overprovisioning_factor"), reject),
    endpointCount: collector.endpointCount,
  });
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
