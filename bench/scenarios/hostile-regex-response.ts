import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import type { RouteSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { Arrival, withLoopback } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { assignmentResource, CDS, clusterResource, EDS, istioNames, LDS, listenerResource, RDS } from "../support/xds-fixtures.js";

/** Parameters of the hostile regex response: how many routes carry an oversized regex. */
export interface HostileRegexResponseParams {
  readonly routes: number;
}

const host = "hostile.default.svc.cluster.local";
const names = istioNames(host, 8080);

/** The target's route configuration: `count` routes whose safe_regex path is `/<i>.{1000}.{1000}.{1000}`, or one catch-all. */
function routeConfiguration(count: number): Any {
  const to = { case: "route" as const, value: { clusterSpecifier: { case: "cluster" as const, value: names.cluster } } };
  const routes: MessageInitShape<typeof RouteSchema>[] =
    count === 0
      ? [{ match: { pathSpecifier: { case: "prefix", value: "" } }, action: to }]
      : Array.from({ length: count }, (_, i) => ({ match: { pathSpecifier: { case: "safeRegex" as const, value: { regex: `/${i}.{1000}.{1000}.{1000}` } } }, action: to }));
  return anyPack(RouteConfigurationSchema, create(RouteConfigurationSchema, { name: names.route, virtualHosts: [{ name: host, domains: [names.listener], routes }] }));
}

/** Time from a hostile RDS response to the client's answer to it. */
export const hostileRegexResponse: Scenario<HostileRegexResponseParams> = {
  id: "hostile-regex-response",
  title: "Hostile regex response",
  description:
    "A client holding a target's complete LDS → RDS → CDS → EDS chain gets a new route configuration of N routes whose safe_regex paths are `/<i>.{1000}.{1000}.{1000}` " +
    "(3,004 instructions each as re2js counts them; Envoy rejects programs over 100 by default): time from `plane.set()` to the client's next RDS request, its answer to that response. " +
    "The client does nothing else meanwhile, so this is how long the response holds its event loop. " +
    "rxds NACKs it: each regex's program size is counted from the pattern, before compiling, and is over maxRegexProgramSize.",
  metrics: [{ key: "answerMs", label: "set → answer", unit: "ms" }],
  cases: (mode) => [
    {
      label: mode === "quick" ? "200 routes" : "2,000 routes",
      params: { routes: mode === "quick" ? 200 : 2000 },
      skip: {
        "grpc-js-xds":
          "Its RDS validation does not compile regexes: it ACKs the route configuration, and its xds resolver compiles them later (RE2 in WebAssembly), when it builds the ConfigSelector, so its answer time does not include that work.",
      },
    },
  ],
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: (subject, { routes }) =>
    withLoopback(subject, async (plane, connect) => {
      plane.set(LDS, { [names.listener]: listenerResource(names.listener, names.route) });
      plane.set(RDS, { [names.route]: routeConfiguration(0) });
      plane.set(CDS, { [names.cluster]: clusterResource(names.cluster) });
      plane.set(EDS, { [names.cluster]: assignmentResource(names.cluster, 1) });
      const snapshots = new Arrival();
      let complete = false;
      connect().watchTarget(names.listener, (s) => {
        complete = s.endpoints === 1;
        snapshots.notify();
      });
      await snapshots.until(() => complete, "complete snapshot");

      const hostile = routeConfiguration(routes);
      const answers = new Arrival();
      let answered = false;
      let armed = false;
      const subscription = plane.requests$.subscribe(({ request }) => {
        if (armed && request.typeUrl === RDS) {
          answered = true;
          answers.notify();
        }
      });
      try {
        armed = true;
        const start = performance.now();
        plane.set(RDS, { [names.route]: hostile });
        const end = await answers.until(() => answered, "answer to the hostile route configuration");
        return { answerMs: end - start };
      } finally {
        subscription.unsubscribe();
      }
    }),
};
