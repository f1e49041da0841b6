import { collectGarbage } from "../support/heap.js";
import { Arrival, withLoopback } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { assignmentResource, defaultPort, EDS } from "../support/xds-fixtures.js";

const serviceName = "outbound|8080||large.default.svc.cluster.local";

/** How many endpoints the large assignment has. */
export interface LargeEndpointUpdateColdParams {
  readonly endpoints: number;
}

/** The 10k endpoint update as a busy pod sees it (hot: just after another) and as a quiet one does (cold: after a full GC). */
export const largeEndpointUpdateCold: Scenario<LargeEndpointUpdateColdParams> = {
  id: "large-endpoint-update-cold",
  title: "Large endpoint update, hot and after a full GC",
  description:
    "A watched ClusterLoadAssignment goes from 1 endpoint to N, three times in one client: an untimed warm-up, then \"hot\" (right after the warm-up, " +
    "as a pod with frequent updates sees it) and \"cold\" (after a full GC, as a pod with occasional updates sees it: a major GC drops optimised code and feedback that the decoder built): time from `plane.set()` to the client delivering the new value.",
  metrics: [
    { key: "hotMs", label: "hot: write → value", unit: "ms" },
    { key: "coldMs", label: "after full GC: write → value", unit: "ms" },
  ],
  cases: () => [{ label: "10k endpoints", params: { endpoints: 10_000 } }],
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: (subject, { endpoints }) =>
    withLoopback(subject, async (plane, connect) => {
      const arrival = new Arrival();
      let count = 0;
      connect().watchEndpoints(serviceName, (endpointCount) => {
        count = endpointCount;
        arrival.notify();
      });
      const update = async (size: number, port: number): Promise<number> => {
        const resource = assignmentResource(serviceName, size, () => port);
        const start = performance.now();
        plane.set(EDS, { [serviceName]: resource });
        return (await arrival.until(() => count === size, `assignment of ${size} endpoints on port ${port}`)) - start;
      };
      await update(1, defaultPort);
      await update(endpoints, defaultPort + 1);
      await update(1, defaultPort);
      const hotMs = await update(endpoints, defaultPort + 2);
      await update(1, defaultPort);
      const resource = assignmentResource(serviceName, endpoints, () => defaultPort + 3);
      await collectGarbage();
      const start = performance.now();
      plane.set(EDS, { [serviceName]: resource });
      const coldMs = (await arrival.until(() => count === endpoints, "assignment after a full GC")) - start;
      return { hotMs, coldMs };
    }),
};
