import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { withLoopback } from "../support/loopback.js";
import { nsPerRoutedCall } from "../support/stats.js";
import type { BenchMode, Scenario } from "../support/scenario.js";
import { assignmentResource, CDS, EDS, istioNames, LDS, listenerResource, RDS } from "../support/xds-fixtures.js";
import type { CallSpec } from "../subjects/xds-subject.js";

/** Parameters of the policy-picks scenario. */
export interface PolicyPicksParams {
  /** The cluster's policy and outlier detection, as CDS fields. */
  readonly cluster: MessageInitShape<typeof ClusterSchema>;
  /** Whether the route hashes header x-user (for ring hash and Maglev). */
  readonly hashed: boolean;
  readonly endpoints: number;
  readonly warmUpMs: number;
  readonly measureMs: number;
}

const names = istioNames("picks.default.svc.cluster.local", 8080);
const peerSkip = {
  "grpc-js-xds":
    "Its endpoint pick runs in the channel's LB policy tree over connected subchannels (and grpc-js-xds has no least_request, random or Maglev); no pick of it can be timed outside a channel. Its routing decision alone is in the per-call routing row.",
};
const outlierDetection = {
  interval: { seconds: 10n, nanos: 0 },
  enforcingFailurePercentage: 100,
  failurePercentageMinimumHosts: 5,
} as const;

/**
 * The cost of `route()` with each policy's pick at 100 endpoints: one route to one cluster, `done(0)` after each call
 * (as the integrations report every call), over a mix of 20 x-user values.
 */
export const policyPicks: Scenario<PolicyPicksParams> = {
  id: "policy-picks",
  title: "Pick per policy",
  description:
    "A target with one route to one cluster of 100 endpoints, served as LDS → RDS → CDS → EDS; the cluster's policy per row (ring hash and Maglev with a `x-user` header hash policy); 20 calls with distinct x-user values routed in a loop for a warm-up, then timed: wall time ÷ calls, each call `router.route(request)` (route match, request hash where the policy hashes, circuit breaker check, priority and endpoint pick, the decision) then `decision.done(0)` (in-flight counts released, the outcome counted for outlier detection when it is on). The goal is at most 1 µs.",
  metrics: [{ key: "nsPerCall", label: "route() + done() per call", unit: "ns" }],
  cases: (mode: BenchMode) => {
    const timing = mode === "quick" ? { warmUpMs: 50, measureMs: 100 } : { warmUpMs: 200, measureMs: 400 };
    const row = (label: string, cluster: PolicyPicksParams["cluster"], hashed = false) => ({
      label,
      params: { cluster, hashed, endpoints: 100, ...timing },
      skip: peerSkip,
    });
    return [
      row("round_robin, 100 endpoints", { lbPolicy: Cluster_LbPolicy.ROUND_ROBIN }),
      row("round_robin + outlier detection, 100 endpoints", { lbPolicy: Cluster_LbPolicy.ROUND_ROBIN, outlierDetection }),
      row("least_request, 100 endpoints", { lbPolicy: Cluster_LbPolicy.LEAST_REQUEST }),
      row("random, 100 endpoints", { lbPolicy: Cluster_LbPolicy.RANDOM }),
      row("ring_hash (header hash), 100 endpoints", { lbPolicy: Cluster_LbPolicy.RING_HASH }, true),
      row("maglev (header hash), 100 endpoints", { lbPolicy: Cluster_LbPolicy.MAGLEV }, true),
    ];
  },
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: (subject, { cluster, hashed, endpoints, warmUpMs, measureMs }) =>
    withLoopback(subject, async (plane, connect) => {
      const hashPolicy = hashed ? [{ policySpecifier: { case: "header" as const, value: { headerName: "x-user" } } }] : [];
      const route = { match: { pathSpecifier: { case: "prefix" as const, value: "" } }, action: { case: "route" as const, value: { clusterSpecifier: { case: "cluster" as const, value: names.cluster }, hashPolicy } } };
      plane.set(LDS, { [names.listener]: listenerResource(names.listener, names.route) });
      plane.set(RDS, { [names.route]: anyPack(RouteConfigurationSchema, create(RouteConfigurationSchema, { name: names.route, virtualHosts: [{ name: "picks", domains: [names.listener], routes: [route] }] })) });
      const base = { name: names.cluster, clusterDiscoveryType: { case: "type" as const, value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { edsConfig: { configSourceSpecifier: { case: "ads" as const, value: {} } } } };
      plane.set(CDS, { [names.cluster]: anyPack(ClusterSchema, create(ClusterSchema, { ...base, ...cluster } as MessageInitShape<typeof ClusterSchema>)) });
      plane.set(EDS, { [names.cluster]: assignmentResource(names.cluster, endpoints) });

      const router = await connect().callRouter(names.listener, 1);
      const calls: CallSpec[] = Array.from({ length: 20 }, (_, i) => ({ path: "/picks.Service/Call", headers: { "x-user": `user-${i}` } }));
      const routeCall = router.prepare(calls);
      if (routeCall(0) !== names.cluster) throw new Error(`${subject.name}: the call did not route to ${names.cluster}`);
      return { nsPerCall: nsPerRoutedCall(routeCall, calls.length, warmUpMs, measureMs) };
    }),
};
