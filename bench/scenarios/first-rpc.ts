import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serveMesh } from "rxds/server";
import type { Scenario } from "../support/scenario.js";

const probe = fileURLToPath(new URL("../support/first-rpc-probe.js", import.meta.url));
const target = "echo.default.svc.cluster.local:8080";

/** One service on loopback, as `rxds serve` reads it: a ServiceEntry with the one endpoint `port`. */
function mesh(port: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  ports: [{number: 8080, name: grpc, protocol: GRPC}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {grpc: ${port}}}]
`;
}

/** A fresh process's way to its first routed call: import, register(), dial `xds:///`, one unary call answered. */
export const firstRpc: Scenario<Record<string, never>> = {
  id: "first-rpc",
  title: "Process start → first routed RPC",
  description:
    "A fresh Node child imports grpc-js and the library, calls its `register()`, dials `xds:///` a target that `rxds serve` serves on loopback and makes one unary call to a backend there: ms from the child's start to the answer.",
  metrics: [{ key: "firstRpcMs", label: "start → first RPC", unit: "ms" }],
  cases: () => [{ label: "fresh process", params: {} }],
  runs: (mode) => (mode === "quick" ? 2 : 7),
  async measure(subject) {
    const backend = new Server();
    backend.register("/bench.Echo/Call", (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, call.request), (b: Buffer) => b, (b: Buffer) => b, "unary");
    const port = await new Promise<number>((resolve, reject) =>
      backend.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const dir = await mkdtemp(join(tmpdir(), "rxds-bench-first-rpc-"));
    const file = join(dir, "mesh.yaml");
    await writeFile(file, mesh(port));
    const plane = await serveMesh({ config: file, port: 0, log: () => undefined });
    try {
      const bootstrap = {
        xds_servers: [{ server_uri: plane.address, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
        node: { id: "sidecar~127.0.0.1~bench.default~default.svc.cluster.local", locality: {}, metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
      };
      const env = { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap), RXDS_LOG: "none" };
      const output = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [probe, subject.registerModule, target], { timeout: 60_000, env }, (error, stdout, stderr) =>
          error ? reject(new Error(`first-RPC probe for ${subject.registerModule} failed: ${error.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
      return { firstRpcMs: (JSON.parse(output) as { firstRpcMs: number }).firstRpcMs };
    } finally {
      await plane.close();
      backend.forceShutdown();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
