import { expect } from "chai";
import { connect } from "node:net";
import type { XdsClient } from "rxds";
import { createXdsThriftClient, metainfo, type ThriftProtocolKind, type XdsThriftClient } from "rxds/thrift";
import { GreetService, HelloRequest } from "../../gen/thrift/proxyless/index.js";
import { thrown } from "../support/thrown.js";
import { serveMesh } from "../support/mesh.js";
import { ThriftGreetBackend, type ServerTransportKind } from "../../examples/thrift-greet-backend.js";
import { thriftMesh, thriftRoutes } from "../support/thrift-mesh.js";
import { sidecarNode, thriftTarget as target } from "../support/thrift-calls.js";
import { Harness } from "../support/wire.js";


describe("rxds/thrift: transports, protocols and THeader key-values", () => {
  let h: Harness;
  let xds: XdsClient;
  let backends: ThriftGreetBackend[];
  let clients: XdsThriftClient<GreetService.Client>[];

  beforeEach(async () => {
    h = await new Harness().start();
    xds = h.xds({ node: sidecarNode });
    backends = [];
    clients = [];
  });

  afterEach(async () => {
    for (const client of clients) client.close();
    await h.stop();
    await Promise.all(backends.map((b) => b.stop()));
  });

  async function mesh(transport: ServerTransportKind, protocol: ThriftProtocolKind): Promise<[ThriftGreetBackend, ThriftGreetBackend, XdsThriftClient<GreetService.Client>]> {
    const [v1, v2] = await Promise.all([ThriftGreetBackend.start("v1", transport, protocol), ThriftGreetBackend.start("v2", transport, protocol)]);
    backends.push(v1, v2);
    serveMesh(h.cp, thriftMesh(v1.port, v2.port, thriftRoutes([100, 0])), "sidecar");
    const client = createXdsThriftClient(xds, GreetService.Client, { target, service: "proxyless.GreetService", transport, protocol });
    clients.push(client);
    return [v1, v2, client];
  }

  for (const transport of ["framed", "buffered", "header"] as const) {
    for (const protocol of ["binary", "compact"] as const) {
      it(`calls a ${transport} ${protocol} server, concurrent calls on one connection answered in full`, async () => {
        const [v1, v2, greet] = await mesh(transport, protocol);
        const answers = await Promise.all([
          ...Array.from({ length: 20 }, () => greet.client.SayHello1(new HelloRequest({ Message: "x".repeat(3000) }))),
          greet.with({ headers: { tenant: "acme" } }).SayHello(new HelloRequest({ Message: "hi" })),
        ]);
        expect(answers.map((a) => a.Message)).to.deep.equal([...Array(20).fill("v1"), "v2"]);
        expect([v1.calls.length, v2.calls.length]).to.deep.equal([20, 1]);
        expect([v1.openConnections, v2.openConnections]).to.deep.equal([1, 1]);
        // Only THeader carries key-values.
        expect(v2.calls[0]!.headers).to.deep.equal(transport === "header" ? { tenant: "acme" } : {});
      });
    }
  }

  for (const protocol of ["binary", "compact"] as const) {
    it(`sends the call's headers and metainfo as THeader key-values a ${protocol} server reads, each call its own`, async () => {
      const [v1, , greet] = await mesh("header", protocol);
      await metainfo.withValues({ tenant: "acme" }, () => greet.with({ headers: { "x-request-id": "r1" } }).SayHello1(new HelloRequest({ Message: "a" })));
      await greet.client.SayHello1(new HelloRequest({ Message: "b" }));
      await greet.with({ headers: { tenant: "own wins", RPC_PERSIST_trace: "t-9" } }).SayHello1(new HelloRequest({ Message: "c" }));
      await metainfo.withValues({ tenant: "acme" }, () => greet.with({ headers: { tenant: "own wins" } }).SayHello1(new HelloRequest({ Message: "d" })));
      expect(v1.calls.map((c) => c.headers)).to.deep.equal([
        { tenant: "acme", "x-request-id": "r1" },
        {},
        { tenant: "own wins", RPC_PERSIST_trace: "t-9" },
        { tenant: "own wins" },
      ]);
    });
  }

  it("the example backend survives a connection that speaks HTTP/2 to it, and goes on serving", async () => {
    const [, v2, client] = await mesh("framed", "binary"); // SayHello routes to v2
    const socket = connect(v2.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    socket.end("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    await new Promise((resolve) => socket.once("close", resolve));
    expect(v2.connectionErrors.map((e) => e.message)).to.deep.equal(["Frame size 1347569952 larger than the maximum allowed 16384000 bytes"]);
    expect((await client.client.SayHello(new HelloRequest({ Message: "hi" }))).Message).to.equal("v2");
  });

  it("rejects an unknown transport or protocol, naming the option", () => {
    const make = (options: object) => () => createXdsThriftClient(xds, GreetService.Client, { target, service: "proxyless.GreetService", ...options });
    expect(thrown(make({ transport: "zlib" }), "INVALID_ARGUMENT").message).to.include('transport: expected "framed", "buffered", "header" or "ttheader", got "zlib"');
    expect(thrown(make({ protocol: "json" }), "INVALID_ARGUMENT").message).to.include('protocol: expected "binary" or "compact", got "json"');
    expect(thrown(make({ service: "" }), "INVALID_ARGUMENT").message).to.include("service: expected the service's name");
  });
});
