import { Arrival, withLoopback } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { percentile } from "../support/stats.js";
import { assignmentResource, defaultPort, EDS } from "../support/xds-fixtures.js";

/** Parameters of the warm update scenario. */
export interface WarmUpdateParams {
  readonly endpoints: number;
  readonly updates: number;
}

const serviceName = "outbound|8080||warm.default.svc.cluster.local";

/** One endpoint of a watched assignment changes, again and again: write-to-emission latency percentiles. */
export const warmUpdate: Scenario<WarmUpdateParams> = {
  id: "warm-update",
  title: "Warm update",
  description:
    "A watched assignment of N endpoints is rewritten with one endpoint's port changed, one update at a time: time from `plane.set()` to the client delivering the new value, p50 and p99 over the updates.",
  metrics: [
    { key: "p50Ms", label: "write → value p50", unit: "ms" },
    { key: "p99Ms", label: "write → value p99", unit: "ms" },
  ],
  cases: (mode) => {
    const updates = mode === "quick" ? 50 : 300;
    return [{ label: `1k endpoints, ${updates} updates`, params: { endpoints: 1_000, updates } }];
  },
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: (subject, { endpoints, updates }) =>
    withLoopback(subject, async (plane, connect) => {
      const ports = new Array<number>(endpoints).fill(defaultPort);
      plane.set(EDS, { [serviceName]: assignmentResource(serviceName, endpoints, (i) => ports[i]!) });
      const arrival = new Arrival();
      let emissions = 0;
      connect().watchEndpoints(serviceName, () => {
        emissions++;
        arrival.notify();
      });
      await arrival.until(() => emissions === 1, "initial assignment");

      const latencies: number[] = [];
      for (let k = 1; k <= updates; k++) {
        ports[k % endpoints] = defaultPort + 1 + k;
        const next = assignmentResource(serviceName, endpoints, (i) => ports[i]!);
        const start = performance.now();
        plane.set(EDS, { [serviceName]: next });
        const end = await arrival.until(() => emissions === k + 1, `update ${k}`);
        latencies.push(end - start);
      }
      return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
    }),
};
