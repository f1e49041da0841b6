// `rxds serve` at scale: load time and memory of a large mesh, a one-line edit's way from the file to the
// clients, and many connected clients. The mesh: N ServiceEntries (two endpoints each) and N VirtualServices
// (a header route and a default route each), the shape of the 10,000 + 10,000 example.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveMesh, type MeshServer } from "rxds/server";
import { liveMemory } from "../support/heap.js";
import { Arrival } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { percentile } from "../support/stats.js";
import type { XdsSubject, XdsSubjectClient } from "../subjects/xds-subject.js";

/** The mesh YAML of `services` services; service 0's endpoints listen on `port0` (what the edits change). */
export function meshYaml(services: number, port0 = 20000): string {
  const docs: string[] = [];
  for (let i = 0; i < services; i++) {
    const port = i === 0 ? port0 : 20000 + (i % 1000);
    docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-${i}, namespace: default}
spec:
  hosts: [svc-${i}]
  addresses: [10.1.${Math.floor(i / 250)}.${(i % 250) + 1}]
  ports: [{number: 8080, name: grpc, protocol: GRPC}]
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, ports: {grpc: ${port}}, labels: {version: v1}}
  - {address: 127.0.0.2, ports: {grpc: ${port}}, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-${i}, namespace: default}
spec:
  hosts: [svc-${i}]
  http:
  - name: canary
    match: [{headers: {stage: {exact: canary}}}]
    route: [{destination: {host: svc-${i}}}]
    timeout: 0.5s
  - name: default
    route: [{destination: {host: svc-${i}}}]
`);
  }
  return docs.join("---\n");
}

/** The EDS name of service 0, which the edits change. */
const edited = "outbound|8080||svc-0.default.svc.cluster.local";

/** Runs `body` with a temp mesh file of `services` services served by serveMesh on loopback; cleans up. */
async function withServedMesh<T>(services: number, body: (server: MeshServer, file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "rxds-bench-serve-"));
  const file = join(dir, "mesh.yaml");
  await writeFile(file, meshYaml(services));
  const server = await serveMesh({ config: file, port: 0, log: () => undefined, debounceMs: 5 });
  try {
    return await body(server, file);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

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
    const dir = await mkdtemp(join(tmpdir(), "rxds-bench-serve-"));
    const file = join(dir, "mesh.yaml");
    await writeFile(file, meshYaml(services));
    const before = await liveMemory();
    const started = performance.now();
    const server = await serveMesh({ config: file, port: 0, log: () => undefined });
    const loadMs = performance.now() - started;
    const after = await liveMemory();
    await server.close();
    await rm(dir, { recursive: true, force: true });
    return { loadMs, heapMB: (after.heapBytes - before.heapBytes) / 1e6 };
  },
};

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
          { label: "10k services, 3 edits", params: { services: 10_000, edits: 3 } },
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
