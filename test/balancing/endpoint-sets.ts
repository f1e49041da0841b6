// Builders of validated endpoint sets (EDS models), cluster models and balancers for the balancing tests.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import type { LbEndpointSchema, LocalityLbEndpointsSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { Cluster_DiscoveryType, ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterBalancer, type ClusterBalancerOptions } from "../../src/balancing/cluster-balancer.js";
import { validateCluster, type ClusterModel } from "../../src/resources/cluster.js";
import { validateClusterLoadAssignment, type EndpointsModel } from "../../src/resources/endpoints.js";
import { isPickFailure, type EndpointPicker } from "../../src/routing/cluster-picking.js";

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

const ads = { configSourceSpecifier: { case: "ads" as const, value: {} } };

/** The validated model of an EDS cluster `name`, with `init` (its policy, outlier detection, circuit breakers…) over it. */
export function clusterModel(name: string, init: Omit<MessageInitShape<typeof ClusterSchema>, "$typeName"> = {}): ClusterModel {
  const base: MessageInitShape<typeof ClusterSchema> = { name, clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { edsConfig: ads } };
  return validateCluster(create(ClusterSchema, { ...base, ...init } as MessageInitShape<typeof ClusterSchema>), name);
}

/** A ClusterBalancer with `random`, a clock and a log the test may set. */
export function testBalancer(name: string, random: () => number = Math.random, options: Partial<ClusterBalancerOptions> = {}): ClusterBalancer {
  return new ClusterBalancer(name, { random, now: Date.now, ringSizeCap: 4096, log: () => undefined, changed: () => undefined, ...options });
}

/** The balancer after taking `set` under the round robin cluster `c` (or `cluster`); throws when no endpoint is usable. */
export function updated(balancer: ClusterBalancer, set: EndpointsModel, cluster: ClusterModel = clusterModel(balancer.name)): ClusterBalancer {
  if (!balancer.update(cluster, set)) throw new Error("no usable endpoint");
  return balancer;
}

/** One pick, released at once (as a call that ended OK); its endpoint's address. */
export function pickAddress(picker: EndpointPicker, hash = 0): string {
  const picked = picker.pick(hash);
  if (isPickFailure(picked)) throw new Error(picked.message);
  picked.release(0);
  return picked.endpoint.address;
}
