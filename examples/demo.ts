// `npm start`: the whole mesh on one laptop. It starts GreetService backends for subsets v1 and v2 on
// loopback, serves examples/mesh.yaml (kitex-contrib/xds's README examples) from rxds's embedded control
// plane, and runs a client through rxds: calls with and without the `stage: canary` header and to both
// methods, printed as a table; then it shifts the default route's weights in the file and shows the
// traffic follow the hot reload.
import { create } from "@bufbuild/protobuf";
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstValueFrom, type Subscription } from "rxjs";
import { init, XdsError } from "rxds";
import { serveMesh } from "rxds/server";
import { parseAllDocuments } from "yaml";
import { HelloResponseSchema, type HelloRequest, type HelloResponse } from "../gen/proxyless/greet_pb.js";
import { createGreetClient, greet } from "./greet-client.js";
import { greetService } from "./greet-service.js";

const target = "kitex-server:8888";

/** A GreetService backend on 127.0.0.1 answering with its subset's name. */
async function startBackend(subset: string): Promise<{ port: number; server: Server }> {
  const server = new Server();
  const reply = (_: ServerUnaryCall<HelloRequest, HelloResponse>, done: sendUnaryData<HelloResponse>) =>
    done(null, create(HelloResponseSchema, { message: subset }));
  server.addService(greetService, { SayHello: reply, SayHello1: reply });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { port, server };
}

/** examples/mesh.yaml with the instances on `ports` and the default route split by `weights`. */
async function meshFile(ports: [number, number], weights: [number, number]): Promise<string> {
  const text = await readFile(new URL("../../examples/mesh.yaml", import.meta.url), "utf8");
  const documents = parseAllDocuments(text).map((doc) => {
    if (doc.get("kind") === "ServiceEntry") ports.forEach((port, i) => doc.setIn(["spec", "endpoints", i, "ports", "grpc"], port));
    if (doc.get("kind") === "VirtualService") weights.forEach((weight, i) => doc.setIn(["spec", "http", 2, "route", i, "weight"], weight));
    return doc.toString();
  });
  return documents.join("---\n");
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ");
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

const started = Date.now();
const [v1, v2] = await Promise.all([startBackend("v1"), startBackend("v2")]);
const dir = await mkdtemp(join(tmpdir(), "rxds-demo-"));
const config = join(dir, "mesh.yaml");
await writeFile(config, await meshFile([v1.port, v2.port], [50, 50]));
const mesh = await serveMesh({ config, port: 0, log: (line) => console.log(`  [control plane] ${line}`) });

// The client: a pod in namespace default, as init() would read it from Kubernetes' downward API.
const xds = init({ env: { POD_NAMESPACE: "default", POD_NAME: "demo-client", INSTANCE_IP: "127.0.0.1" }, server: mesh.address });
const client = createGreetClient(xds, target);
let router = await firstValueFrom(xds.router(target));
const held: Subscription = xds.router(target).subscribe((r) => (router = r));

/** What the client's Router says a call matches (the same decision the call itself takes). */
function matched(method: string, headers: Record<string, string>): string {
  const decision = router.route({ path: `/proxyless.GreetService/${method}`, headers: { ...headers, "content-type": "application/grpc" } });
  if (decision instanceof XdsError) return decision.code;
  decision.done(); // this decision is only looked at, never sent: it gives its endpoint back at once
  return `${decision.routeName || "(unnamed)"} (timeout ${decision.timeoutMs ?? "none"} ms)`;
}

console.log(`\nrxds demo: ${target} on the embedded control plane at ${mesh.address}, backends v1 :${v1.port} and v2 :${v2.port}\n`);
const rows = [["call", "metadata", "matched route", "served by"]];
const calls: [("SayHello" | "SayHello1"), Record<string, string>][] = [
  ["SayHello1", { stage: "canary" }],
  ["SayHello", { stage: "canary" }],
  ["SayHello", {}],
  ["SayHello", {}],
  ...Array.from({ length: 6 }, (): ["SayHello1", Record<string, string>] => ["SayHello1", {}]),
];
for (const [method, headers] of calls) {
  const servedBy = await greet(client, method, headers);
  rows.push([method, Object.entries(headers).map(([k, v]) => `${k}=${v}`).join(",") || "-", matched(method, headers), servedBy]);
}
console.log(table(rows));

/** Calls SayHello1 `n` times; counts the replies by subset. */
async function split(n: number): Promise<string> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const by = await greet(client, "SayHello1");
    counts.set(by, (counts.get(by) ?? 0) + 1);
  }
  return ["v1", "v2"].map((s) => `${s} ${counts.get(s) ?? 0}`).join(", ");
}

console.log(`\ndefault route, 100 calls at 50/50: ${await split(100)}`);
console.log("\nshifting the default route to v1 0 / v2 100 in mesh.yaml …");
const written = Date.now();
await writeFile(config, await meshFile([v1.port, v2.port], [0, 100]));
let streak = 0;
while (streak < 20) {
  streak = (await greet(client, "SayHello1")) === "v2" ? streak + 1 : 0;
  if (Date.now() - written > 10000) throw new Error("traffic did not follow the new weights within 10 s");
}
console.log(`traffic followed in ${Date.now() - written} ms (counting until 20 calls in a row were served by v2)`);
console.log(`default route, 100 calls at 0/100: ${await split(100)}`);

held.unsubscribe();
client.close();
await xds.close();
await mesh.close();
v1.server.forceShutdown();
v2.server.forceShutdown();
await rm(dir, { recursive: true, force: true });
console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
