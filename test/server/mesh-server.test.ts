// `serveMesh` and the `rxds serve` command, observed through rxds's own client over loopback.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { filter, firstValueFrom, take, timeout, type Observable } from "rxjs";
import { messageType, XdsClient, type ResourceUpdate } from "rxds";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { dumpMesh, nodeFromSpecs, serveMesh, type MeshServer } from "rxds/server";
import { ConfigDir, exampleMesh, MemoryLog, routeName, target } from "../fixtures/serve-mesh.js";
import { LogRecorder } from "../support/wire.js";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** The first value of `source` that satisfies `predicate`, failing after 5 s. */
function next<T>(source: Observable<T>, predicate: (value: T) => boolean = () => true): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate), take(1), timeout({ first: 5000, with: () => { throw new Error("no matching value within 5 s"); } })));
}

const present = (u: ResourceUpdate<unknown>) => u.resource !== undefined;
const absent = (u: ResourceUpdate<unknown>) => u.resource === undefined;

/** A YAML edit that breaks document 3 (the VirtualService) at spec.http[2].route[0].weight. */
function breakWeight(text: string): string {
  return text.replace("subset: v1\n      weight: 50", 'subset: v1\n      weight: "x"');
}

/** Runs the CLI; resolves with its exit code and output once it exits. */
function runCli(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    onStderr?.(stderr, child);
  });
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

