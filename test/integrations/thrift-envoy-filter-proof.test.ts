// Issue 13's proof: Thrift calls through the mesh as kitex users set it up, end to end over loopback. rxds serve reads
// the ServiceEntry, the DestinationRule and kitex-examples' EnvoyFilter (the ThriftProxy in place of the tcp_proxy of
// the service's sidecar listener) from a file, a sidecar-mode rxds/thrift client calls the `thrift` package's servers
// over THeader, and edits of the file reach the client.
import { expect } from "chai";
import { XdsClient, XdsError } from "rxds";
import { serveMesh, type MeshServer } from "rxds/server";
import { createXdsThriftClient, metainfo, type XdsThriftClient } from "rxds/thrift";
import { GreetService } from "../../gen/thrift/proxyless/index.js";
import { ThriftGreetBackend } from "../../examples/thrift-greet-backend.js";
import { ConfigDir, MemoryLog } from "../fixtures/serve-mesh.js";
import { failure, hello, sidecarNode, thriftTarget as target } from "../support/thrift-calls.js";
import { kitexExamplesRoutes } from "../support/envoy-filters.js";
import { subsetCluster, thriftMesh, thriftRoutes } from "../support/thrift-mesh.js";
import { next } from "../support/wire.js";
import { eventually } from "./eventually.js";
import { binomialBounds } from "./split-bounds.js";

describe("rxds/thrift through rxds serve with kitex's EnvoyFilter (issue 13's proof)", function () {
  this.timeout(15000);
  let v1: ThriftGreetBackend;
  let v2: ThriftGreetBackend;
  let dir: ConfigDir;
  let server: MeshServer;
  let xds: XdsClient;
  let greet: XdsThriftClient<GreetService.Client>;
  let log: MemoryLog;

  beforeEach(async () => {
    [v1, v2] = await Promise.all([ThriftGreetBackend.start("v1", "header"), ThriftGreetBackend.start("v2", "header")]);
    dir = await ConfigDir.create(thriftMesh(v1.port, v2.port, thriftRoutes([30, 70])));
    log = new MemoryLog();
    server = await serveMesh({ config: dir.file, port: 0, log: log.log });
    xds = new XdsClient({ servers: [{ uri: server.address }], node: sidecarNode });
    greet = createXdsThriftClient(xds, GreetService.Client, { target, service: "proxyless.GreetService", transport: "header", timeoutMs: 5000 });
  });

  afterEach(async () => {
    greet?.close();
    await xds?.close();
    await server?.close();
    await Promise.all([v1?.stop(), v2?.stop()]);
    await dir?.remove();
  });

  /** Writes `text` as the config and waits until rxds serve has served it. */
  async function edit(text: string): Promise<void> {
    const lines = log.lines.length;
    await dir.write(text);
    await log.line("reloaded ", lines);
  }

  it("MethodAndHeader: SayHello goes to v2; stage: canary to v1 for either method, from the call's headers or set only in metainfo", async () => {
    expect((await greet.client.SayHello(hello())).Message).to.equal("v2");
    expect((await greet.with({ headers: { stage: "canary" } }).SayHello(hello())).Message).to.equal("v1");
    expect((await greet.with({ headers: { stage: "canary" } }).SayHello1(hello())).Message).to.equal("v1");
    const fromMetainfo = await metainfo.withValues({ stage: "canary" }, () => Promise.all([greet.client.SayHello(hello()), greet.client.SayHello1(hello())]));
    expect(fromMetainfo.map((response) => response.Message)).to.deep.equal(["v1", "v1"]);
  });

  it("WeightedSplit: the other calls split 30/70 by the ThriftProxy route's weights, within binomial bounds at p < 1e-6", async () => {
    const n = 600;
    let toV1 = 0;
    for (let i = 0; i < n; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => greet.client.SayHello1(hello())));
      toV1 += batch.filter((response) => response.Message === "v1").length;
    }
    expect(toV1).to.be.within(...binomialBounds(n, 0.3));
  });

  it("THeader: the server reads the key-values the call sent, its headers merged with metainfo", async () => {
    await metainfo.withValues({ tenant: "acme", stage: "canary" }, () => greet.with({ headers: { "x-request-id": "r1" } }).SayHello1(hello()));
    expect(v1.calls.at(-1)?.headers).to.deep.equal({ tenant: "acme", stage: "canary", "x-request-id": "r1" });
  });

  it("NoRoute: once an edit leaves SayHello1 no route, its calls fail with NO_ROUTE naming the route configuration and method; SayHello still goes to v2", async () => {
    await edit(thriftMesh(v1.port, v2.port, thriftRoutes("no default")));
    await next(xds.router(target), (router) => {
      const decision = router.routeThrift({ service: "GreetService", method: "SayHello1", headers: {} });
      if (decision instanceof XdsError) return true;
      decision.done();
      return false;
    });
    const failed = await failure(greet.client.SayHello1(hello()));
    expect(failed.code).to.equal("NO_ROUTE");
    expect(failed.message).to.include('no route of thrift route configuration "kitex-server-thrift"').and.include('method "SayHello1"');
    expect((await greet.client.SayHello(hello())).Message).to.equal("v2");
  });

  it("EndpointRemoval: an edit that removes v2's instance closes v2's pooled connection; v1's stays open", async () => {
    await Promise.all(Array.from({ length: 20 }, () => greet.client.SayHello1(hello())));
    expect(greet.openEndpoints()).to.have.members([`127.0.0.1:${v1.port}`, `127.0.0.1:${v2.port}`]);
    expect([v1.openConnections, v2.openConnections]).to.deep.equal([1, 1]);
    await edit(thriftMesh(v1.port, undefined, thriftRoutes([30, 70])));
    await eventually(() => v2.openConnections === 0, "v2's connection closed");
    expect(greet.openEndpoints()).to.deep.equal([`127.0.0.1:${v1.port}`]);
    expect(v1.openConnections).to.equal(1);
  });

  it("KitexExamplesRoutes: with kitex-examples' own routes (SayHello2 split 50/50, shadowing its canary route), the client splits SayHello2 calls, canary or not, and routes no other method", async () => {
    await edit(thriftMesh(v1.port, v2.port, kitexExamplesRoutes("default")));
    const router = await next(xds.router(target), (r) => r.snapshot.listener?.thriftProxies[0]?.routes.kind === "inline" && r.snapshot.listener.thriftProxies[0].routes.routeConfig.routes.length === 2);
    const picked = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const decision = router.routeThrift({ service: "GreetService", method: "SayHello2", headers: i % 2 === 0 ? { stage: "canary" } : {} });
      if (decision instanceof XdsError) expect.fail(decision.message);
      expect(decision.routeIndex).to.equal(0);
      picked.set(decision.cluster, (picked.get(decision.cluster) ?? 0) + 1);
      decision.done();
    }
    expect(picked.get(subsetCluster("v1"))).to.be.within(...binomialBounds(200, 0.5));
    expect((router.routeThrift({ service: "GreetService", method: "SayHello", headers: { stage: "canary" } }) as XdsError).code).to.equal("NO_ROUTE");
    expect((await failure(greet.client.SayHello(hello()))).code).to.equal("NO_ROUTE");
  });
});
