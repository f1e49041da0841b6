import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { liveMemory } from "../support/heap.js";
import { withLoopback } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { assignmentResource, CDS, EDS, istioNames, LDS, listenerResource, RDS, routeConfigurationResource } from "../support/xds-fixtures.js";

/** Parameters of the balancing-heap scenario. */
export interface BalancingHeapParams {
  readonly endpoints: number;
  readonly outlierDetection: boolean;
}

const names = istioNames("heap.default.svc.cluster.local", 8080);

/** What a routed target of many endpoints keeps on the heap, with and without outlier detection. */
export const balancingHeap: Scenario<BalancingHeapParams> = {
  id: "balancing-heap",
  title: "Heap per routed endpoint",
  description:
    "A target routing to one cluster of 10,000 endpoints, resolved to a Router that has routed a call: live heap after a full GC, minus before the client was made, ÷ endpoints. It holds the endpoint set, the snapshot and Router, and the balancing state of every endpoint (round-robin position, calls in flight, and with outlier detection on its call counts, consecutive failures and ejection).",
  metrics: [{ key: "bytesPerEndpoint", label: "heap per endpoint", unit: "B/endpoint" }],
  cases: () =>
    [false, true].map((outlierDetection) => ({
      label: `10k endpoints, outlier detection ${outlierDetection ? "on" : "off"}`,
      params: { endpoints: 10_000, outlierDetection },
      skip: { "grpc-js-xds": "Its balancing state (subchannels, outlier detection) lives in a channel's LB policy tree, with a connection per endpoint; its router alone holds none." },
    })),
  runs: (mode) => (mode === "quick" ? 1 : 5),
  measure: (subject, { endpoints, outlierDetection }) =>
    withLoopback(subject, async (plane, connect) => {
      const cluster: MessageInitShape<typeof ClusterSchema> = {
        name: names.cluster,
        clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
        edsClusterConfig: { edsConfig: { configSourceSpecifier: { case: "ads", value: {} } } },
        ...(outlierDetection ? { outlierDetection: { interval: { seconds: 10n, nanos: 0 }, enforcingFailurePercentage: 100 } } : {}),
      };
      plane.set(LDS, { [names.listener]: listenerResource(names.listener, names.route) });
      plane.set(RDS, { [names.route]: routeConfigurationResource(names.route, names.listener, [names.cluster]) });
      plane.set(CDS, { [names.cluster]: anyPack(ClusterSchema, create(ClusterSchema, cluster)) });
      plane.set(EDS, { [names.cluster]: assignmentResource(names.cluster, endpoints) });
      const before = await liveMemory();
      const router = await connect().callRouter(names.listener, 1);
      const route = router.prepare([{ path: "/svc.Service/Call", headers: {} }]);
      if (route(0) !== names.cluster) throw new Error(`${subject.name}: the call did not route`);
      const after = await liveMemory();
      // Keep the router alive through the measurement.
      if (route(0) === "") throw new Error("unreachable");
      return { bytesPerEndpoint: (after.heapBytes - before.heapBytes) / endpoints };
    }),
};
