import { createRequire } from "node:module";
import type { LbEndpoint, LocalityLbEndpoints } from "../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import type { ClusterLoadAssignment } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { lazyMessageType, type ResourceType } from "../client/resource-type.js";
import { clusterLoadAssignmentSchema } from "../client/resource-schemas.js";
import { addUnique, checkSocketAddress, type SeenAddresses } from "./endpoints-address.js";
import {
  EMPTY_ADDRESSES,
  filterMetadataOf,
  finishEndpoints,
  healthName,
  makeEndpoint,
  makeLocality,
  makeSocketAddress,
  PriorityCollector,
  UINT32_MAX,
  type EndpointModel,
  type EndpointsModel,
  type LocalityModel,
  type SocketAddressModel,
} from "./endpoints-model.js";
import { fieldPath, fieldRejecter, type Reject } from "./field-error.js";

// The wire reader hands the fields it does not read itself to protobuf-es, so it loads the generated endpoint modules:
// it is loaded with the first assignment, not with `import "rxds"` (src/lazy-schema.ts).
const require = createRequire(import.meta.url);
let wireModule: typeof import("./endpoints-wire.js") | undefined;
const wire = () => (wireModule ??= require("./endpoints-wire.js") as typeof import("./endpoints-wire.js"));

export type {
  DropOverloadModel,
  EndpointHealth,
  EndpointMetadata,
  EndpointModel,
  EndpointsModel,
  LocalityModel,
  SocketAddressModel,
} from "./endpoints-model.js";

/** Validates a ClusterLoadAssignment (EDS) into an EndpointsModel; throws an INVALID_RESOURCE XdsError naming the field. */
export function validateClusterLoadAssignment(message: ClusterLoadAssignment, name: string): EndpointsModel {
  return buildEndpoints(message, fieldRejecter("cluster load assignment", name), "");
}

/** The generic EDS type: protobuf-es decodes the message, then buildEndpoints validates it. */
const genericEndpointsType: ResourceType<EndpointsModel> = lazyMessageType(clusterLoadAssignmentSchema, {
  deletedByOmission: false,
  name: (m) => m.clusterName,
  validate: validateClusterLoadAssignment,
});

/**
 * EDS: ClusterLoadAssignment resources named by `cluster_name`; SotW omission does not delete them.
 * Decoding reads the wire format straight into the model (endpoints-wire.ts); whatever that reader does not
 * take whole (a rejection, malformed bytes, a rarely used field) is decoded and validated by the generic path,
 * so results and rejection messages are the generic path's.
 */
export const endpointsType: ResourceType<EndpointsModel> = {
  typeUrl: genericEndpointsType.typeUrl,
  deletedByOmission: genericEndpointsType.deletedByOmission,
  decode(bytes) {
    const model = wire().decodeClusterLoadAssignmentWire(bytes);
    return model === undefined ? genericEndpointsType.decode(bytes) : { name: model.clusterName, value: model };
  },
};

/**
 * Validates a ClusterLoadAssignment found at `path` of a resource (e.g. a cluster's `load_assignment`) and builds
 * its model, in one pass: O(n) in endpoints (duplicate addresses are found with a Map, not by rescanning).
 */
export function buildEndpoints(cla: ClusterLoadAssignment, reject: Reject, path: string): EndpointsModel {
  const seenAddresses: SeenAddresses = new Map();
  const collector = new PriorityCollector(path, reject);
  for (let i = 0; i < cla.endpoints.length; i++) {
    const group = cla.endpoints[i]!;
    collector.add(group.priority, buildLocality(group, fieldPath(path, `endpoints[${i}]`), reject, seenAddresses));
  }
  return finishEndpoints(cla.clusterName, collector, cla.policy, path, reject);
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
  return makeLocality(locality?.region ?? "", locality?.zone ?? "", locality?.subZone ?? "", group.loadBalancingWeight ?? 0, endpoints);
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
      list.push(makeSocketAddress(extra.address, extraPort));
    }
    additionalAddresses = Object.freeze(list);
  }
  const weight = lb.loadBalancingWeight ?? 1;
  if (weight === 0) reject(at("load_balancing_weight"), "must be at least 1 when set");
  const health = healthName(lb.healthStatus);
  if (health === undefined) return reject(at("health_status"), `unknown value ${lb.healthStatus}`);
  return makeEndpoint(socket.address, port, weight, health, endpoint.hostname, filterMetadataOf(lb.metadata?.filterMetadata), additionalAddresses);
}
