// A profiling target for `router.route()`: builds the per-call routing scenario's 50-route configuration
// (bench/scenarios/per-call-routing.ts) on an embedded control plane, gets rxds's Router for it and routes
// the scenario's 20-call mix in a loop. Not part of `npm run bench`; run it under the profiler:
//
//   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile/route-loop.js [ms]
//
// It prints ns per call for the whole mix and for each call of it, then closes everything and exits.
import { filter, firstValueFrom } from "rxjs";
import { XdsClient, XdsError } from "rxds";
import { ControlPlane } from "rxds/server";
import type { RouteRequest } from "../../src/resources/match/route-match.js";
import { clusterName, names, requestMix, routeConfiguration, routeSpec } from "../scenarios/per-call-routing.js";
import { assignmentResource, CDS, clusterResource, EDS, LDS, listenerResource, RDS } from "../support/xds-fixtures.js";

const routes = 50;
const clusters = 10;
const measureMs = Number(process.argv[2] ?? 3000);

const plane = new ControlPlane({ requestHistory: 1 });
const address = await plane.listen({ host: "127.0.0.1", port: 0 });
const xds = new XdsClient({ servers: [{ uri: address }], node: { id: "sidecar~127.0.0.1~profile.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc" } } });
try {
  const clusterNames = Array.from({ length: clusters }, (_, k) => clusterName(k));
  plane.set(LDS, { [names.listener]: listenerResource(names.listener, names.route) });
  plane.set(RDS, { [names.route]: routeConfiguration(Array.from({ length: routes }, (_, i) => routeSpec(i, routes, clusters))) });
  plane.set(CDS, Object.fromEntries(clusterNames.map((name) => [name, clusterResource(name)])));
  plane.set(EDS, Object.fromEntries(clusterNames.map((name) => [name, assignmentResource(name, 10)])));
  const router = await firstValueFrom(
    xds.router(names.listener).pipe(filter((r) => r.snapshot.clusters.size === clusters && [...r.snapshot.clusters.values()].every((c) => (c.endpoints?.endpointCount ?? 0) > 0))),
  );
  const mix = requestMix(routes);
  const requests: RouteRequest[] = mix.map((call) => ({ path: call.path, headers: { ...call.headers } }));
  for (const request of requests) {
    const decision = router.route(request);
    if (decision instanceof XdsError) throw new Error(`no route for ${request.path}`);
    decision.done(0);
  }

  let sink = 0;
  const time = (batch: readonly RouteRequest[], ms: number): number => {
    const start = performance.now();
    let calls = 0;
    let elapsed = 0;
    do {
      for (let k = 0; k < 1000; k++) {
        for (let i = 0; i < batch.length; i++) {
          const decision = router.route(batch[i]!);
          if (!(decision instanceof XdsError)) {
            sink += decision.routeIndex;
            decision.done(0);
          }
        }
      }
      calls += 1000 * batch.length;
      elapsed = performance.now() - start;
    } while (elapsed < ms);
    return (elapsed * 1e6) / calls;
  };
  time(requests, 300);
  console.log(`mix of ${requests.length}: ${time(requests, measureMs).toFixed(0)} ns per call`);
  mix.forEach((call, i) => {
    console.log(`  route ${String(call.route).padStart(2)}  ${time([requests[i]!], 100).toFixed(0).padStart(5)} ns  ${call.path} ${JSON.stringify(call.headers)}`);
  });
  if (sink === 0) throw new Error("nothing routed");
} finally {
  await xds.close();
  await plane.close();
}
