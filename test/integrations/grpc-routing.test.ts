import { expect } from "chai";
import { credentials, Metadata, status, type CallOptions, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";
import type { XdsClient } from "rxds";
import { metainfo, xdsChannelOf, xdsClientOptions, type XdsChannelOptions } from "rxds/grpc";
import { setTimeout as sleep } from "node:timers/promises";
import { filter, firstValueFrom } from "rxjs";
import type { HelloRequest, HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { GreetServiceClient, GrpcGreetBackend, hello } from "../support/greet-backend.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { Harness } from "../support/wire.js";
import { eventually } from "./eventually.js";
import { binomialBounds } from "./split-bounds.js";

const target = `${kitexHost}:8888`;
type GreetClient = InstanceType<typeof GreetServiceClient>;
type Method = "SayHello" | "SayHello1";

/** Calls a unary method; resolves with the answering backend's name, rejects with the ServiceError. */
function call(client: GreetClient, method: Method, metadata = new Metadata(), options: CallOptions = {}): Promise<string> {
  return new Promise((resolve, reject) =>
    client[method]!(hello(), metadata, options, (error: ServiceError | null, response?: HelloResponse) =>
      error ? reject(error) : resolve(response!.message),
    ),
  );
}

function failure(promise: Promise<unknown>): Promise<ServiceError> {
  return promise.then(
    () => expect.fail("the call succeeded"),
    (error: ServiceError) => error,
  );
}

function canary(): Metadata {
  const metadata = new Metadata();
  metadata.set("stage", "canary");
  return metadata;
}

describe("rxds/grpc: a generated grpc-js client routed by xDS", () => {
  let h: Harness;
  let xds: XdsClient;
  let v1: GrpcGreetBackend;
  let v2: GrpcGreetBackend;
  let clients: GreetClient[];

  beforeEach(async () => {
    h = await new Harness().start();
    xds = h.xds();
    [v1, v2] = await Promise.all([GrpcGreetBackend.start("v1"), GrpcGreetBackend.start("v2")]);
    clients = [];
  });

  afterEach(async () => {
    for (const client of clients) client.close();
    await h.stop();
    await Promise.all([v1.stop(), v2.stop()]);
  });

  function meshClient(options: XdsChannelOptions = {}): GreetClient {
    const client = new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds, options));
    clients.push(client);
    return client;
  }

  it("routes by header: metadata stage=canary goes to v1, for either method", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    const client = meshClient();
    for (let i = 0; i < 10; i++) expect(await call(client, "SayHello1", canary())).to.equal("v1");
    expect(await call(client, "SayHello", canary())).to.equal("v1");
    expect(v1.calls.at(-1)!.headers).to.include({ stage: "canary" });
  });

  it("routes by header from the async context: metainfo.withValues({ stage: canary }) goes to v1", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [0, 100]), "grpc");
    const client = meshClient();
    const served = await metainfo.withValues({ stage: "canary" }, async () => {
      await sleep(1); // across an await, too
      return Promise.all([call(client, "SayHello1"), call(client, "SayHello1")]);
    });
    expect(served).to.deep.equal(["v1", "v1"]);
    expect(await call(client, "SayHello1")).to.equal("v2");
  });

  it("MetainfoTravels: metainfo values reach the backend as call metadata, the call's own values winning, and the caller's Metadata is left as it was", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [0, 100]), "grpc");
    const client = meshClient();
    const own = new Metadata();
    own.set("user", "bob");
    await metainfo.withValues({ stage: "canary", user: "alice", "x-trace": "t1" }, () => call(client, "SayHello1", own));
    expect(v1.calls.at(-1)!.headers).to.include({ stage: "canary", user: "bob", "x-trace": "t1" });
    expect(own.toJSON()).to.deep.equal({ user: ["bob"] });
    // Outside any context nothing is added.
    await call(client, "SayHello1", own);
    expect(v2.calls.at(-1)!.headers).to.not.have.property("stage");
  });

  it("MetainfoOptOut: with propagateMetainfo false, metainfo only steers routing; a value gRPC cannot carry fails the call INTERNAL naming the key", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [0, 100]), "grpc");
    const quiet = meshClient({ propagateMetainfo: false });
    expect(await metainfo.withValues({ stage: "canary" }, () => call(quiet, "SayHello1"))).to.equal("v1");
    expect(v1.calls.at(-1)!.headers).to.not.have.property("stage");
    const error = await failure(metainfo.withValues({ "trace-bin": "x" }, () => call(meshClient(), "SayHello1")));
    expect(error.code).to.equal(status.INTERNAL);
    expect(error.details).to.match(/^xDS call \/proxyless\.GreetService\/SayHello1: metainfo "trace-bin" cannot travel with the call \(.*\); use a valid header name and value, or turn propagateMetainfo off$/);
  });

  it("routes by method: SayHello goes to v2", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    const client = meshClient();
    for (let i = 0; i < 10; i++) expect(await call(client, "SayHello")).to.equal("v2");
    expect(v1.calls).to.have.length(0);
  });

  it("splits unmatched calls by weight: 70/30 over 300 calls, within bounds failing a fair split with p < 1e-6", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [70, 30]), "grpc");
    const client = meshClient();
    const served = await Promise.all(Array.from({ length: 300 }, () => call(client, "SayHello1")));
    const onV1 = served.filter((name) => name === "v1").length;
    const [lo, hi] = binomialBounds(300, 0.7);
    expect(onV1).to.be.within(lo, hi);
    expect(served.length - onV1).to.equal(v2.calls.length);
    // One pooled channel per endpoint, reused by all 300 calls.
    expect(xdsChannelOf(client)!.openEndpoints().sort()).to.deep.equal([`127.0.0.1:${v1.port}`, `127.0.0.1:${v2.port}`].sort());
  });

  it("applies the route timeout (0.5 s) as the deadline, unless the caller's own is shorter", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    const client = meshClient();
    await call(client, "SayHello");
    expect(v2.calls.at(-1)!.deadlineMs).to.be.within(300, 500);
    await call(client, "SayHello", new Metadata(), { deadline: Date.now() + 5000 });
    expect(v2.calls.at(-1)!.deadlineMs).to.be.within(300, 500);
    await call(client, "SayHello", new Metadata(), { deadline: Date.now() + 200 });
    expect(v2.calls.at(-1)!.deadlineMs).to.be.within(50, 200);
  });

  it("leaves the caller's deadline alone when the route has no timeout (0 means none, not 'expire now')", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [100, 0]).replaceAll("timeout: 0.5s", "timeout: 0s"), "grpc");
    const client = meshClient();
    expect(await call(client, "SayHello")).to.equal("v2");
    expect(v2.calls.at(-1)!.deadlineMs).to.equal(undefined);
    await call(client, "SayHello", new Metadata(), { deadline: Date.now() + 3000 });
    expect(v2.calls.at(-1)!.deadlineMs).to.be.within(2000, 3000);
  });

  it("closes an endpoint's channel when the endpoint leaves the snapshot, and says why calls to its subset fail", async () => {
    const mesh = kitexMesh(v1.port, v2.port);
    serveMesh(h.cp, mesh, "grpc");
    const client = meshClient();
    expect(await call(client, "SayHello")).to.equal("v2");
    expect(await call(client, "SayHello1", canary())).to.equal("v1");
    const channel = xdsChannelOf(client)!;
    expect(channel.openEndpoints()).to.have.members([`127.0.0.1:${v1.port}`, `127.0.0.1:${v2.port}`]);
    await eventually(() => v2.openConnections === 1, "v2 has the pooled connection");

    serveMesh(h.cp, mesh.split("\n").filter((line) => !(line.includes("address: 127.0.0.1,") && line.includes("version: v2"))).join("\n"), "grpc");
    await eventually(() => !channel.openEndpoints().includes(`127.0.0.1:${v2.port}`), "v2's channel leaves the pool");
    expect(channel.openEndpoints()).to.deep.equal([`127.0.0.1:${v1.port}`]);
    await eventually(() => v2.openConnections === 0, "v2's connection is closed");
    expect(v1.openConnections).to.equal(1);

    const error = await failure(call(client, "SayHello"));
    expect(error.code).to.equal(status.UNAVAILABLE);
    expect(error.details).to.include("/proxyless.GreetService/SayHello").and.include(`outbound|8888|v2|${kitexHost}`).and.include("NO_HEALTHY_ENDPOINT");
    expect(await call(client, "SayHello1", canary())).to.equal("v1");
  });

  it("fails a call no route matches with UNAVAILABLE, naming the path and the virtual host", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port).split("  - name: default")[0]!, "grpc");
    const client = meshClient();
    const error = await failure(call(client, "SayHello1"));
    expect(error.code).to.equal(status.UNAVAILABLE);
    expect(error.details).to.match(/^xDS routing of \/proxyless\.GreetService\/SayHello1 failed: no route of virtual host ".+" \(target ".+"\) matches path "\/proxyless\.GreetService\/SayHello1" \[NO_ROUTE\]$/);
    expect(v1.calls.length + v2.calls.length).to.equal(0);
  });

  /** Takes the control plane offline, so that a client made now gets no snapshot until `online()`. */
  async function offline(): Promise<() => Promise<void>> {
    const port = Number(h.address.split(":")[1]);
    await h.cp.close();
    return async () => {
      await h.cp.listen({ host: "127.0.0.1", port });
    };
  }

  it("Unreachable: a call that is not wait-for-ready fails UNAVAILABLE at once when the control plane cannot be reached, naming the server and why", async () => {
    const port = Number(h.address.split(":")[1]);
    await offline();
    const error = await failure(call(meshClient(), "SayHello", new Metadata(), { deadline: Date.now() + 5000 }));
    expect(error.code).to.equal(status.UNAVAILABLE);
    expect(error.details).to.match(new RegExp(`^xDS routing of /proxyless\\.GreetService/SayHello failed: listener ".+" for target ".+" has no usable version: xDS server 127\\.0\\.0\\.1:${port} is unavailable: .*ECONNREFUSED.* \\[CONTROL_PLANE_UNAVAILABLE\\]$`));
  });

  it("FirstSnapshot: while the control plane is reachable but has not answered yet, a call waits for the first snapshot, then succeeds", async () => {
    const client = meshClient();
    const unary = call(client, "SayHello", new Metadata(), { deadline: Date.now() + 5000 });
    // Connected, asked, answered with an empty listener set: the listener is neither there nor known absent.
    await h.nextRequest((r) => r.typeUrl.endsWith("Listener") && r.responseNonce !== "");
    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    expect(await unary).to.equal("v2");
  });

  it("WaitForReady: a wait-for-ready call made while the control plane is down waits for it, streams included, then succeeds", async () => {
    const online = await offline();
    const client = meshClient();
    const unary = call(client, "SayHello", new Metadata({ waitForReady: true }), { deadline: Date.now() + 5000 });
    const metadata = new Metadata({ waitForReady: true });
    metadata.set("stage", "canary");
    const chat = (client.Chat as (metadata: Metadata) => ClientDuplexStream<HelloRequest, HelloResponse>)(metadata);
    const replies: string[] = [];
    chat.on("data", (response: HelloResponse) => replies.push(response.message));
    const chatEnded = new Promise<void>((resolve, reject) => chat.on("error", reject).on("status", () => resolve()));
    chat.write(hello("a"));
    chat.write(hello("b"));
    chat.end();
    // Until the control plane answers, its errors are what the calls wait through.
    await firstValueFrom(xds.status$.pipe(filter((s) => s.resources.some((r) => r.error !== undefined))));
    expect(xdsChannelOf(client)!.openEndpoints()).to.deep.equal([]);

    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    await online();
    expect(await unary).to.equal("v2");
    await chatEnded;
    expect(replies).to.deep.equal(["v1:a", "v1:b"]);
  });

  it("WaitForReadyDeadline: a wait-for-ready call whose deadline passes while the control plane is down fails DEADLINE_EXCEEDED, saying what it waited through", async () => {
    await offline();
    const client = meshClient();
    const error = await failure(call(client, "SayHello", new Metadata({ waitForReady: true }), { deadline: Date.now() + 300 }));
    expect(error.code).to.equal(status.DEADLINE_EXCEEDED);
    expect(error.details).to.match(/^deadline exceeded while \/proxyless\.GreetService\/SayHello waited for xDS to route it, which failed: .* is unavailable: .* \[CONTROL_PLANE_UNAVAILABLE\]$/);
  });

  it("routes a server stream at its start, by its metadata", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [0, 100]), "grpc");
    const client = meshClient();
    const stream = client.SayHelloStream!(hello(), canary());
    const replies: string[] = [];
    for await (const response of stream) replies.push((response as HelloResponse).message);
    expect(replies).to.deep.equal(["v1#0", "v1#1", "v1#2"]);
  });

  it("lets a custom metaExtractor replace the default: call metadata and metainfo are then ignored", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [0, 100]), "grpc");
    const lane = meshClient({ metaExtractor: ({ metadata }) => ({ stage: metadata.get("x-lane")[0] === "gray" ? "canary" : "stable" }) });
    const gray = new Metadata();
    gray.set("x-lane", "gray");
    expect(await call(lane, "SayHello1", gray)).to.equal("v1");
    expect(await call(lane, "SayHello1", canary())).to.equal("v2");
    expect(await metainfo.withValues({ stage: "canary" }, () => call(lane, "SayHello1"))).to.equal("v2");
  });

  it("closes every endpoint channel with the client, and then refuses calls", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    const client = meshClient();
    await Promise.all([call(client, "SayHello"), call(client, "SayHello1", canary())]);
    await eventually(() => v1.openConnections === 1 && v2.openConnections === 1, "both backends connected");
    client.close();
    expect(xdsChannelOf(client)!.openEndpoints()).to.deep.equal([]);
    await eventually(() => v1.openConnections === 0 && v2.openConnections === 0, "both connections closed");
    expect(() => client.SayHello!(hello(), () => undefined)).to.throw(/closed/);
  });
});
