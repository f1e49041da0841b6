// Keeps the bench harness from rotting: runs every scenario in-process at tiny sizes, once, and checks that
// it reports finite figures and leaves nothing open. Benchmarks are not tests: no timing is asserted here.
import { expect } from "chai";
import { existsSync } from "node:fs";
import { coldStart } from "../../bench/scenarios/cold-start.js";
import { importCost } from "../../bench/scenarios/import-cost.js";
import { largeEndpointUpdate } from "../../bench/scenarios/large-endpoint-update.js";
import { manyClusters } from "../../bench/scenarios/many-clusters.js";
import { scenarios } from "../../bench/scenarios/scenarios.js";
import { warmUpdate } from "../../bench/scenarios/warm-update.js";
import { rxdsSubject } from "../../bench/subjects/rxds-subject.js";
import { benchmarksMarkdown } from "../../bench/support/report.js";
import { machine, medians } from "../../bench/support/results.js";
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

/** Runs one scenario once for rxds and checks its figures and its cleanup. */
async function smoke<P>(scenario: Scenario<P>, params: P, expected: readonly string[]): Promise<Metrics> {
  // Mocha arms the test's own timeout only once the test function returns its promise: count after that.
  await new Promise((resolve) => setImmediate(resolve));
  const baseline = census();
  const metrics = await scenario.measure(rxdsSubject, params);
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

  it("many clusters: waits for every cluster's endpoints", async () => {
    await smoke(manyClusters, { clusters: 5, endpointsPerCluster: 10 }, ["allPresentMs"]);
  });

  it("warm update: reports p50 and p99", async () => {
    await smoke(warmUpdate, { endpoints: 10, updates: 5 }, ["p50Ms", "p99Ms"]);
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
  });
});
