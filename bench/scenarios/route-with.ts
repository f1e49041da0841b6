import { filter, firstValueFrom, Observable, type Subscriber } from "rxjs";
import { XdsClient, XdsError } from "rxds";
import { routeWith, type RouteResult } from "rxds/operators";
import type { RouteRequest } from "../../src/resources/match/route-match.js";
import { withLoopback } from "../support/loopback.js";
import type { BenchMode, Scenario } from "../support/scenario.js";
import { assignmentResource, CDS, clusterResource, EDS, LDS, listenerResource, RDS } from "../support/xds-fixtures.js";
import { clusterName, names, requestMix, routeConfiguration, routeSpec } from "./per-call-routing.js";

/** Parameters of the routeWith scenario. */
export interface RouteWithParams {
  /** How long each way is run before timing, and how long each is timed. */
  readonly warmUpMs: number;
  readonly measureMs: number;
}

const routes = 50;
const clusters = 10;

/** The per-item cost of `routeWith(router$)` over a stream, against calling `router.route()` in a loop. */
export const routeWithScenario: Scenario<RouteWithParams> = {
  id: "route-with",
  title: "routeWith per item",
  description:
    "The per-call routing scenario's 50-route virtual host over 10 clusters of 10 endpoints and its fixed 20-call mix, routed two ways with the same Router of `xds.router(target)`: " +
    "`router.route(request)` in a loop, and `requests.pipe(routeWith(xds.router(target)))`, each request pushed by the source's producer (`subscriber.next(request)`, as an adapter of a queue or a Kafka consumer is written), every result consumed by the same function. " +
    "The two ways run in alternating slices after a warm-up; the figures are wall time ÷ items for each, and their ratio (goal ≤ 1.1).",
  metrics: [
    { key: "routeNs", label: "route() per call", unit: "ns" },
    { key: "routeWithNs", label: "routeWith per item", unit: "ns" },
    { key: "ratio", label: "routeWith ÷ route()", unit: "×" },
  ],
  cases: (mode: BenchMode) => [
    {
      label: "50 routes, 10 clusters × 10 endpoints, 20-call mix",
      params: { warmUpMs: mode === "quick" ? 50 : 200, measureMs: mode === "quick" ? 100 : 500 },
      skip: { "grpc-js-xds": "It has no stream operators: its routing runs inside a channel's ConfigSelector (see Per-call routing)." },
    },
  ],
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: (subject, { warmUpMs, measureMs }) =>
    withLoopback(subject, async (plane) => {
      const clusterNames = Array.from({ length: clusters }, (_, k) => clusterName(k));
      plane.set(LDS, { [names.listener]: listenerResource(names.listener, names.route) });
      plane.set(RDS, { [names.route]: routeConfiguration(Array.from({ length: routes }, (_, i) => routeSpec(i, routes, clusters))) });
      plane.set(CDS, Object.fromEntries(clusterNames.map((name) => [name, clusterResource(name)])));
      plane.set(EDS, Object.fromEntries(clusterNames.map((name) => [name, assignmentResource(name, 10)])));
      const xds = new XdsClient({
        servers: [{ uri: plane.address! }],
        node: { id: "sidecar~127.0.0.1~bench.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
      });
      try {
        const router$ = xds.router(names.listener);
        // Held for the whole run, so that both ways use Routers of one stream.
        const held = router$.subscribe();
        const router = await firstValueFrom(
          router$.pipe(filter((r) => [...r.snapshot.clusters.values()].every((c) => (c.endpoints?.endpointCount ?? 0) > 0) && r.snapshot.clusters.size === clusters)),
        );
        const requests: RouteRequest[] = requestMix(routes).map((call) => ({ path: call.path, headers: { ...call.headers } }));
        let sink = 0;
        // Each result consumed as a job that ends at once would: its decision done, so no circuit breaker fills up.
        const consume = (result: RouteResult): void => {
          if (result instanceof XdsError) throw new Error(`bench: a call of the mix failed: ${result.message}`);
          sink += result.routeIndex;
          result.done(0);
        };
        const batch = requests.length * 50;
        const direct = (): void => {
          for (let k = 0; k < batch; k++) consume(router.route(requests[k % requests.length]!));
        };
        // The source as an adapter of a queue or a consumer is written: its producer calls the subscriber's next().
        let producer: Subscriber<RouteRequest> | undefined;
        const items = new Observable<RouteRequest>((subscriber) => {
          producer = subscriber;
        });
        const piped = items.pipe(routeWith(router$)).subscribe(consume);
        const push = producer!;
        const streamed = (): void => {
          for (let k = 0; k < batch; k++) push.next(requests[k % requests.length]!);
        };
        // Alternating slices of each way, so that neither runs on a warmer or colder process.
        const timed = { direct: { ms: 0, calls: 0 }, streamed: { ms: 0, calls: 0 } };
        const slice = (ms: number, record: boolean): void => {
          const end = performance.now() + ms;
          while (performance.now() < end) {
            for (const [way, run] of [["direct", direct], ["streamed", streamed]] as const) {
              const start = performance.now();
              run();
              if (record) {
                timed[way].ms += performance.now() - start;
                timed[way].calls += batch;
              }
            }
          }
        };
        slice(warmUpMs, false);
        slice(measureMs * 2, true);
        piped.unsubscribe();
        held.unsubscribe();
        if (sink === 0) throw new Error("bench: no call was routed");
        const routeNs = (timed.direct.ms * 1e6) / timed.direct.calls;
        const routeWithNs = (timed.streamed.ms * 1e6) / timed.streamed.calls;
        return { routeNs, routeWithNs, ratio: routeWithNs / routeNs };
      } finally {
        await xds.close();
      }
    }),
};
