import type { Scenario } from "../support/scenario.js";
import { Arrival, withLoopback } from "../support/loopback.js";
import { assignmentResource, CDS, clusterResource, EDS, istioNames, LDS, listenerResource, RDS, routeConfigurationResource } from "../support/xds-fixtures.js";
import type { TargetSnapshot } from "../subjects/xds-subject.js";

/** Parameters of a cold start: the size of the one cluster's assignment. */
export interface ColdStartParams {
  readonly endpoints: number;
}

/** New client → first complete listener → route configuration → cluster → endpoints chain for one target. */
export const coldStart: Scenario<ColdStartParams> = {
  id: "cold-start",
  title: "Cold start",
  description:
    "From `new` client to the first complete LDS → RDS → CDS → EDS chain for one target, each resource watched once the one before it arrives, as a resolver does.",
  metrics: [{ key: "firstSnapshotMs", label: "first snapshot", unit: "ms" }],
  cases: () => [{ label: "LDS→RDS→CDS→EDS, 10 endpoints", params: { endpoints: 10 } }],
  runs: (mode) => (mode === "quick" ? 3 : 15),
  measure: (subject, { endpoints }) =>
    withLoopback(subject, async (plane, connect) => {
      const host = "echo.default.svc.cluster.local";
      const names = istioNames(host, 8080);
      plane.set(LDS, { [names.listener]: listenerResource(names.listener, names.route) });
      plane.set(RDS, { [names.route]: routeConfigurationResource(names.route, names.listener, [names.cluster]) });
      plane.set(CDS, { [names.cluster]: clusterResource(names.cluster) });
      plane.set(EDS, { [names.cluster]: assignmentResource(names.cluster, endpoints) });
      const arrival = new Arrival();
      let snapshot: TargetSnapshot | undefined;

      const start = performance.now();
      const client = connect();
      client.watchTarget(names.listener, (s) => {
        snapshot = s;
        arrival.notify();
      });
      const end = await arrival.until(() => snapshot?.endpoints === endpoints, "complete snapshot");
      return { firstSnapshotMs: end - start };
    }),
};
