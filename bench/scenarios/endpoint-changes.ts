import { filter, firstValueFrom, Subject } from "rxjs";
import { XdsClient, type ResourceUpdate } from "rxds";
import { endpointChanges, type EndpointChanges, type EndpointSource } from "rxds/operators";
import type { EndpointsModel } from "../../src/resources/endpoints.js";
import { median } from "../support/stats.js";
import { withLoopback } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { assignmentResource, EDS } from "../support/xds-fixtures.js";

/** Parameters of the endpointChanges scenario. */
export interface EndpointChangesParams {
  readonly endpoints: number;
  /** How many one-change diffs are timed. */
  readonly diffs: number;
}

const serviceName = "outbound|8080||diff.default.svc.cluster.local";

/** The cost of endpointChanges() on a large endpoint update with one change. */
export const endpointChangesScenario: Scenario<EndpointChangesParams> = {
  id: "endpoint-changes",
  title: "endpointChanges() diff",
  description:
    "Two EDS updates of N endpoints that differ in one endpoint's weight, received over the wire by `xds.endpoints(name)`, are pushed alternately through `endpointChanges()`: " +
    "the time of the first diff (every endpoint added), and the median time of a diff with one change (goal < 5 ms at 10k endpoints), from `next()` to the emitted diff.",
  metrics: [
    { key: "firstMs", label: "first diff (all added)", unit: "ms" },
    { key: "oneChangeMs", label: "diff with one change", unit: "ms" },
  ],
  cases: (mode) => [
    {
      label: mode === "quick" ? "1k endpoints" : "10k endpoints",
      params: { endpoints: mode === "quick" ? 1_000 : 10_000, diffs: mode === "quick" ? 20 : 200 },
      skip: { "grpc-js-xds": "It has no endpoint diff: its EDS watchers hand over the whole assignment." },
    },
  ],
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: (subject, { endpoints, diffs }) =>
    withLoopback(subject, async (plane) => {
      const xds = new XdsClient({
        servers: [{ uri: plane.address! }],
        node: { id: "sidecar~127.0.0.1~bench.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
      });
      try {
        // Two versions over the wire: endpoint 0's weight is 1 in one and 2 in the other.
        const receive = async (weight: number): Promise<ResourceUpdate<EndpointsModel>> => {
          plane.set(EDS, { [serviceName]: assignmentResource(serviceName, endpoints, undefined, (i) => (i === 0 ? weight : 1)) });
          return firstValueFrom(xds.endpoints(serviceName).pipe(filter((u) => u.resource?.priorities[0]?.[0]?.endpoints[0]?.weight === weight)));
        };
        const held = xds.endpoints(serviceName).subscribe();
        const one = await receive(1);
        const two = await receive(2);
        held.unsubscribe();

        const updates = new Subject<EndpointSource>();
        let last: EndpointChanges | undefined;
        const subscription = updates.pipe(endpointChanges()).subscribe((changes) => (last = changes));
        const time = (update: EndpointSource): number => {
          const start = performance.now();
          updates.next(update);
          return performance.now() - start;
        };
        const firstMs = time(one);
        if (last?.added.length !== endpoints) throw new Error(`bench: the first diff added ${last?.added.length}, not ${endpoints}`);
        const times: number[] = [];
        for (let k = 0; k < diffs; k++) {
          times.push(time(k % 2 === 0 ? two : one));
          if (last.changed.length !== 1 || last.added.length + last.removed.length !== 0) throw new Error("bench: a diff did not hold exactly one change");
        }
        subscription.unsubscribe();
        return { firstMs, oneChangeMs: median(times) };
      } finally {
        await xds.close();
      }
    }),
};
