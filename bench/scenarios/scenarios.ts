import type { Scenario } from "../support/scenario.js";
import { balancingHeap } from "./balancing-heap.js";
import { coldStart } from "./cold-start.js";
import { endpointChangesScenario } from "./endpoint-changes.js";
import { firstRpc } from "./first-rpc.js";
import { hostileRegexResponse } from "./hostile-regex-response.js";
import { importCost } from "./import-cost.js";
import { largeEndpointUpdate } from "./large-endpoint-update.js";
import { largeEndpointUpdateCold } from "./large-endpoint-update-cold.js";
import { manyClusters } from "./many-clusters.js";
import { perCallRouting } from "./per-call-routing.js";
import { routeWithScenario } from "./route-with.js";
import { policyPicks } from "./policy-picks.js";
import { retryOverhead } from "./retry-overhead.js";
import { ringBuild } from "./ring-build.js";
import { rpcOverhead } from "./rpc-overhead.js";
import { serveEnvoyFilter } from "./serve-envoy-filter.js";
import { serveLoad } from "./serve-load.js";
import { serveManyClients } from "./serve-many-clients.js";
import { serveReload } from "./serve-reload.js";
import { soak } from "./soak.js";
import { thriftOverhead } from "./thrift-overhead.js";
import { warmUpdate } from "./warm-update.js";
import { worstCaseRoute } from "./worst-case-route.js";

/** Every scenario, in the order they run and appear in the table. */
export const scenarios: readonly Scenario<unknown>[] = [
  importCost,
  firstRpc,
  coldStart,
  largeEndpointUpdate,
  largeEndpointUpdateCold,
  manyClusters,
  warmUpdate,
  perCallRouting,
  policyPicks,
  ringBuild,
  worstCaseRoute,
  routeWithScenario,
  hostileRegexResponse,
  rpcOverhead,
  retryOverhead,
  thriftOverhead,
  soak,
  endpointChangesScenario,
  serveLoad,
  serveReload,
  serveEnvoyFilter,
  serveManyClients,
  balancingHeap,
];