describe("serveMesh", () => {
  let dir: ConfigDir;
  let server: MeshServer | undefined;
  const clients: XdsClient[] = [];
  let log: MemoryLog;

  async function start(text: string, verbose = false): Promise<MeshServer> {
    dir = await ConfigDir.create(text);
    log = new MemoryLog();
    server = await serveMesh({ config: dir.file, port: 0, host: "127.0.0.1", verbose, log: log.log });
    return server;
  }

  /** A client in namespace default (by its Istio-style node id), or in no namespace rxds serve knows of. */
  function client(metadata: Record<string, string>, inDefault = true): XdsClient {
    const id = inDefault ? `sidecar~127.0.0.1~client-${clients.length}.default~default.svc.cluster.local` : `client-${clients.length}`;
    const xds = new XdsClient({
      servers: [{ uri: server?.address ?? "" }],
      node: { id, metadata },
      backoff: { initialMs: 20, maxMs: 200 },
      doesNotExistTimeoutMs: 500,
      logger: new LogRecorder(),
    });
    clients.push(xds);
    return xds;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server?.close();
    server = undefined;
    await dir?.remove();
  });

  it("ServeGrpcView: a GENERATOR=grpc node gets the api_listener named as the target and its route configuration", async () => {
    await start(await exampleMesh({ ports: [18001, 18002] }));
    const xds = client({ GENERATOR: "grpc", NAMESPACE: "default" });
    const listener = await next(xds.listener(target), present);
    expect(listener.name).to.equal(target);
    expect((await next(xds.routeConfiguration(routeName), present)).name).to.equal(routeName);
    expect((await next(xds.cluster("outbound|8888|v1|kitex-server.default.svc.cluster.local"), present)).version).to.not.equal("");
    // The sidecar-style listener is not part of the grpc view.
    await next(xds.listener("0.0.0.0_8888"), absent);
    expect(log.lines[0]).to.match(/^serving .*mesh\.yaml on 127\.0\.0\.1:\d+ \(1 ServiceEntry, 1 DestinationRule, 1 VirtualService, 0 raw\)$/);
  });

  it("ServeSidecarView: a node without GENERATOR gets 0.0.0.0_<port>, route configuration <port> and the NDS name table", async () => {
    await start(await exampleMesh({ ports: [18001, 18002] }));
    const xds = client({ NAMESPACE: "default" });
    expect((await next(xds.listener("0.0.0.0_8888"), present)).name).to.equal("0.0.0.0_8888");
    expect((await next(xds.routeConfiguration("8888"), present)).name).to.equal("8888");
    await next(xds.nameTable(), present);
    await next(xds.listener(target), absent);
  });

  it("HotReload: a changed file reaches a connected client within 100 ms; only changed resources get a new version", async () => {
    const text = await exampleMesh({ ports: [18001, 18002] });
    await start(text);
    // Clients of three views (a view is built for its first client): grpc with no namespace known, sidecar, and grpc/default.
    await next(client({ GENERATOR: "grpc" }, false).routeConfiguration(routeName), present);
    await next(client({}, false).routeConfiguration("8888"), present);
    const xds = client({ GENERATOR: "grpc", NAMESPACE: "default" });
    const listenerUpdates: ResourceUpdate<unknown>[] = [];
    const subscription = xds.listener(target).subscribe((u: ResourceUpdate<unknown>) => listenerUpdates.push(u));
    try {
      const before = await next(xds.routeConfiguration(routeName), present);
      await next(xds.listener(target), present);
      const written = performance.now();
      const changed = next(xds.routeConfiguration(routeName), (u: ResourceUpdate<unknown>) => u.version !== before.version);
      await dir.write(await exampleMesh({ ports: [18001, 18002], weights: [100, 0] }));
      const after = await changed;
      const elapsed = performance.now() - written;
      expect(after.resource).to.not.equal(undefined);
      expect(elapsed, `reload took ${elapsed.toFixed(1)} ms`).to.be.below(100);
      // Only the route configurations changed: the proxyless views' and the sidecar view's, each named with its views.
      const reloaded = await log.line("reloaded ");
      expect(reloaded).to.match(/: 2 changed: RDS outbound\|8888\|\|kitex-server\.default\.svc\.cluster\.local \(grpc, grpc\/default~127\.0\.0\.1\), RDS 8888 \(sidecar\)$/);
      expect(listenerUpdates.filter(present)).to.have.length(1);
    } finally {
      subscription.unsubscribe();
    }
  });

  it("BrokenReload: a file that fails to load is logged with its field path and the last good config keeps being served", async () => {
    const text = await exampleMesh({ ports: [18001, 18002] });
    await start(text);
    const first = client({ GENERATOR: "grpc" });
    const before = await next(first.routeConfiguration(routeName), present);
    await dir.write(breakWeight(text));
    const error = await log.line("error: reload failed");
    expect(error).to.include("still serving the last good config");
    expect(error).to.include("document 3 (VirtualService kitex-server): spec.http[2].route[0].weight");
    // A client connecting now still gets the last good config.
    const late = client({ GENERATOR: "grpc" });
    expect((await next(late.routeConfiguration(routeName), present)).version).to.equal(before.version);
    // And a fixed file is served again.
    const lines = log.lines.length;
    await dir.write(await exampleMesh({ ports: [18001, 18002], weights: [100, 0] }));
    expect(await log.line("reloaded ", lines)).to.include("RDS outbound|8888||kitex-server.default.svc.cluster.local");
    expect((await next(first.routeConfiguration(routeName), (u: ResourceUpdate<unknown>) => u.version !== before.version)).resource).to.not.equal(undefined);
  });

  /**
   * Two ServiceEntries of namespace shop on port 9080, the second sharing the first's VIP when `shared`: the sidecar view's
   * route configuration 9080 then lists that VIP as a domain of both virtual hosts, which clients NACK.
   */
  function sharedVip(shared: boolean): string {
    const entry = (name: string, vip: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: shop}
spec:
  hosts: [${name}]
  addresses: [${vip}]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  endpoints: [{address: 127.0.0.1}]
`;
    return `${entry("a", "10.0.0.9")}---\n${entry("b", shared ? "10.0.0.9" : "10.0.0.10")}`;
  }

  it("WithheldAtFirstSend: a generated resource clients would NACK is withheld when first asked for, with one error naming it; the rest is served", async () => {
    await start(sharedVip(true));
    const sidecar = client({});
    expect((await next(sidecar.listener("0.0.0.0_9080"), present)).name).to.equal("0.0.0.0_9080");
    const withheld = next(sidecar.routeConfiguration("9080"), absent);
    const error = await log.line("error: not serving");
    expect(error).to.match(/^error: not serving what .*mesh\.yaml: clients would NACK the RDS 9080 served to sidecar\/default~127\.0\.0\.1 clients: .*duplicate domain "10\.0\.0\.9"/);
    await withheld;
    expect(log.lines.filter((line) => line.includes("not serving"))).to.have.length(1);
    expect(log.lines.filter((line) => /^stream \d+ NACK /.test(line))).to.deep.equal([]);
    // The grpc view gives each service its own route configuration: nothing there is withheld.
    await next(client({ GENERATOR: "grpc" }).routeConfiguration("outbound|9080||b.shop.svc.cluster.local"), present);
    // --print checks the whole view it prints.
    const printed = await dumpMesh(dir.file, nodeFromSpecs([])).then(
      () => "printed",
      (e: unknown) => (e as Error).message,
    );
    expect(printed).to.match(/clients would NACK the RDS 9080 served to sidecar clients: .*duplicate domain/);
  });

  it("RefusedGeneratedReload: a reload whose translation clients would NACK is refused with the reason, and the last good config keeps serving", async () => {
    await start(sharedVip(false));
    const sidecar = client({});
    const before = await next(sidecar.routeConfiguration("9080"), present);
    await dir.write(sharedVip(true));
    const error = await log.line("error: reload failed");
    expect(error).to.match(/still serving the last good config: .*clients would NACK the RDS 9080 served to sidecar\/default~127\.0\.0\.1 clients: .*duplicate domain "10\.0\.0\.9"/);
    const late = client({});
    expect((await next(late.routeConfiguration("9080"), present)).version).to.equal(before.version);
    expect(log.lines.filter((line) => /^stream \d+ NACK /.test(line))).to.deep.equal([]);
  });

  it("RawAtStart: a raw resource clients would NACK fails the start, naming its document and the client's reason", async () => {
    dir = await ConfigDir.create(`"@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
name: broken
virtual_hosts: [{name: broken, domains: ["**"], routes: [{match: {prefix: ""}, route: {cluster: c}}]}]
`);
    const failure = await serveMesh({ config: dir.file, port: 0, log: () => {} }).then(
      (s) => {
        server = s;
        return "served";
      },
      (e: unknown) => (e as Error).message,
    );
    expect(failure).to.match(/mesh\.yaml: document 1 \(RouteConfiguration broken\): clients would NACK the RDS broken: .*"\*\*" is not a domain/);
  });

  it("BrokenStart: a file that fails to load rejects with the file, document and field path", async () => {
    dir = await ConfigDir.create(breakWeight(await exampleMesh({ ports: [18001, 18002] })));
    let failure: unknown;
    await serveMesh({ config: dir.file, port: 0, log: () => {} }).then(
      (s) => (server = s),
      (e: unknown) => (failure = e),
    );
    expect(failure).to.be.instanceOf(Error);
    expect((failure as Error).message).to.include(`${dir.file}: document 3 (VirtualService kitex-server): spec.http[2].route[0].weight: expected an integer`);
  });

  it("NackLog: a client's NACK is logged once with its reason, also when not verbose", async () => {
    await start(await exampleMesh({ ports: [18001, 18002] }));
    // What rxds serve serves passes the built-in validation; a client with a stricter hook NACKs it.
    const strict = messageType(RouteConfigurationSchema, {
      deletedByOmission: false,
      validate: () => {
        throw new Error("virtual_hosts: this client takes none");
      },
    });
    const xds = new XdsClient({
      servers: [{ uri: server?.address ?? "" }],
      node: { id: "sidecar~127.0.0.1~strict.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc" } },
      resourceTypes: [strict],
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    clients.push(xds);
    // Held open so that the client keeps the subscription it answers.
    xds.watch(strict, routeName).subscribe();
    const update = await next(xds.watch(strict, routeName), (u: ResourceUpdate<unknown>) => u.error !== undefined);
    expect(update.error?.message).to.include("this client takes none");
    expect(await log.line("NACK RDS")).to.match(/^stream \d+ NACK RDS \(nonce \d+, no version yet\): .*virtual_hosts: this client takes none/);
    expect(log.lines.filter((l) => l.includes(" NACK "))).to.have.length(1);
  });

  it("SeveralSources: a file, a directory (recursively, hidden names skipped) and stdin are served as one config; an edit in the directory reloads", async () => {
    const text = await exampleMesh({ ports: [18001, 18002] });
    const split = text.indexOf("---\napiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule");
    const vsAt = text.indexOf("---\napiVersion: networking.istio.io/v1alpha3\nkind: VirtualService");
    dir = await ConfigDir.create(text.slice(0, split));
    await mkdir(join(dir.dir, "conf", "nested"), { recursive: true });
    await writeFile(join(dir.dir, "conf", "nested", "vs.yml"), text.slice(vsAt + 4));
    await writeFile(join(dir.dir, "conf", ".hidden.yaml"), "not: [valid");
    await writeFile(join(dir.dir, "conf", "notes.txt"), "not: [valid");
    log = new MemoryLog();
    const stdin = Readable.from([text.slice(split + 4, vsAt)]);
    server = await serveMesh({ config: [dir.file, join(dir.dir, "conf"), "-"], port: 0, log: log.log, stdin });
    expect(log.lines[0]).to.include("(1 ServiceEntry, 1 DestinationRule, 1 VirtualService, 0 raw)");
    await next(client({ GENERATOR: "grpc" }, false).routeConfiguration(routeName), present);
    const xds = client({ GENERATOR: "grpc", NAMESPACE: "default" });
    const before = await next(xds.routeConfiguration(routeName), present);
    const edited = text.slice(vsAt + 4).replace("timeout: 0.5s", "timeout: 0.7s");
    await writeFile(join(dir.dir, "conf", "nested", "vs.yml"), edited);
    expect(await log.line("reloaded ")).to.include("RDS outbound|8888||kitex-server.default.svc.cluster.local (grpc, grpc/default~127.0.0.1)");
    expect((await next(xds.routeConfiguration(routeName), (u: ResourceUpdate<unknown>) => u.version !== before.version)).resource).to.not.equal(undefined);
    // A broken file in the directory names that file.
    await writeFile(join(dir.dir, "conf", "nested", "vs.yml"), edited.replace("weight: 50", 'weight: "x"'));
    expect(await log.line("error: reload failed")).to.include(`${join(dir.dir, "conf", "nested", "vs.yml")}: document 1 (VirtualService kitex-server): spec.http[2].route[0].weight`);
  });

  it("ConfigDump: the debug endpoint shows what a node gets, as JSON or YAML", async () => {
    dir = await ConfigDir.create(await exampleMesh({ ports: [18001, 18002] }));
    log = new MemoryLog();
    server = await serveMesh({ config: dir.file, port: 0, log: log.log, debugPort: 0 });
    expect(log.lines[1]).to.equal(`config dump at http://${server.debugAddress}/debug/config_dump?node=GENERATOR=grpc&node=NAMESPACE=default`);
    const json = (await (await fetch(`http://${server.debugAddress}/debug/config_dump?node=GENERATOR=grpc&node=NAMESPACE=default`)).json()) as {
      view: string;
      listeners: { name: string }[];
      routes: { name: string }[];
    };
    expect(json.view).to.equal("grpc/default");
    expect(json.listeners.map((l) => l.name)).to.include.members([target, "kitex-server:8888", "kitex-server.default:8888"]);
    expect(json.routes.map((r) => r.name)).to.deep.equal([routeName]);
    const yaml = await (await fetch(`http://${server.debugAddress}/debug/config_dump?node=sidecar~10.0.0.1~a.default~default.svc.cluster.local&format=yaml`)).text();
    expect(yaml).to.match(/^view: sidecar\/default~10\.0\.0\.1\n/).and.include("name: 0.0.0.0_8888").and.include("nameTable:");
    expect((await fetch(`http://${server.debugAddress}/other`)).status).to.equal(404);
  });

  it("VerboseLog: connects, subscriptions and ACKs are one line each", async () => {
    await start(await exampleMesh({ ports: [18001, 18002] }), true);
    const xds = client({ GENERATOR: "grpc", NAMESPACE: "default" });
    // Held open so that the stream stays up (the client ends it with its last watch).
    xds.listener(target).subscribe();
    await next(xds.listener(target), present);
    expect(await log.line("connected from 127.0.0.1:")).to.match(/^stream \d+ connected from 127\.0\.0\.1:\d+: node sidecar~127\.0\.0\.1~client-0\.default~default\.svc\.cluster\.local \(view grpc\/default~127\.0\.0\.1\)$/);
    expect(await log.line("subscribes LDS")).to.match(new RegExp(`^stream \\d+ subscribes LDS: ${target}$`));
    expect(await log.line("ACK LDS")).to.match(/^stream \d+ ACK LDS version \d+$/);
  });

  it("QuietLog: without verbose only the start line is logged while clients come and go", async () => {
    await start(await exampleMesh({ ports: [18001, 18002] }));
    const xds = client({ GENERATOR: "grpc" });
    xds.listener(target).subscribe();
    await next(xds.routeConfiguration(routeName), present);
    expect(log.lines).to.have.length(1);
    expect(log.lines[0]).to.match(/^serving /);
  });
});

