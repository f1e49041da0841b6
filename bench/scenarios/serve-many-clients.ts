import { writeFile } from "node:fs/promises";
import type { XdsSubject, XdsSubjectClient } from "../subjects/xds-subject.js";
import { liveMemory } from "../support/heap.js";
import { Arrival } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { edited, meshYaml, withServedMesh } from "../support/served-mesh.js";
import { percentile } from "../support/stats.js";

/** Parameters of the many-clients scenario. */
export interface ServeManyClientsParams {
  readonly clients: number;
  readonly edits: number;
}

/** Many connected clients: push latency to all of them after an edit, and the heap each connected client costs. */
export const serveManyClients: Scenario<ServeManyClientsParams> = {
  id: "serve-many-clients",
  title: "rxds serve: many clients",
  description:
    "A served mesh of 100 services and C clients in the bench process, each its own ADS stream watching service 0's endpoints: after each edit of the file, the time from the write until each client delivers the change (p50 and p99 over every client and edit), and the live heap per connected client (server and client sides together, as both run in the one process).",
  metrics: [
    { key: "p50Ms", label: "write → each client p50", unit: "ms" },
    { key: "p99Ms", label: "write → each client p99", unit: "ms" },
    { key: "heapKBPerClient", label: "heap per connected client", unit: "KB" },
  ],
  cases: (mode) => {
    const clients = mode === "quick" ? 100 : 1_000;
    return [{ label: `${clients} clients, 100 services`, params: { clients, edits: mode === "quick" ? 3 : 10 }, skip: { "grpc-js-xds": "measured with rxds clients only: one process holding a thousand grpc-js-xds clients measures grpc-js-xds, not the server" } }];
  },
  runs: (mode) => (mode === "quick" ? 1 : 2),
  measure: (subject: XdsSubject, { clients, edits }) =>
    withServedMesh(100, async (server, file) => {
      const connected: XdsSubjectClient[] = [];
      try {
        const before = await liveMemory();
        const arrival = new Arrival();
        const seen = new Array<number>(clients).fill(0);
        const arrivedAt: number[][] = [];
        let total = 0;
        for (let c = 0; c < clients; c++) {
          const client = subject.createClient(server.address);
          connected.push(client);
          client.watchEndpoints(edited, () => {
            const at = performance.now();
            (arrivedAt[seen[c]!] ??= []).push(at);
            seen[c]!++;
            total++;
            arrival.notify();
          });
        }
        await arrival.until(() => total === clients, "every client's first assignment");
        const heapKBPerClient = ((await liveMemory()).heapBytes - before.heapBytes) / clients / 1e3;
        const latencies: number[] = [];
        for (let k = 1; k <= edits; k++) {
          const text = meshYaml(100, 30000 + k);
          const start = performance.now();
          await writeFile(file, text);
          await arrival.until(() => total === clients * (k + 1), `edit ${k} at every client`);
          for (const at of arrivedAt[k] ?? []) latencies.push(at - start);
        }
        return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), heapKBPerClient };
      } finally {
        await Promise.all(connected.map((client) => client.close()));
      }
    }),
};
