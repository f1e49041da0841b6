import { fork, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
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

const fleetScript = fileURLToPath(new URL("../support/client-fleet.js", import.meta.url));

/** Wall-clock ms, comparable with what the fleet process reports. */
const now = () => performance.timeOrigin + performance.now();

/** Many connected clients: push latency to all of them after an edit, and the server's heap per connected client. */
export const serveManyClients: Scenario<ServeManyClientsParams> = {
  id: "serve-many-clients",
  title: "rxds serve: many clients",
  description:
    "A served mesh of 100 services and C rxds XdsClients in a child process, each its own ADS stream watching service 0's endpoints: after each edit of the file, the time from the write until each client delivers the change (p50 and p99 over every client and edit), and the server process's live heap per connected client.",
  metrics: [
    { key: "p50Ms", label: "write → each client p50", unit: "ms" },
    { key: "p99Ms", label: "write → each client p99", unit: "ms" },
    { key: "heapKBPerClient", label: "server heap per connected client", unit: "KB" },
  ],
  cases: (mode) => {
    const clients = mode === "quick" ? 100 : 1_000;
    return [{ label: `${clients} clients, 100 services`, params: { clients, edits: mode === "quick" ? 3 : 10 }, skip: { "grpc-js-xds": "a server figure, measured with rxds clients" } }];
  },
  runs: (mode) => (mode === "quick" ? 1 : 2),
  measure: (_subject, { clients, edits }) =>
    withServedMesh(100, async (server, file) => {
      const before = await liveMemory();
      const arrival = new Arrival();
      const arrivedAt: number[][] = [];
      let total = 0;
      const fleet: ChildProcess = fork(fleetScript, [server.address, String(clients), edited], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      const exited = new Promise<void>((resolve) => fleet.once("exit", () => resolve()));
      fleet.on("message", (message: { client: number; at: number }) => {
        const deliveries = arrivedAt[message.client] ?? (arrivedAt[message.client] = []);
        deliveries.push(message.at);
        total++;
        arrival.notify();
      });
      try {
        await arrival.until(() => total === clients, "every client's first assignment");
        const heapKBPerClient = ((await liveMemory()).heapBytes - before.heapBytes) / clients / 1e3;
        const latencies: number[] = [];
        for (let k = 1; k <= edits; k++) {
          const text = meshYaml(100, 30000 + k);
          const start = now();
          await writeFile(file, text);
          await arrival.until(() => total === clients * (k + 1), `edit ${k} at every client`);
          for (const deliveries of arrivedAt) latencies.push((deliveries?.[k] ?? start) - start);
        }
        return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), heapKBPerClient };
      } finally {
        fleet.send("close");
        await exited;
      }
    }),
};
