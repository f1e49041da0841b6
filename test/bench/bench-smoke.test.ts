// Keeps the bench harness from rotting: runs every scenario in-process at tiny sizes, once, and checks that
// it reports finite figures and leaves nothing open. Benchmarks are not tests: no timing is asserted here.
import { expect } from "chai";
import { existsSync } from "node:fs";
import { coldStart } from "../../bench/scenarios/cold-start.js";
import { endpointChangesScenario } from "../../bench/scenarios/endpoint-changes.js";
import { hostileRegexResponse } from "../../bench/scenarios/hostile-regex-response.js";
import { importCost } from "../../bench/scenarios/import-cost.js";
import { largeEndpointUpdate } from "../../bench/scenarios/large-endpoint-update.js";
import { largeEndpointUpdateCold } from "../../bench/scenarios/large-endpoint-update-cold.js";
import { manyClusters } from "../../bench/scenarios/many-clusters.js";
import { balancingHeap } from "../../bench/scenarios/balancing-heap.js";
import { perCallRouting } from "../../bench/scenarios/per-call-routing.js";
import { routeWithScenario } from "../../bench/scenarios/route-with.js";
import { policyPicks } from "../../bench/scenarios/policy-picks.js";
import { ringBuild } from "../../bench/scenarios/ring-build.js";
import { retryOverhead } from "../../bench/scenarios/retry-overhead.js";
import { rpcOverhead } from "../../bench/scenarios/rpc-overhead.js";
import { scenarios } from "../../bench/scenarios/scenarios.js";
import { thriftOverhead } from "../../bench/scenarios/thrift-overhead.js";
import { serveLoad } from "../../bench/scenarios/serve-load.js";
import { serveManyClients } from "../../bench/scenarios/serve-many-clients.js";
import { serveReload } from "../../bench/scenarios/serve-reload.js";
import { serveEnvoyFilter } from "../../bench/scenarios/serve-envoy-filter.js";
import { warmUpdate } from "../../bench/scenarios/warm-update.js";
import { worstCaseRoute } from "../../bench/scenarios/worst-case-route.js";
import { grpcJsXdsSubject } from "../../bench/subjects/grpc-js-xds-subject.js";
import { rxdsSubject } from "../../bench/subjects/rxds-subject.js";
import { subjects } from "../../bench/subjects/subjects.js";
import type { XdsSubject } from "../../bench/subjects/xds-subject.js";
import { updateTimeSvg } from "../../bench/support/chart.js";
import { benchmarksMarkdown, tableRows } from "../../bench/support/report.js";
import { machine, medians, resultsJson } from "../../bench/support/results.js";
import type { Metrics, Scenario } from "../../bench/support/scenario.js";

