import { liveMemory } from "../support/heap.js";
import { Arrival, withLoopback } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import type { SubjectName } from "../subjects/xds-subject.js";
import { assignmentResource, defaultPort, EDS } from "../support/xds-fixtures.js";

/** Parameters of a large update: how many endpoints, and whether to measure the heap they retain. */
export interface LargeEndpointUpdateParams {
  readonly endpoints: number;
  readonly measureHeap: boolean;
  /** Subjects whose heap is not measured in this case (too slow for the second update to fit the time budget). */
  readonly noHeapFor?: readonly SubjectName[];
}

const serviceName = "outbound|8080||large.default.svc.cluster.local";

/** One ClusterLoadAssignment grows from 1 endpoint to many: write-to-emission time, and heap retained per endpoint. */
export const largeEndpointUpdate: Scenario<LargeEndpointUpdateParams> = {
  id: "large-endpoint-update",
  title: "Large endpoint update",
  description:
    "A watched ClusterLoadAssignment of 1 endpoint is replaced by one of N: time from `plane.set()` to the client delivering the new value; at the largest N, on a second, untimed 1 → N update, live JS heap (`heapUsed`) after GC with the value held minus before that write, per endpoint, and the same for buffers outside the heap (`arrayBuffers`: e.g. response bytes a decoded value still points into). " +
    "grpc-js-xds at 100k: one run, update time only (no heap figures): its EDS validation checks each address against every earlier one (O(n²)), so one 1 → 100k update takes it tens of seconds on 2 cores; more runs, or the second update the heap figures need, would not fit the 5-minute budget.",
  metrics: [
    { key: "updateMs", label: "write → value", unit: "ms" },
    { key: "retainedBytesPerEndpoint", label: "heap retained", unit: "B/endpoint" },
    { key: "retainedBufferBytesPerEndpoint", label: "buffers retained", unit: "B/endpoint" },
  ],
  cases: (mode) =>
    (mode === "quick" ? [1_000, 10_000] : [1_000, 10_000, 100_000]).map((endpoints, i, all) => ({
      label: `${endpoints / 1000}k endpoints`,
      params: { endpoints, measureHeap: i === all.length - 1, ...(endpoints >= 100_000 ? { noHeapFor: ["grpc-js-xds"] as const } : {}) },
      ...(endpoints >= 100_000 ? { maxRuns: { "grpc-js-xds": 1 } } : {}),
    })),
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: (subject, { endpoints, measureHeap, noHeapFor }) =>
    withLoopback(subject, async (plane, connect) => {
      plane.set(EDS, { [serviceName]: assignmentResource(serviceName, 1) });
      const arrival = new Arrival();
      let count = 0;
      let held: unknown;
      connect().watchEndpoints(serviceName, (endpointCount, value) => {
        count = endpointCount;
        held = value;
        arrival.notify();
      });
      await arrival.until(() => count === 1, "initial assignment");

      const large = assignmentResource(serviceName, endpoints);
      const start = performance.now();
      plane.set(EDS, { [serviceName]: large });
      const end = await arrival.until(() => count === endpoints, `assignment of ${endpoints} endpoints`);
      if (!measureHeap || noHeapFor?.includes(subject.name)) return { updateMs: end - start };

      // The heap is measured on a second, untimed update: a forced full GC just before a write was seen to
      // make the update after it several times slower (1k endpoints: ~30 ms instead of ~7), so it stays out of the timing.
      plane.set(EDS, { [serviceName]: assignmentResource(serviceName, 1) });
      await arrival.until(() => count === 1, "assignment of 1 endpoint");
      const again = assignmentResource(serviceName, endpoints, () => defaultPort + 1);
      const before = await liveMemory();
      plane.set(EDS, { [serviceName]: again });
      await arrival.until(() => count === endpoints, `second assignment of ${endpoints} endpoints`);
      const after = await liveMemory();
      if (held === undefined) throw new Error("bench: the assignment was not held");
      return {
        updateMs: end - start,
        retainedBytesPerEndpoint: (after.heapBytes - before.heapBytes) / endpoints,
        retainedBufferBytesPerEndpoint: (after.bufferBytes - before.bufferBytes) / endpoints,
      };
    }),
};
