import { expect } from "chai";
import type { XdsClient } from "rxds";
import { createXdsThriftClient, metainfo, type XdsThriftClient, type XdsThriftClientOptions } from "rxds/thrift";
import { setTimeout as sleep } from "node:timers/promises";
import { GreetService, type HelloRequest } from "../../gen/thrift/proxyless/index.js";
import { kitexMesh, serveMesh } from "../support/mesh.js";
import { ThriftGreetBackend } from "../../examples/thrift-greet-backend.js";
import { subsetCluster, thriftMesh, thriftRoutes } from "../support/thrift-mesh.js";
import { hello, sidecarNode, thriftTarget as target } from "../support/thrift-calls.js";
import { Harness } from "../support/wire.js";
import { eventually } from "./eventually.js";
import { binomialBounds } from "./split-bounds.js";

type Greet = XdsThriftClient<GreetService.Client>;

describe("rxds/thrift: a generated Thrift client routed by xDS", () => {
  let h: Harness;
  let xds: XdsClient;
  let v1: ThriftGreetBackend;
  let v2: ThriftGreetBackend;
  let clients: Greet[];

  beforeEach(async () => {
    h = await new Harness().start();
    [v1, v2] = await Promise.all([ThriftGreetBackend.start("v1"), ThriftGreetBackend.start("v2")]);
    clients = [];
  });

  afterEach(async () => {
    for (const client of clients) client.close();
    await h.stop();
    await Promise.all([v1.stop(), v2.stop()]);
  });

  function meshClient(mode: "sidecar" | "grpc" = "sidecar", options: Partial<XdsThriftClientOptions> = {}): Greet {
    xds ??= mode === "sidecar" ? h.xds({ node: sidecarNode }) : h.xds();
    const client = createXdsThriftClient(xds, GreetService.Client, { target, service: "proxyless.GreetService", ...options });
    clients.push(client);
    return client;
  }

  afterEach(() => (xds = undefined as unknown as XdsClient));

  it("routes by method with ThriftProxy routes: SayHello goes to v2, SayHello1 takes the default route", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port, thriftRoutes([100, 0])), "sidecar");
    const greet = meshClient();
    for (let i = 0; i < 5; i++) expect((await greet.client.SayHello(hello())).Message).to.equal("v2");
    for (let i = 0; i < 5; i++) expect((await greet.client.SayHello1(hello())).Message).to.equal("v1");
    expect(v2.calls.map((c) => c.method)).to.deep.equal(Array(5).fill("SayHello"));
  });

  it("tells balancing how each call ended: with a circuit breaker of 2 requests, 20 calls in a row all pass", async () => {
    const mesh = thriftMesh(v1.port, v2.port, thriftRoutes([100, 0])).replace(
      "  host: kitex-server\n",
      "  host: kitex-server\n  trafficPolicy: {connectionPool: {http: {http2MaxRequests: 2}}}\n",
    );
    expect(mesh).to.include("http2MaxRequests: 2");
    serveMesh(h.cp, mesh, "sidecar");
    const greet = meshClient();
    // Were a call's end not reported, the third would find two still in flight and fail CIRCUIT_BREAKER_OPEN.
    for (let i = 0; i < 20; i++) expect((await greet.client.SayHello(hello())).Message).to.equal("v2");
  });

  it("routes by header: a call's header stage=canary goes to v1, for either method", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port, thriftRoutes([0, 100])), "sidecar");
    const greet = meshClient();
    const canary = greet.with({ headers: { stage: "canary" } });
    expect((await canary.SayHello(hello())).Message).to.equal("v1");
    expect((await canary.SayHello1(hello())).Message).to.equal("v1");
    expect((await greet.client.SayHello1(hello())).Message).to.equal("v2");
  });

  it("routes by a header set only in metainfo, across awaits", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port, thriftRoutes([0, 100])), "sidecar");
    const greet = meshClient();
    const served = await metainfo.withValues({ stage: "canary" }, async () => {
      await sleep(1);
      return Promise.all([greet.client.SayHello(hello()), greet.client.SayHello1(hello())]);
    });
    expect(served.map((r) => r.Message)).to.deep.equal(["v1", "v1"]);
    expect((await greet.client.SayHello1(hello())).Message).to.equal("v2");
  });

  it("matches ThriftProxy service_name against the service without its namespace", async () => {
    const byService = `
        - match: {serviceName: "proxyless.GreetService"}
          route: {cluster: "${subsetCluster("v1")}"}
        - match: {serviceName: "GreetService"}
          route: {cluster: "${subsetCluster("v2")}"}`;
    serveMesh(h.cp, thriftMesh(v1.port, v2.port, byService), "sidecar");
    const greet = meshClient();
    expect((await greet.client.SayHello1(hello())).Message).to.equal("v2");
  });

  it("splits the other calls by the routes' weights (30/70), within binomial bounds at p < 1e-6", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port, thriftRoutes([30, 70])), "sidecar");
    const greet = meshClient();
    const n = 1000;
    let toV1 = 0;
    for (let i = 0; i < n; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => greet.client.SayHello1(hello())));
      toV1 += batch.filter((r) => r.Message === "v1").length;
    }
    const [lo, hi] = binomialBounds(n, 0.3);
    expect(toV1).to.be.within(lo, hi);
  });

  it("pools one connection per endpoint and closes it when the endpoint leaves the snapshot", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port, thriftRoutes([50, 50])), "sidecar");
    const greet = meshClient();
    await Promise.all(Array.from({ length: 40 }, () => greet.client.SayHello1(hello())));
    expect(greet.openEndpoints()).to.have.members([`127.0.0.1:${v1.port}`, `127.0.0.1:${v2.port}`]);
    expect(v1.openConnections).to.equal(1);
    expect(v2.openConnections).to.equal(1);

    serveMesh(h.cp, thriftMesh(v1.port, undefined, thriftRoutes([50, 50])), "sidecar");
    await eventually(() => v2.openConnections === 0, "v2's connection closed");
    expect(greet.openEndpoints()).to.deep.equal([`127.0.0.1:${v1.port}`]);
    expect(v1.openConnections).to.equal(1);
  });

  it("lets the calls in flight on a departing endpoint finish before closing its connection", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port, thriftRoutes()), "sidecar");
    const greet = meshClient();
    const slow = greet.client.SayHello(hello("sleep:200")); // SayHello → v2
    await eventually(() => v2.calls.length === 1, "v2 got the call");
    serveMesh(h.cp, thriftMesh(v1.port, undefined, thriftRoutes()), "sidecar");
    await eventually(() => !greet.openEndpoints().includes(`127.0.0.1:${v2.port}`), "v2 left the pool");
    expect(v2.openConnections).to.equal(1);
    expect((await slow).Message).to.equal("v2");
    await eventually(() => v2.openConnections === 0, "v2's connection closed once its call ended");
  });

  it("without a ThriftProxy, routes by the HTTP routes of VirtualServices, as /<service>/<method> (kitex's mapping)", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [0, 100]), "grpc");
    const greet = meshClient("grpc");
    expect((await greet.client.SayHello(hello())).Message).to.equal("v2"); // uri /proxyless.GreetService/SayHello
    expect((await greet.with({ headers: { stage: "canary" } }).SayHello1(hello())).Message).to.equal("v1");
    expect((await greet.client.SayHello1(hello())).Message).to.equal("v2"); // default route, 0/100
  });

  it("also takes a trailing callback instead of returning a promise", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port), "sidecar");
    const greet = meshClient();
    const call = greet.client.SayHello as unknown as (request: HelloRequest, callback: (error: unknown, response?: { Message: string }) => void) => unknown;
    const message = await new Promise<string>((resolve, reject) => {
      const returned = call(hello(), (error, response) => (error ? reject(error as Error) : resolve(response!.Message)));
      expect(returned).to.equal(undefined);
    });
    expect(message).to.equal("v2");
  });
});