/** Counts of the process's active handles and requests, by kind. */
function census(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** What is still open beyond `baseline`, waiting up to 1 s for closed sockets to be released on a later turn. */
async function leftOpen(baseline: Map<string, number>): Promise<string[]> {
  let extra: string[] = [];
  for (let waited = 0; waited <= 1000; waited += 50) {
    extra = [...census()].filter(([kind, n]) => n > (baseline.get(kind) ?? 0)).map(([kind, n]) => `${kind} ×${n - (baseline.get(kind) ?? 0)}`);
    if (extra.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return extra;
}

/** Runs one scenario once for a subject (default rxds) and checks its figures and its cleanup. */
async function smoke<P>(scenario: Scenario<P>, params: P, expected: readonly string[], subject: XdsSubject = rxdsSubject): Promise<Metrics> {
  // Mocha arms the test's own timeout only once the test function returns its promise: count after that.
  await new Promise((resolve) => setImmediate(resolve));
  const baseline = census();
  const metrics = await scenario.measure(subject, params);
  expect(Object.keys(metrics)).to.have.members([...expected]);
  for (const [key, value] of Object.entries(metrics)) expect(Number.isFinite(value), `${scenario.id}: ${key} = ${value}`).to.equal(true);
  expect(await leftOpen(baseline), `${scenario.id} left handles open`).to.deep.equal([]);
  return metrics;
}

describe("bench smoke (tiny sizes, one run, no timing assertions)", function () {
  this.timeout(10_000);

  it("import cost: times the import of rxds in a child process", async () => {
    await smoke(importCost, {}, ["importMs", "heapMB"]);
  });

  it("cold start: reaches a complete LDS → RDS → CDS → EDS snapshot", async () => {
    await smoke(coldStart, { endpoints: 3 }, ["firstSnapshotMs"]);
  });

  it("large endpoint update: times the update and measures retained heap", async () => {
    await smoke(largeEndpointUpdate, { endpoints: 10, measureHeap: true }, ["updateMs", "retainedBytesPerEndpoint", "retainedBufferBytesPerEndpoint"]);
    await smoke(largeEndpointUpdate, { endpoints: 10, measureHeap: false }, ["updateMs"]);
  });

  it("large endpoint update, hot and after a full GC: times both updates", async () => {
    await smoke(largeEndpointUpdateCold, { endpoints: 10 }, ["hotMs", "coldMs"]);
  });

  it("many clusters: waits for every cluster's endpoints", async () => {
    await smoke(manyClusters, { clusters: 5, endpointsPerCluster: 10 }, ["allPresentMs"]);
  });

  it("warm update: reports p50 and p99", async () => {
    await smoke(warmUpdate, { endpoints: 10, updates: 5 }, ["p50Ms", "p99Ms"]);
  });

  it("per-call routing: routes the mix (checked against the routes) and reports ns per call", async () => {
    await smoke(perCallRouting, { routes: 50, clusters: 3, endpointsPerCluster: 2, warmUpMs: 5, measureMs: 5 }, ["nsPerCall"]);
  });

  it("worst-case route(): routes every long call to the route it must reach and reports the slowest", async () => {
    await smoke(worstCaseRoute, { valueLength: 200, warmUpMs: 2, measureMs: 2 }, ["slowestCallUs"]);
  });

  it("routeWith per item: routes the mix both ways and reports both costs and their ratio", async () => {
    await smoke(routeWithScenario, { warmUpMs: 2, measureMs: 2 }, ["routeNs", "routeWithNs", "ratio"]);
  });

  it("endpointChanges() diff: checks each diff holds one change and reports the first and one-change times", async () => {
    await smoke(endpointChangesScenario, { endpoints: 50, diffs: 4 }, ["firstMs", "oneChangeMs"]);
  });

  it("policy picks: routes with each policy's pick and reports ns per call", async () => {
    for (const { params } of policyPicks.cases("quick")) await smoke(policyPicks, { ...params, endpoints: 5, warmUpMs: 2, measureMs: 2 }, ["nsPerCall"]);
  });

  it("ring build: times a ring's build and its rebuild after a push", async () => {
    for (const { params } of ringBuild.cases("quick")) await smoke(ringBuild, { ...params, endpoints: 50 }, ["buildMs", "rebuildMs"]);
  });

  it("balancing heap: weighs a routed target's endpoints, with outlier detection on and off", async () => {
    for (const { params } of balancingHeap.cases("quick")) await smoke(balancingHeap, { ...params, endpoints: 20 }, ["bytesPerEndpoint"]);
  });

  it("hostile regex response: times the answer to a route configuration of oversized regexes", async () => {
    await smoke(hostileRegexResponse, { routes: 20 }, ["answerMs"]);
  });

  it("rxds serve: load, reload, an EnvoyFilter edit and many clients report their figures", async () => {
    await smoke(serveLoad, { services: 5 }, ["loadMs", "firstClientMs", "heapMB"]);
    await smoke(serveReload, { services: 5, edits: 2 }, ["p50Ms"]);
    await smoke(serveEnvoyFilter, { services: 5, edits: 2 }, ["p50Ms"]);
    await smoke(serveManyClients, { clients: 3, edits: 2 }, ["p50Ms", "p99Ms", "heapKBPerClient"]);
  });

  describe("grpc-js-xds subject", function () {
    this.timeout(20_000);

    it("is one of the subjects, after rxds", () => {
      expect(subjects.map((s) => s.name)).to.deep.equal(["rxds", "grpc-js-xds"]);
    });

    it("import cost", async () => {
      await smoke(importCost, {}, ["importMs", "heapMB"], grpcJsXdsSubject);
    });

    it("cold start through its XdsDependencyManager", async () => {
      await smoke(coldStart, { endpoints: 3 }, ["firstSnapshotMs"], grpcJsXdsSubject);
    });

    it("large endpoint update, with and without heap", async () => {
      await smoke(largeEndpointUpdate, { endpoints: 10, measureHeap: true }, ["updateMs", "retainedBytesPerEndpoint", "retainedBufferBytesPerEndpoint"], grpcJsXdsSubject);
      await smoke(largeEndpointUpdate, { endpoints: 10, measureHeap: true, noHeapFor: ["grpc-js-xds"] }, ["updateMs"], grpcJsXdsSubject);
    });

    it("large endpoint update, hot and after a full GC", async () => {
      await smoke(largeEndpointUpdateCold, { endpoints: 10 }, ["hotMs", "coldMs"], grpcJsXdsSubject);
    });

    it("many clusters through its cluster and endpoint watchers", async () => {
      await smoke(manyClusters, { clusters: 5, endpointsPerCluster: 10 }, ["allPresentMs"], grpcJsXdsSubject);
    });

    it("warm update", async () => {
      await smoke(warmUpdate, { endpoints: 10, updates: 5 }, ["p50Ms", "p99Ms"], grpcJsXdsSubject);
    });

    it("per-call routing through its resolver's ConfigSelector", async () => {
      await smoke(perCallRouting, { routes: 50, clusters: 3, endpointsPerCluster: 2, warmUpMs: 5, measureMs: 5 }, ["nsPerCall"], grpcJsXdsSubject);
    });

    it("worst-case route() through its resolver's ConfigSelector", async () => {
      await smoke(worstCaseRoute, { valueLength: 200, warmUpMs: 2, measureMs: 2 }, ["slowestCallUs"], grpcJsXdsSubject);
    });

    it("rpc overhead through an xds:/// channel", async () => {
      await smoke(rpcOverhead, { concurrency: 2, warmUpMs: 20, durationMs: 40 }, ["callsPerSecond", "directCallsPerSecond", "ratioToDirect"], grpcJsXdsSubject);
    });

    it("retry overhead through xds:/// channels", async () => {
      const params = { ...retryOverhead.cases("quick")[0]!.params, concurrency: 2, warmUpMs: 20, durationMs: 40 };
      await smoke(retryOverhead, params, ["callsPerSecond", "plainCallsPerSecond", "ratio", "cpuRatio"], grpcJsXdsSubject);
    });
  });

  it("rpc overhead: calls a local backend directly and through rxds/grpc", async () => {
    await smoke(rpcOverhead, { concurrency: 2, warmUpMs: 20, durationMs: 40 }, ["callsPerSecond", "directCallsPerSecond", "ratioToDirect"]);
  });

  it("retry overhead: calls one backend through routes with and without a retry policy, through rxds/grpc", async () => {
    for (const { params } of retryOverhead.cases("quick")) {
      await smoke(retryOverhead, { ...params, concurrency: 2, warmUpMs: 20, durationMs: 40 }, ["callsPerSecond", "plainCallsPerSecond", "ratio", "cpuRatio"]);
    }
  });

  for (const { label, params } of thriftOverhead.cases("quick")) {
    it(`thrift overhead (${label}): calls a local Thrift backend directly and through rxds/thrift`, async () => {
      await smoke(thriftOverhead, { ...params, concurrency: 2, warmUpMs: 20, durationMs: 40 }, ["callsPerSecond", "directCallsPerSecond", "ratioToDirect"]);
    });
  }

  it("the table shows n/a and pending, and the chart draws both libraries", () => {
    const run = (updateMs: number) => ({ runs: [{ updateMs }], median: { updateMs } });
    const results = {
      ...machine(),
      mode: "quick" as const,
      durationSeconds: 1,
      subjects: ["rxds", "grpc-js-xds"] as const,
      scenarios: [
        {
          id: "large-endpoint-update",
          title: "Large endpoint update",
          description: "",
          metrics: largeEndpointUpdate.metrics,
          cases: [
            { label: "1k", params: { endpoints: 1000 }, results: { rxds: run(2), "grpc-js-xds": run(8) } },
            { label: "100k", params: { endpoints: 100000 }, results: { rxds: run(100), "grpc-js-xds": { runs: [], median: {}, notApplicable: "too slow" } } },
          ],
        },
        { id: "rpc-overhead", title: "RPC overhead", description: "", metrics: rpcOverhead.metrics, cases: [], pending: "waits" },
      ],
    };
    const rows = tableRows(results);
    expect(rows[1]!.slice(-3)).to.deep.equal(["2.00", "8.00", "0.25"]);
    expect(rows[2]!.slice(-3)).to.deep.equal(["100", "n/a", "–"]);
    expect(rows[3]!.slice(-3)).to.deep.equal(["pending", "pending", "–"]);
    const svg = updateTimeSvg(results)!;
    expect(svg).to.match(/^<svg /).and.to.contain("grpc-js-xds").and.to.contain("rxds");
    expect(svg.match(/<circle /g)).to.have.length(3);
    const markdown = benchmarksMarkdown(results, true);
    expect(markdown).to.contain("bench/update-time.svg").and.to.contain("n/a for grpc-js-xds. too slow").and.to.contain("pending for every library. waits");
  });

  it("results.json can hold every scenario's cases, a Duration's bigint seconds included", () => {
    const scenarioResults = scenarios.map((scenario) => ({
      id: scenario.id,
      title: scenario.title,
      description: "",
      metrics: scenario.metrics,
      cases: scenario.cases("full").map(({ label, params }) => ({ label, params, results: {} })),
    }));
    const text = resultsJson({ ...machine(), mode: "full", durationSeconds: 1, subjects: ["rxds"], scenarios: scenarioResults });
    const parsed = JSON.parse(text) as { scenarios: { cases: unknown[] }[] };
    expect(parsed.scenarios.map((each) => each.cases.length)).to.deep.equal(scenarioResults.map((each) => each.cases.length));
    expect(text).to.match(/"seconds": "1"/);
  });

  it("every scenario has cases in both modes and a file named for its id, and the report renders", () => {
    for (const scenario of scenarios) {
      expect(existsSync(new URL(`../../bench/scenarios/${scenario.id}.js`, import.meta.url)), `bench/scenarios/${scenario.id}.ts`).to.equal(true);
      for (const mode of ["quick", "full"] as const) {
        expect(scenario.cases(mode), scenario.id).to.not.be.empty;
        expect(scenario.runs(mode), scenario.id).to.be.greaterThan(0);
      }
    }
    const markdown = benchmarksMarkdown({
      ...machine(),
      mode: "quick",
      durationSeconds: 1,
      subjects: ["rxds"],
      scenarios: [{ ...warmUpdate, cases: [{ label: "tiny", params: {}, results: { rxds: { runs: [{ p50Ms: 1, p99Ms: 3 }, { p50Ms: 2, p99Ms: 5 }], median: medians([{ p50Ms: 1, p99Ms: 3 }, { p50Ms: 2, p99Ms: 5 }]) } } }] }],
    });
    expect(markdown).to.match(/\| Warm update +\| tiny +\| write → value p50 \(ms\) +\| +2 \| +1\.50 \|/);
    expect(markdown).to.not.contain("Beside istiod");
  });

  it("the report sets the rxds serve rows beside istiod's published convergence figures, marked as not measured here", () => {
    const markdown = benchmarksMarkdown({
      ...machine(),
      mode: "quick",
      durationSeconds: 1,
      subjects: ["rxds"],
      scenarios: [{ ...serveReload, cases: [{ label: "tiny", params: { services: 1, edits: 1 }, results: { rxds: { runs: [{ p50Ms: 9 }], median: { p50Ms: 9 } } } }] }],
    });
    expect(markdown).to.contain("## Beside istiod (published figures, not measured here)").and.to.contain("pilot_proxy_convergence_time").and.to.contain("PILOT_DEBOUNCE_AFTER");
  });
});
