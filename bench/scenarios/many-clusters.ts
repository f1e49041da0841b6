import { Arrival, withLoopback } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { assignmentResource, CDS, clusterResource, EDS } from "../support/xds-fixtures.js";

/** Parameters of the many-clusters scenario. */
export interface ManyClustersParams {
  readonly clusters: number;
  readonly endpointsPerCluster: number;
}

/** A new client watches many clusters at once, each then its EDS assignment: time until every assignment is present. */
export const manyClusters: Scenario<ManyClustersParams> = {
  id: "many-clusters",
  title: "Many clusters",
  description:
    "From `new` client to every one of N clusters watched at once having its EDS assignment (each watched once its cluster arrives) present.",
  metrics: [{ key: "allPresentMs", label: "all present", unit: "ms" }],
  cases: (mode) => [
    { label: "100 clusters × 10 endpoints", params: { clusters: 100, endpointsPerCluster: 10 } },
    ...(mode === "quick"
      ? []
      : [
          {
            label: "1000 clusters × 10 endpoints",
            params: { clusters: 1_000, endpointsPerCluster: 10 },
            skip: {
              "grpc-js-xds":
                "Watching 1,000 clusters at once did not complete within the bench's 60 s wait limit (trial run): each new watch sends a DiscoveryRequest naming every cluster subscribed so far, and each answer (all subscribed clusters, as SotW CDS requires) is decoded, deep-compared and JSON-stringified again, so the work grows with the square of the cluster count (100 clusters: about 1 s).",
            },
          },
        ]),
  ],
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: (subject, { clusters, endpointsPerCluster }) =>
    withLoopback(subject, async (plane, connect) => {
      const names = Array.from({ length: clusters }, (_, i) => `outbound|8080||svc-${i}.default.svc.cluster.local`);
      plane.set(CDS, Object.fromEntries(names.map((name) => [name, clusterResource(name)])));
      plane.set(EDS, Object.fromEntries(names.map((name) => [name, assignmentResource(name, endpointsPerCluster)])));
      const arrival = new Arrival();
      const seen = new Uint8Array(clusters);
      let present = 0;

      const start = performance.now();
      const client = connect();
      names.forEach((name, i) =>
        client.watchCluster(name, (endpointCount) => {
          if (endpointCount === endpointsPerCluster && seen[i] === 0) {
            seen[i] = 1;
            present++;
          }
          arrival.notify();
        }),
      );
      const end = await arrival.until(() => present === clusters, `assignments of all ${clusters} clusters`);
      return { allPresentMs: end - start };
    }),
};
