import { serveMesh } from "rxds/server";
import { liveMemory } from "../support/heap.js";
import type { Scenario } from "../support/scenario.js";
import { meshFile } from "../support/served-mesh.js";

/** Parameters of the load scenario. */
export interface ServeLoadParams {
  readonly services: number;
}

/** How long serveMesh takes to start serving a large mesh, and the heap the served mesh holds. */
export const serveLoad: Scenario<ServeLoadParams> = {
  id: "serve-load",
  title: "rxds serve: load",
  description:
    "`serveMesh` on a file of N ServiceEntries and N VirtualServices: time from the call to serving (parsed, validated, translated and checked for the grpc and sidecar views), and the live heap it holds. A server figure: no client library takes part.",
  metrics: [
    { key: "loadMs", label: "start serving", unit: "ms" },
    { key: "heapMB", label: "heap held", unit: "MB" },
  ],
  cases: (mode) => {
    const services = mode === "quick" ? 1_000 : 10_000;
    const label = `${services / 1000}k VirtualService + ${services / 1000}k ServiceEntry`;
    return [{ label, params: { services }, skip: { "grpc-js-xds": "a server figure: no client library takes part" } }];
  },
  runs: (mode) => (mode === "quick" ? 1 : 3),
  measure: async (_subject, { services }) => {
    const { file, remove } = await meshFile(services);
    try {
      const before = await liveMemory();
      const started = performance.now();
      const server = await serveMesh({ config: file, port: 0, log: () => undefined });
      const loadMs = performance.now() - started;
      const after = await liveMemory();
      await server.close();
      return { loadMs, heapMB: (after.heapBytes - before.heapBytes) / 1e6 };
    } finally {
      await remove();
    }
  },
};

