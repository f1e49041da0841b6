// `npm run demo:thrift`: the Thrift half of kitex-contrib/xds's README example on one laptop. It starts Thrift
// GreetService backends for subsets v1 and v2 on loopback (the `thrift` package's server, THeader transport),
// serves examples/thrift-mesh.yaml (a sidecar listener whose ThriftProxy routes by header and by method, as
// kitex-examples' EnvoyFilter makes it) from `rxds serve`'s library form, and calls the service through
// rxds/thrift from a sidecar-mode client: a table of each call, the route it matched, the subset that served
// it and the THeader key-values the server read; then a weighted split of 100 calls.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstValueFrom, type Subscription } from "rxjs";
import { init, XdsError } from "rxds";
import { serveMesh } from "rxds/server";
import { createXdsThriftClient } from "rxds/thrift";
import { parseAllDocuments } from "yaml";
import { GreetService, HelloRequest } from "../gen/thrift/proxyless/index.js";
import { ThriftGreetBackend } from "./thrift-greet-backend.js";

const target = "kitex-server:8888";
type Method = "SayHello" | "SayHello1";

/** examples/thrift-mesh.yaml with the instances on `ports`. */
async function meshFile(ports: [number, number]): Promise<string> {
  const text = await readFile(new URL("../../examples/thrift-mesh.yaml", import.meta.url), "utf8");
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.get("kind") === "ServiceEntry") ports.forEach((port, i) => doc.setIn(["spec", "endpoints", i, "ports", "thrift"], port));
      return doc.toString();
    })
    .join("---\n");
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ");
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

const started = Date.now();
const backends = await Promise.all([ThriftGreetBackend.start("v1", "header"), ThriftGreetBackend.start("v2", "header")]);
const [v1, v2] = backends;
const dir = await mkdtemp(join(tmpdir(), "rxds-thrift-demo-"));
const config = join(dir, "thrift-mesh.yaml");
await writeFile(config, await meshFile([v1.port, v2.port]));
const mesh = await serveMesh({ config, port: 0, log: (line) => console.log(`  [control plane] ${line}`) });

// The client: a pod in namespace default, in sidecar mode (Envoy listeners, as kitex-contrib/xds reads them).
const xds = init({ env: { POD_NAMESPACE: "default", POD_NAME: "demo-client", INSTANCE_IP: "127.0.0.1" }, server: mesh.address, mode: "sidecar" });
const greet = createXdsThriftClient(xds, GreetService.Client, { target, service: "proxyless.GreetService", transport: "header", timeoutMs: 2000 });
let router = await firstValueFrom(xds.router(target));
const held: Subscription = xds.router(target).subscribe((r) => (router = r));

/** Which ThriftProxy route the client's Router says a call matches (as the call itself is routed), and where it sends. */
function matched(method: Method, headers: Record<string, string>): string {
  const decision = router.routeThrift({ service: "GreetService", method, headers });
  if (decision instanceof XdsError) return decision.code;
  const proxy = router.snapshot.listener?.thriftProxies[0]?.routes;
  const action = proxy?.kind === "inline" ? proxy.routeConfig.routes[decision.routeIndex]?.action : undefined;
  const subset = (cluster: string) => cluster.split("|")[2];
  const to = action?.kind === "weighted_clusters" ? action.clusters.map((c) => `${subset(c.name)} ${c.weight}`).join(" / ") : subset(decision.cluster);
  return `routes[${decision.routeIndex}] → ${to}`;
}

/** Calls `method` with `headers`; the subset that answered and the THeader key-values it read. */
async function call(method: Method, headers: Record<string, string>): Promise<[string, string]> {
  const response = await greet.with({ headers })[method](new HelloRequest({ Message: "hi" }));
  const backend = backends.find((b) => b.name === response.Message)!;
  const read = backend.calls.at(-1)!.headers;
  return [response.Message, Object.entries(read).map(([k, v]) => `${k}=${v}`).join(",") || "-"];
}

console.log(`\nrxds Thrift demo: ${target} on the embedded control plane at ${mesh.address}, backends v1 :${v1.port} and v2 :${v2.port}\n`);
const rows = [["call", "headers", "matched thrift route", "served by", "server read (THeader)"]];
const calls: [Method, Record<string, string>][] = [
  ["SayHello1", { stage: "canary" }],
  ["SayHello", { stage: "canary" }],
  ["SayHello", {}],
  ["SayHello", {}],
  ...Array.from({ length: 6 }, (): [Method, Record<string, string>] => ["SayHello1", {}]),
];
for (const [method, headers] of calls) {
  const [servedBy, read] = await call(method, headers);
  rows.push([method, Object.entries(headers).map(([k, v]) => `${k}=${v}`).join(",") || "-", matched(method, headers), servedBy, read]);
}
console.log(table(rows));

const counts = new Map<string, number>();
for (let i = 0; i < 100; i++) {
  const { Message } = await greet.client.SayHello1(new HelloRequest({ Message: "hi" }));
  counts.set(Message, (counts.get(Message) ?? 0) + 1);
}
console.log(`\ndefault route, 100 calls of SayHello1 at 50/50: v1 ${counts.get("v1") ?? 0}, v2 ${counts.get("v2") ?? 0}`);

held.unsubscribe();
greet.close();
await xds.close();
await mesh.close();
await Promise.all(backends.map((b) => b.stop()));
await rm(dir, { recursive: true, force: true });
console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
