// The mesh the `rxds serve` scenarios serve: N ServiceEntries (two endpoints each) and N VirtualServices (a header
// route and a default route each), the shape of issue 15's 10,000 + 10,000 example, written to a temp file.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveMesh, type MeshServer } from "rxds/server";

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
export const edited = "outbound|8080||svc-0.default.svc.cluster.local";

/** The listener of service 0, as a GENERATOR=grpc client dials it. */
export const servedTarget = "svc-0.default.svc.cluster.local:8080";

/** A temp directory holding `mesh.yaml` of `services` services (then the documents `more`); resolves with the file's path and a remover. */
export async function meshFile(services: number, more = ""): Promise<{ file: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "rxds-bench-serve-"));
  const file = join(dir, "mesh.yaml");
  await writeFile(file, more === "" ? meshYaml(services) : `${meshYaml(services)}---\n${more}`);
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs `body` with a temp mesh file of `services` services (then the documents `more`) served by serveMesh on loopback; cleans up. */
export async function withServedMesh<T>(services: number, body: (server: MeshServer, file: string) => Promise<T>, more = ""): Promise<T> {
  const { file, remove } = await meshFile(services, more);
  try {
    const server = await serveMesh({ config: file, port: 0, log: () => undefined, debounceMs: 5 });
    try {
      return await body(server, file);
    } finally {
      await server.close();
    }
  } finally {
    await remove();
  }
}

