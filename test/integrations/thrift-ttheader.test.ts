import { expect } from "chai";
import type { XdsClient } from "rxds";
import { createXdsThriftClient, metainfo, type ThriftProtocolKind, type XdsThriftClient, type XdsThriftClientOptions } from "rxds/thrift";
import { GreetService } from "../../gen/thrift/proxyless/index.js";
import { serveMesh } from "../support/mesh.js";
import { failure, hello, sidecarNode, thriftTarget as target } from "../support/thrift-calls.js";
import { thriftMesh, thriftRoutes } from "../support/thrift-mesh.js";
import { kitexMetainfo, TTHeaderGreetServer } from "../support/ttheader-greet-server.js";
import { Harness } from "../support/wire.js";

type Greet = XdsThriftClient<GreetService.Client>;

describe("rxds/thrift: Kitex's TTHeader", () => {
  let h: Harness;
  let xds: XdsClient;
  let v1: TTHeaderGreetServer;
  let v2: TTHeaderGreetServer;
  let clients: Greet[];

  beforeEach(async () => {
    h = await new Harness().start();
    xds = h.xds({ node: sidecarNode });
    [v1, v2] = await Promise.all([TTHeaderGreetServer.start("v1"), TTHeaderGreetServer.start("v2")]);
    clients = [];
  });

  afterEach(async () => {
    for (const client of clients) client.close();
    await h.stop();
    await Promise.all([v1.stop(), v2.stop()]);
    expect([...v1.errors, ...v2.errors]).to.deep.equal([]);
  });

  /** A TTHeader client of the README's mesh (stage: canary → v1, SayHello → v2, the rest split `split`). */
  function meshClient(options: Partial<XdsThriftClientOptions> = {}, split: [number, number] = [100, 0]): Greet {
    serveMesh(h.cp, thriftMesh(v1.port, v2.port, thriftRoutes(split)), "sidecar");
    const client = createXdsThriftClient(xds, GreetService.Client, { target, service: "proxyless.GreetService", transport: "ttheader", ...options });
    clients.push(client);
    return client;
  }

  for (const [protocol, protocolId] of [["binary", 0], ["compact", 2]] as [ThriftProtocolKind, number][]) {
    it(`writes each ${protocol} call as one TTHeader frame (protocol id ${protocolId}) with its sequence id, the IDL service and the method; concurrent calls on one connection answered in full`, async () => {
      const greet = meshClient({ protocol });
      const answers = await Promise.all([
        ...Array.from({ length: 20 }, () => greet.client.SayHello1(hello("x".repeat(3000)))),
        greet.client.SayHello(hello()),
      ]);
      expect(answers.map((a) => a.Message)).to.deep.equal([...Array(20).fill("v1"), "v2"]);
      expect([v1.frames.length, v2.frames.length, v1.accepted, v2.accepted]).to.deep.equal([20, 1, 1, 1]);
      for (const frame of [...v1.frames, ...v2.frames]) {
        expect(frame.protocolId).to.equal(protocolId);
        expect(frame.flags).to.equal(0);
        expect(frame.seqId).to.equal(frame.messageSeqId);
        expect(frame.strings).to.deep.equal({ isn: "GreetService" });
        expect(frame.ints).to.deep.equal({ 9: frame.method }); // TO_METHOD
      }
      expect(new Set(v1.frames.map((f) => f.seqId)).size).to.equal(20);
      expect(v2.frames[0]!.method).to.equal("SayHello");
    });
  }

  it("carries the call's headers and metainfo as Kitex transient metainfo; keys with Kitex's prefixes travel as given", async () => {
    const greet = meshClient();
    await metainfo.withValues({ tenant: "acme" }, () => greet.with({ headers: { "x-request-id": "r1" } }).SayHello1(hello()));
    await greet.with({ headers: { RPC_PERSIST_traceId: "t-9", rpc_transit_Lane: "blue", tenant: "own" } }).SayHello1(hello());
    await metainfo.withValues({ RPC_PERSIST_trace: "t-1", tenant: "acme" }, () => greet.with({ headers: { tenant: "own wins" } }).SayHello1(hello()));
    await greet.client.SayHello1(hello());
    expect(v1.frames.map((f) => f.strings)).to.deep.equal([
      { isn: "GreetService", "RPC_TRANSIT_x-request-id": "r1", RPC_TRANSIT_tenant: "acme" },
      { isn: "GreetService", RPC_PERSIST_traceId: "t-9", RPC_TRANSIT_Lane: "blue", RPC_TRANSIT_tenant: "own" },
      { isn: "GreetService", RPC_TRANSIT_tenant: "own wins", RPC_PERSIST_trace: "t-1" }, // metainfo lower-cases its keys
      { isn: "GreetService" },
    ]);
    // What a Kitex server's metainfo then holds (metainfo.GetValue / GetPersistentValue).
    expect(v1.frames.map((f) => kitexMetainfo(f.strings))).to.deep.equal([
      { transient: { "x-request-id": "r1", tenant: "acme" }, persistent: {} },
      { transient: { Lane: "blue", tenant: "own" }, persistent: { traceId: "t-9" } },
      { transient: { tenant: "own wins" }, persistent: { trace: "t-1" } },
      { transient: {}, persistent: {} },
    ]);
  });

  it("routes by a header set only in metainfo, and the endpoint it picks receives it as transient metainfo", async () => {
    const greet = meshClient({}, [0, 100]);
    const answers = [
      await metainfo.withValues({ stage: "canary" }, () => greet.client.SayHello1(hello())),
      await greet.client.SayHello1(hello()),
      await greet.client.SayHello(hello()),
    ];
    expect(answers.map((a) => a.Message)).to.deep.equal(["v1", "v2", "v2"]);
    expect(kitexMetainfo(v1.frames[0]!.strings).transient).to.deep.equal({ stage: "canary" });
    expect(v2.frames.map((f) => kitexMetainfo(f.strings).transient)).to.deep.equal([{}, {}]);
  });

  it("sends the call's remaining time as RPC_TIMEOUT (ms), and none without a timeout", async () => {
    const greet = meshClient({ timeoutMs: 5000 });
    await greet.client.SayHello1(hello());
    await greet.with({ timeoutMs: 0 }).SayHello1(hello());
    const [timed, untimed] = v1.frames;
    expect(Number(timed!.ints[12])).to.be.within(4000, 5000);
    expect(untimed!.ints).to.deep.equal({ 9: "SayHello1" });
  });

  it("a reply that is not a TTHeader frame, or whose message its frame cuts short, fails the call with ENDPOINT_UNAVAILABLE saying so; the next call opens a new connection", async () => {
    const greet = meshClient();
    v1.replyAs = "framed";
    const error = await failure(greet.client.SayHello1(hello()));
    expect(error.code).to.equal("ENDPOINT_UNAVAILABLE");
    expect(error.message).to.match(
      new RegExp(`^xDS thrift call /proxyless\\.GreetService/SayHello1 to endpoint 127\\.0\\.0\\.1:${v1.port} failed: the connection failed: not a TTHeader frame: bytes 4-5 are 0x8001, not the magic 0x1000$`),
    );
    v1.replyAs = "truncated";
    const cut = await failure(greet.client.SayHello1(hello()));
    expect(cut.code).to.equal("ENDPOINT_UNAVAILABLE");
    expect(cut.message).to.match(/failed: the connection failed: a Thrift message runs past the end of its TTHeader frame \(a \d+-byte payload\)$/);
    v1.replyAs = "ttheader";
    expect((await greet.client.SayHello1(hello())).Message).to.equal("v1");
    expect(v1.accepted).to.equal(3);
  });

  it("key-values TTHeader cannot carry fail the call with INVALID_ARGUMENT before anything is sent", async () => {
    const greet = meshClient();
    const long = await failure(greet.with({ headers: { huge: "x".repeat(70_000) } }).SayHello1(hello()));
    expect(long.code).to.equal("INVALID_ARGUMENT");
    expect(long.message).to.equal('TTHeader: the key-value "RPC_TRANSIT_huge" is 70000 bytes, over 65535');
    const many = await failure(greet.with({ headers: { a: "x".repeat(40_000), b: "y".repeat(40_000) } }).SayHello1(hello()));
    expect(many.code).to.equal("INVALID_ARGUMENT");
    expect(many.message).to.match(/^TTHeader: the key-values make a 800\d\d-byte header, over Kitex's limit of 65536 bytes$/);
    expect(v1.frames).to.deep.equal([]);
    expect((await greet.with({ headers: { a: "x".repeat(30_000) } }).SayHello1(hello())).Message).to.equal("v1");
  });
});