describe("rxds serve (the command)", () => {
  let dir: ConfigDir | undefined;

  afterEach(async () => {
    await dir?.remove();
    dir = undefined;
  });

  it("CliBrokenStart: exits 1 with the field path on stderr", async () => {
    dir = await ConfigDir.create(breakWeight(await exampleMesh({ ports: [18001, 18002] })));
    const result = await runCli(["serve", "--config", dir.file, "--port", "0"]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include("document 3 (VirtualService kitex-server): spec.http[2].route[0].weight");
  });

  it("CliUsage: a usage error exits 2 with the usage; --help prints it and exits 0", async () => {
    const missing = await runCli(["serve"]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include("--config <path> is required").and.include("usage: rxds serve");
    const unknown = await runCli(["serve", "--config", "x.yaml", "--bogus"]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include("--bogus");
    const port = await runCli(["serve", "--config", "x.yaml", "--port", "99999"]);
    expect(port.code).to.equal(2);
    expect(port.stderr).to.include("--port: expected a port number 0..65535");
    const help = await runCli(["--help"]);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include("usage: rxds serve --config <path>...");
  });

  it("CliPrint: --print --node prints what that node would be served, as YAML or JSON, and exits 0", async () => {
    dir = await ConfigDir.create(await exampleMesh({ ports: [18001, 18002] }));
    const json = await runCli(["serve", "--config", dir.file, "--print", "--node", "GENERATOR=grpc", "--node", "NAMESPACE=default", "--output", "json"]);
    expect(json.code).to.equal(0);
    const dump = JSON.parse(json.stdout) as { view: string; clusters: { name: string }[]; endpoints: { clusterName: string }[] };
    expect(dump.view).to.equal("grpc/default");
    // Sorted by name ("|" sorts after letters).
    expect(dump.clusters.map((c) => c.name)).to.deep.equal([
      "outbound|8888|v1|kitex-server.default.svc.cluster.local",
      "outbound|8888|v2|kitex-server.default.svc.cluster.local",
      "outbound|8888||kitex-server.default.svc.cluster.local",
    ]);
    expect(dump.endpoints[0]?.clusterName).to.equal("outbound|8888|v1|kitex-server.default.svc.cluster.local");
    const yaml = await runCli(["serve", "-c", dir.file, "--print", "--node", "sidecar~10.0.0.1~a.default~default.svc.cluster.local"]);
    expect(yaml.code).to.equal(0);
    expect(yaml.stdout).to.match(/^view: sidecar\/default~10\.0\.0\.1\n/).and.include('"@type": type.googleapis.com/envoy.config.listener.v3.Listener');
    const missing = await runCli(["serve", "-c", dir.file, "--print"]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include("--print: needs --node <node>");
  });

  it("CliShutdown: serves a good file and exits 0 on SIGTERM", async () => {
    dir = await ConfigDir.create(await exampleMesh({ ports: [18001, 18002] }));
    let signalled = false;
    const result = await runCli(["serve", "--config", dir.file, "--port", "0"], (stderr, child) => {
      if (!signalled && /serving .* on 127\.0\.0\.1:\d+/.test(stderr)) {
        signalled = true;
        child.kill("SIGTERM");
      }
    });
    expect(result.stderr).to.include("SIGTERM: shutting down");
    expect(result.code).to.equal(0);
  });
});
