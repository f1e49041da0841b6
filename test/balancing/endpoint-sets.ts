// Builders of validated endpoint sets (EDS models) for the balancing tests.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import type { LbEndpointSchema, LocalityLbEndpointsSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { validateClusterLoadAssignment, type EndpointsModel } from "../../src/resources/endpoints.js";

export type LbEndpointInit = MessageInitShape<typeof LbEndpointSchema>;
export type LocalityInit = MessageInitShape<typeof LocalityLbEndpointsSchema>;

/** An endpoint on port 8888, HEALTHY unless told. */
export function ep(address: string, extra: { weight?: number; health?: HealthStatus } = {}): LbEndpointInit {
  return {
    hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address, portSpecifier: { case: "portValue", value: 8888 } } } } } },
    healthStatus: extra.health ?? HealthStatus.HEALTHY,
    ...(extra.weight === undefined ? {} : { loadBalancingWeight: extra.weight }),
  };
}

/** A locality of region "r" and zone `zone`. */
export function locality(zone: string, weight: number, endpoints: LbEndpointInit[], priority = 0): LocalityInit {
  return { locality: { region: "r", zone }, loadBalancingWeight: weight, priority, lbEndpoints: endpoints };
}

/** The validated model of a ClusterLoadAssignment of `localities`. */
export function endpoints(name: string, localities: LocalityInit[]): EndpointsModel {
  return validateClusterLoadAssignment(create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints: localities }), name);
}
