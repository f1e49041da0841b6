import { serveMesh } from "rxds/server";
import { liveMemory } from "../support/heap.js";
import { Arrival } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { meshFile, servedTarget } from "../support/served-mesh.js";

/** Parameters of the load scenario. */
export interface ServeLoadParams {
  readonly services: number;
}

/** How long serveMesh takes to start serving a large mesh and to serve its first client, and the heap the served mesh holds. */
export const serveLoad: Scenario<ServeLoadParams> = {
  id: "serve-load",
  title: "rxds serve: load",
  description:
    "`serveMesh` on a file of N ServiceEntries and N VirtualServices: the time from the call to serving (read, parsed and validated; raw resources checked), then to a first GENERATOR=grpc client (an rxds XdsClient) resolving service 0 — listener, routes, cluster and endpoints — for which its view of the whole mesh is translated; and the live heap the server holds with that view built.",
  metrics: [
    { key: "loadMs", label: "start serving", unit: "ms" },
    { key: "firstClientMs", label: "start → first client resolved", unit: "ms" },
    { key: "heapMB", label: "heap held", unit: "MB" },
  ],
  cases: (mode) => {
    const services = mode === "quick" ? 1_000 : 10_000;
    const label = `${services / 1000}k VirtualService + ${services / 1000}k ServiceEntry`;
    return [{ label, params: { services }, skip: { "grpc-js-xds": "a server figure, measured with an rxds client" } }];
  },
  runs: (mode) => (mode === "quick" ? 1 : 3),
  measure: async (subject, { services }) => {
    const { file, remove } = await meshFile(services);
    try {
      const before = await liveMemory();
      const started = performance.now();
      const server = await serveMesh({ config: file, port: 0, log: () => undefined });
      const loadMs = performance.now() - started;
      try {
        const client = subject.createClient(server.address);
        const arrival = new Arrival();
        let resolved = false;
        const unwatch = client.watchTarget(servedTarget, (snapshot) => {
          resolved ||= snapshot.endpoints > 0;
          arrival.notify();
        });
        const firstClientMs = (await arrival.until(() => resolved, "the first client's snapshot")) - started;
        unwatch();
        await client.close();
        const after = await liveMemory();
        return { loadMs, firstClientMs, heapMB: (after.heapBytes - before.heapBytes) / 1e6 };
      } finally {
        await server.close();
      }
    } finally {
      await remove();
    }
  },
};
