import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { LbEndpointSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ClusterBalancer } from "../../src/balancing/cluster-balancer.js";
import { validateCluster } from "../../src/resources/cluster.js";
import { validateClusterLoadAssignment, type EndpointsModel } from "../../src/resources/endpoints.js";
import type { Scenario } from "../support/scenario.js";
import { endpointAddress } from "../support/xds-fixtures.js";

/** Parameters of the ring-build scenario. */
export interface RingBuildParams {
  readonly endpoints: number;
  readonly cluster: MessageInitShape<typeof ClusterSchema>;
  /** The client's ring size cap (XdsOptions.ringSizeCap). */
  readonly ringSizeCap: number;
}

/** `count` endpoints in one locality, the one at `changed` (if any) on another port: an EDS push where one pod moved. */
function endpointSet(count: number, changed = -1): EndpointsModel {
  const lbEndpoints = Array.from({ length: count }, (_, i) =>
    create(LbEndpointSchema, {
      hostIdentifier: {
        case: "endpoint",
        value: { address: { address: { case: "socketAddress", value: { address: endpointAddress(i), portSpecifier: { case: "portValue", value: i === changed ? 9090 : 8080 } } } } },
      },
    }),
  );
  const message = create(ClusterLoadAssignmentSchema, { clusterName: "ring", endpoints: [{ locality: { region: "bench" }, loadBalancingWeight: 1, lbEndpoints }] });
  return validateClusterLoadAssignment(message, "ring");
}

const peerSkip = {
  "grpc-js-xds": "Its ring is built inside the channel's ring_hash LB policy, from connected subchannels; it cannot be built apart from a channel.",
};

/** The time to build a cluster's ring (or Maglev table) from its endpoint set, fresh and after an EDS push. */
export const ringBuild: Scenario<RingBuildParams> = {
  id: "ring-build",
  title: "Ring build",
  description:
    "A cluster of 10,000 endpoints in one locality, its endpoint set already decoded: the time its balancer takes to take the set — the endpoints' balancing state, the priority plan and the ring hash ring (or Maglev table) — when the cluster is new (`build`), and again after an EDS push that moves one endpoint (`rebuild`: state carried, ring built anew because the endpoints changed; an unchanged set reuses the ring).",
  metrics: [
    { key: "buildMs", label: "build", unit: "ms" },
    { key: "rebuildMs", label: "rebuild after a push", unit: "ms" },
  ],
  cases: () => [
    {
      label: "ring_hash, 10k endpoints, default sizes (ring capped at 4,096 entries, as gRPC caps it)",
      params: { endpoints: 10_000, cluster: { lbPolicy: Cluster_LbPolicy.RING_HASH }, ringSizeCap: 4096 },
      skip: peerSkip,
    },
    {
      label: "ring_hash, 10k endpoints, cap raised (ring of 10,000 entries)",
      params: { endpoints: 10_000, cluster: { lbPolicy: Cluster_LbPolicy.RING_HASH }, ringSizeCap: 8_388_608 },
      skip: peerSkip,
    },
    {
      label: "maglev, 10k endpoints, table of 65,537",
      params: { endpoints: 10_000, cluster: { lbPolicy: Cluster_LbPolicy.MAGLEV }, ringSizeCap: 4096 },
      skip: peerSkip,
    },
  ],
  runs: (mode) => (mode === "quick" ? 2 : 7),
  measure: async (_subject, { endpoints, cluster, ringSizeCap }) => {
    const base = { name: "ring", clusterDiscoveryType: { case: "type" as const, value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { edsConfig: { configSourceSpecifier: { case: "ads" as const, value: {} } } } };
    const model = validateCluster(create(ClusterSchema, { ...base, ...cluster } as MessageInitShape<typeof ClusterSchema>), "ring");
    const first = endpointSet(endpoints);
    const pushed = endpointSet(endpoints, endpoints >>> 1);
    const balancer = new ClusterBalancer("ring", { random: Math.random, now: Date.now, ringSizeCap, log: () => undefined, changed: () => undefined });
    const started = performance.now();
    balancer.update(model, first);
    const built = performance.now();
    balancer.update(model, pushed);
    const rebuilt = performance.now();
    if (balancer.size !== endpoints) throw new Error("bench: the balancer does not hold every endpoint");
    balancer.close();
    return { buildMs: built - started, rebuildMs: rebuilt - built };
  },
};
