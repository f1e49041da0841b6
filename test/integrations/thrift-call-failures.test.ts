import { expect } from "chai";
import { createServer, type AddressInfo } from "node:net";
import { XdsError, type XdsClient } from "rxds";
import { createXdsThriftClient, type XdsThriftClient, type XdsThriftClientOptions } from "rxds/thrift";
import { GreetService } from "../../gen/thrift/proxyless/index.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { ThriftGreetBackend } from "../../examples/thrift-greet-backend.js";
import { subsetCluster, thriftMesh, thriftRoutes } from "../support/thrift-mesh.js";
import { failure, hello, sidecarNode, thriftTarget as target } from "../support/thrift-calls.js";
import { Harness } from "../support/wire.js";
import { eventually } from "./eventually.js";

type Greet = XdsThriftClient<GreetService.Client>;

describe("rxds/thrift: how calls fail", () => {
  let h: Harness;
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

  function meshClient(options: Partial<XdsThriftClientOptions> = {}, xds: XdsClient = h.xds({ node: sidecarNode })): Greet {
    const client = createXdsThriftClient(xds, GreetService.Client, { target, service: "proxyless.GreetService", ...options });
    clients.push(client);
    return client;
  }

  it("a call no route matches fails at once with NO_ROUTE, naming the route configuration, service and method, even wait-for-ready", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port, thriftRoutes("no default")), "sidecar");
    const greet = meshClient({ waitForReady: true });
    const error = await failure(greet.client.SayHello1(hello()));
    expect(error.code).to.equal("NO_ROUTE");
    expect(error.message).to.equal(
      `xDS routing of /proxyless.GreetService/SayHello1 failed: no route of thrift route configuration "kitex-server-thrift" (target "${target}") matches service "GreetService" method "SayHello1" [NO_ROUTE]`,
    );
    expect((await greet.client.SayHello(hello())).Message).to.equal("v2");
  });

  it("a route to a cluster that does not exist fails with CLUSTER_ABSENT, naming the cluster and the route", async () => {
    const routes = thriftRoutes().replace(subsetCluster("v2"), "outbound|8888|v3|" + kitexHost);
    serveMesh(h.cp, thriftMesh(v1.port, v2.port, routes), "sidecar");
    const greet = meshClient({}, h.xds({ node: sidecarNode, doesNotExistTimeoutMs: 200 }));
    const error = await failure(greet.client.SayHello(hello()));
    expect(error.code).to.equal("CLUSTER_ABSENT");
    expect(error.message).to.include(`outbound|8888|v3|${kitexHost}`).and.include("thrift route (route configuration \"kitex-server-thrift\" routes[1])");
  });

  it("a call made before the first snapshot waits for it", async () => {
    const greet = meshClient();
    const call = greet.client.SayHello(hello());
    serveMesh(h.cp, thriftMesh(v1.port, v2.port), "sidecar");
    expect((await call).Message).to.equal("v2");
  });

  it("with the control plane unreachable, a call fails at once with CONTROL_PLANE_UNAVAILABLE; wait-for-ready, at its deadline", async () => {
    const unreachable = h.xds({ node: sidecarNode, servers: [{ uri: "127.0.0.1:1" }] });
    const greet = meshClient({}, unreachable);
    const error = await failure(greet.client.SayHello(hello()));
    expect(error.code).to.equal("CONTROL_PLANE_UNAVAILABLE");
    expect(error.message).to.match(/^xDS routing of \/proxyless\.GreetService\/SayHello failed: .*127\.0\.0\.1:1.* \[CONTROL_PLANE_UNAVAILABLE\]$/);
    const waited = await failure(greet.with({ waitForReady: true, timeoutMs: 200 }).SayHello(hello()));
    expect(waited.code).to.equal("DEADLINE_EXCEEDED");
    expect(waited.message).to.match(/^deadline exceeded while \/proxyless\.GreetService\/SayHello waited for xDS to route it, which failed: .* \[CONTROL_PLANE_UNAVAILABLE\]$/);
  });

  it("the caller's timeout ends a call the server does not answer in time; the connection goes on serving", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port), "sidecar");
    const greet = meshClient({ timeoutMs: 150 });
    const error = await failure(greet.client.SayHello(hello("sleep:1000")));
    expect(error.code).to.equal("DEADLINE_EXCEEDED");
    expect(error.message).to.equal(`deadline exceeded while thrift call /proxyless.GreetService/SayHello waited for endpoint 127.0.0.1:${v2.port} to answer`);
    expect((await greet.client.SayHello(hello())).Message).to.equal("v2");
    expect((await greet.with({ timeoutMs: 0 }).SayHello(hello("sleep:300"))).Message).to.equal("v2"); // 0: no timeout
    expect(v2.openConnections).to.equal(1);
  });

  it("a route's timeout caps the caller's (VirtualService timeout 0.5 s, through kitex's HTTP mapping)", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    const greet = meshClient({ timeoutMs: 60_000 }, h.xds());
    const error = await failure(greet.client.SayHello(hello("sleep:3000")));
    expect(error.code).to.equal("DEADLINE_EXCEEDED");
    expect(error.message).to.include(`endpoint 127.0.0.1:${v2.port}`);
  });

  it("a connection that fails fails the calls on it with ENDPOINT_UNAVAILABLE naming the endpoint; the next call opens a new connection", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port), "sidecar");
    const greet = meshClient();
    const inFlight = greet.client.SayHello(hello("sleep:5000"));
    await eventually(() => v2.calls.length === 1, "v2 got the call");
    const port = v2.port;
    await v2.stop();
    const lost = await failure(inFlight);
    expect(lost.code).to.equal("ENDPOINT_UNAVAILABLE");
    expect(lost.message).to.equal(`xDS thrift call /proxyless.GreetService/SayHello to endpoint 127.0.0.1:${port} failed: the connection closed`);
    const refused = await failure(greet.client.SayHello(hello()));
    expect(refused.code).to.equal("ENDPOINT_UNAVAILABLE");
    expect(refused.message).to.match(new RegExp(`to endpoint 127\\.0\\.0\\.1:${port} failed: the connection failed: .*ECONNREFUSED`));
    v2 = await ThriftGreetBackend.start("v2");
    serveMesh(h.cp, thriftMesh(v1.port, v2.port), "sidecar");
    await eventually(() => !greet.openEndpoints().includes(`127.0.0.1:${port}`), "the old endpoint left the pool");
    expect((await greet.client.SayHello(hello())).Message).to.equal("v2");
  });

  it("an endpoint that answers with something other than Thrift fails the call with ENDPOINT_UNAVAILABLE; nothing escapes", async () => {
    // Like an HTTP server: it reads the request (resume), answers 400 and ends the connection.
    const http = createServer((socket) => socket.resume().end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    try {
      const port = (http.address() as AddressInfo).port;
      serveMesh(h.cp, thriftMesh(v1.port, port), "sidecar");
      const error = await failure(meshClient().client.SayHello(hello()));
      expect(error.code).to.equal("ENDPOINT_UNAVAILABLE");
      expect(error.message).to.equal(`xDS thrift call /proxyless.GreetService/SayHello to endpoint 127.0.0.1:${port} failed: the connection closed`);
    } finally {
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it("the server's exceptions reach the caller as they are", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port), "sidecar");
    const greet = meshClient();
    const error: unknown = await greet.client.SayHello(hello("throw")).then(
      () => expect.fail("the call succeeded"),
      (reason: unknown) => reason,
    );
    expect(error).not.to.be.instanceOf(XdsError);
    expect(error).to.have.property("message", "v2 refuses");
  });

  it("a meta extractor that throws fails the call with INVALID_ARGUMENT", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port), "sidecar");
    const greet = meshClient({ metaExtractor: () => { throw new Error("no tenant"); } });
    const error = await failure(greet.client.SayHello(hello()));
    expect(error.code).to.equal("INVALID_ARGUMENT");
    expect(error.message).to.equal("the xDS meta extractor threw for /proxyless.GreetService/SayHello: no tenant");
  });

  it("close() fails the calls in flight and later calls with CLOSED, and closes every connection", async () => {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port), "sidecar");
    const greet = meshClient();
    const inFlight = greet.client.SayHello(hello("sleep:5000"));
    await eventually(() => v2.calls.length === 1, "v2 got the call");
    greet.close();
    expect((await failure(inFlight)).code).to.equal("CLOSED");
    expect((await failure(greet.client.SayHello1(hello()))).code).to.equal("CLOSED");
    expect(greet.openEndpoints()).to.deep.equal([]);
    await eventually(() => v2.openConnections === 0, "v2's connection closed");
  });
});
