// `npm run demo:thrift`: the Thrift half of kitex-contrib/xds's README example on one laptop. It starts Thrift
// GreetService backends for subsets v1 and v2 on loopback (the `thrift` package's server, THeader transport),
// serves examples/thrift-mesh.yaml (a ServiceEntry, a DestinationRule, a VirtualService and an EnvoyFilter whose
// ThriftProxy routes by header and by method) from `rxds serve`'s library form, and calls the service through
// rxds/thrift from a sidecar-mode client, which gets the EnvoyFilter's ThriftProxy: a table of each call, the route it
// matched, the subset that served it and the THeader key-values the server read; then a weighted split of 100 calls.
// Last, the same calls from a GENERATOR=grpc client, which gets no EnvoyFilter (as from istiod) and routes by the
// VirtualService.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstValueFrom, type Subscription } from "rxjs";
import { init, XdsClient, XdsError, type Router } from "rxds";
import { serveMesh } from "rxds/server";
import { createXdsThriftClient } from "rxds/thrift";
import { GreetService, HelloRequest } from "../gen/thrift/proxyless/index.js";
import { ThriftGreetBackend } from "./thrift-greet-backend.js";

const target = "kitex-server:8888";
type Method = "SayHello" | "SayHello1";

/** examples/thrift-mesh.yaml with the instances on `ports` (8001 and 8002 in the file). */
async function meshFile(ports: [number, number]): Promise<string> {
  const text = await readFile(new URL("../../examples/thrift-mesh.yaml", import.meta.url), "utf8");
  return text.replace("ports: {thrift: 8001}", `ports: {thrift: ${ports[0]}}`).replace("ports: {thrift: 8002}", `ports: {thrift: ${ports[1]}}`);
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

// The clients: pods in namespace default, one in sidecar mode (Envoy listeners, as kitex-contrib/xds reads them), one
// with GENERATOR=grpc (proxyless resources).
const xds = init({ env: { POD_NAMESPACE: "default", POD_NAME: "demo-client", INSTANCE_IP: "127.0.0.1" }, server: mesh.address, mode: "sidecar" });
const proxyless = new XdsClient({
  servers: [{ uri: mesh.address }],
  node: { id: "sidecar~127.0.0.1~demo-client.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
});
const options = { target, service: "proxyless.GreetService", transport: "header", timeoutMs: 2000 } as const;
const greet = createXdsThriftClient(xds, GreetService.Client, options);
const greetProxyless = createXdsThriftClient(proxyless, GreetService.Client, options);
const routers = new Map<XdsClient, Router>();
const held: Subscription[] = [];
for (const client of [xds, proxyless]) {
  routers.set(client, await firstValueFrom(client.router(target)));
  held.push(client.router(target).subscribe((r) => routers.set(client, r)));
}

const subset = (cluster: string) => cluster.split("|")[2];

/** Where a route sends: its subset, or each subset with its weight. */
function sendsTo(action: { kind: string; clusters?: readonly { name: string; weight: number }[] } | undefined, picked: string): string {
  return action?.kind === "weighted_clusters" && action.clusters !== undefined ? action.clusters.map((c) => `${subset(c.name)} ${c.weight}`).join(" / ") : (subset(picked) ?? "");
}

/** Which ThriftProxy route the sidecar client's Router says a call matches (as the call itself is routed), and where it sends. */
function matched(method: Method, headers: Record<string, string>): string {
  const router = routers.get(xds)!;
  const decision = router.routeThrift({ service: "GreetService", method, headers });
  if (decision instanceof XdsError) return decision.code;
  decision.done();
  const proxy = router.snapshot.listener?.thriftProxies[0]?.routes;
  const action = proxy?.kind === "inline" ? proxy.routeConfig.routes[decision.routeIndex]?.action : undefined;
  return `routes[${decision.routeIndex}] → ${sendsTo(action, decision.cluster)}`;
}

/** Which VirtualService route the proxyless client's Router says a call matches, as /<service>/<method>, and where it sends. */
function matchedHttp(method: Method, headers: Record<string, string>): string {
  const router = routers.get(proxyless)!;
  const decision = router.route({ path: `/proxyless.GreetService/${method}`, headers });
  if (decision instanceof XdsError) return decision.code;
  decision.done();
  return `${decision.routeName} → ${sendsTo(router.snapshot.virtualHost?.routes[decision.routeIndex]?.action, decision.cluster)}`;
}

/** Calls `method` with `headers` through `client`; the subset that answered and the THeader key-values it read. */
async function call(method: Method, headers: Record<string, string>, client = greet): Promise<[string, string]> {
  const response = await client.with({ headers })[method](new HelloRequest({ Message: "hi" }));
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

console.log("\nThe same calls from a GENERATOR=grpc client: no EnvoyFilter (as from istiod), the VirtualService's routes\n");
const proxylessRows = [["call", "headers", "matched route", "served by"]];
for (const [method, headers] of calls.slice(0, 5)) {
  const [servedBy] = await call(method, headers, greetProxyless);
  proxylessRows.push([method, Object.entries(headers).map(([k, v]) => `${k}=${v}`).join(",") || "-", matchedHttp(method, headers), servedBy]);
}
console.log(table(proxylessRows));

for (const subscription of held) subscription.unsubscribe();
greet.close();
greetProxyless.close();
await Promise.all([xds.close(), proxyless.close()]);
await mesh.close();
await Promise.all(backends.map((b) => b.stop()));
await rm(dir, { recursive: true, force: true });
console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
