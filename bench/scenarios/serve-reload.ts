import { writeFile } from "node:fs/promises";
import { Arrival } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { edited, meshYaml, withServedMesh } from "../support/served-mesh.js";
import { percentile } from "../support/stats.js";

/** Parameters of the reload scenario. */
export interface ServeReloadParams {
  readonly services: number;
  readonly edits: number;
}

/** Writes edit `k` (service 0's endpoint port) and resolves with the write-to-delivery latency of every client. */
async function editAndWait(file: string, services: number, k: number, arrival: Arrival, delivered: () => boolean): Promise<number> {
  const text = meshYaml(services, 30000 + k);
  const start = performance.now();
  await writeFile(file, text);
  const end = await arrival.until(delivered, `edit ${k}`);
  return end - start;
}

/** A one-line edit in a large mesh: from the file write to the client delivering the changed endpoints. */
export const serveReload: Scenario<ServeReloadParams> = {
  id: "serve-reload",
  title: "rxds serve: reload",
  description:
    "A served mesh of N services; a connected client watches service 0's endpoints; its endpoint port is edited in the file (one line), again and again: time from the write to the client delivering the new assignment (file watch, debounce of 5 ms, reload, push), p50 over the edits.",
  metrics: [{ key: "p50Ms", label: "file write → client p50", unit: "ms" }],
  cases: (mode) =>
    mode === "quick"
      ? [{ label: "1k services, 5 edits", params: { services: 1_000, edits: 5 } }]
      : [
          { label: "1k services, 10 edits", params: { services: 1_000, edits: 10 } },
          { label: "10k services, 6 edits", params: { services: 10_000, edits: 6 } },
        ],
  runs: (mode) => (mode === "quick" ? 1 : 2),
  measure: (subject, { services, edits }) =>
    withServedMesh(services, async (server, file) => {
      const client = subject.createClient(server.address);
      try {
        const arrival = new Arrival();
        let deliveries = 0;
        client.watchEndpoints(edited, () => {
          deliveries++;
          arrival.notify();
        });
        await arrival.until(() => deliveries === 1, "first assignment");
        const latencies: number[] = [];
        for (let k = 1; k <= edits; k++) latencies.push(await editAndWait(file, services, k, arrival, () => deliveries === k + 1));
        return { p50Ms: percentile(latencies, 50) };
      } finally {
        await client.close();
      }
    }),
};

