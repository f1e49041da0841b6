import { expect } from "chai";
import * as own from "@grpc/grpc-js";
import * as other from "grpc-js-other";
import { xdsChannelOf, xdsClientOptions } from "rxds/grpc";
import { createRequire } from "node:module";
import type { HelloRequest, HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { greetServiceDefinition, GreetServiceClient, hello } from "../support/greet-backend.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { greetMeshPerTest } from "./greet-mesh.js";
import { eventually } from "./eventually.js";

// "grpc-js-other" is @grpc/grpc-js at the lowest version of rxds's peer range, installed under an npm
// alias: a second copy, as an application gets when it depends on another version than a library.
const target = `${kitexHost}:8888`;
const peerRange = (createRequire(import.meta.url)("../../../package.json") as { peerDependencies: Record<string, string> }).peerDependencies["@grpc/grpc-js"]!;
const otherVersion = (createRequire(import.meta.url)("grpc-js-other/package.json") as { version: string }).version;

/** The GreetService client class as grpc-js-other's own makeGenericClientConstructor makes it. */
const OtherGreetClient = other.makeGenericClientConstructor(greetServiceDefinition as unknown as other.ServiceDefinition, "GreetService");
type OtherClient = InstanceType<typeof OtherGreetClient>;

function call(client: OtherClient, method: "SayHello" | "SayHello1", metadata = new other.Metadata(), options: other.CallOptions = {}): Promise<string> {
  return new Promise((resolve, reject) =>
    client[method]!(hello(), metadata, options, (error: other.ServiceError | null, response?: HelloResponse) =>
      error ? reject(error) : resolve(response!.message),
    ),
  );
}

function canary(): other.Metadata {
  const metadata = new other.Metadata();
  metadata.set("stage", "canary");
  return metadata;
}

describe(`rxds/grpc with a client from another copy of grpc-js (${otherVersion}, the lowest of the peer range ${peerRange})`, () => {
  const mesh = greetMeshPerTest();

  function otherClient(): OtherClient {
    const client = new OtherGreetClient(target, other.credentials.createInsecure(), xdsClientOptions(mesh.xds));
    mesh.clients.push(client);
    return client;
  }

  it("is a distinct copy, at the lowest version of the peer range", () => {
    expect(other.ChannelCredentials).to.not.equal(own.ChannelCredentials);
    expect(other.credentials.createInsecure()).to.not.be.instanceOf(own.ChannelCredentials);
    expect(peerRange).to.equal(`^${otherVersion}`);
  });

  it("routes unary calls by header and by method to real backends, over channels of the client's copy", async () => {
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port, [0, 100]), "grpc");
    const client = otherClient();
    expect(await call(client, "SayHello1", canary())).to.equal("v1");
    expect(mesh.v1.calls.at(-1)!.headers).to.include({ stage: "canary" });
    expect(await call(client, "SayHello1")).to.equal("v2");
    expect(await call(client, "SayHello")).to.equal("v2");
    // The SayHello route's 0.5 s timeout became the call's deadline.
    expect(mesh.v2.calls.at(-1)!.deadlineMs).to.be.within(300, 500);
    expect(xdsChannelOf(client)!.openEndpoints()).to.have.members([`127.0.0.1:${mesh.v1.port}`, `127.0.0.1:${mesh.v2.port}`]);
  });

  it("serves a client of each copy from one XdsClient", async () => {
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port), "grpc");
    const ownClient = new GreetServiceClient(target, own.credentials.createInsecure(), xdsClientOptions(mesh.xds));
    mesh.clients.push(ownClient);
    const served = await Promise.all([
      call(otherClient(), "SayHello"),
      new Promise<string>((resolve, reject) =>
        ownClient.SayHello!(hello(), (error: own.ServiceError | null, response?: HelloResponse) => (error ? reject(error) : resolve(response!.message))),
      ),
    ]);
    expect(served).to.deep.equal(["v2", "v2"]);
  });

  it("routes server and bidi streams at their start", async () => {
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port, [0, 100]), "grpc");
    const client = otherClient();
    const replies: string[] = [];
    for await (const response of client.SayHelloStream!(hello(), canary())) replies.push((response as HelloResponse).message);
    expect(replies).to.deep.equal(["v1#0", "v1#1", "v1#2"]);

    const chat = (client.Chat as (metadata: other.Metadata) => other.ClientDuplexStream<HelloRequest, HelloResponse>)(new other.Metadata());
    const chatted: string[] = [];
    chat.on("data", (response: HelloResponse) => chatted.push(response.message));
    const ended = new Promise<void>((resolve, reject) => chat.on("error", reject).on("status", () => resolve()));
    chat.write(hello("a"));
    chat.end();
    await ended;
    expect(chatted).to.deep.equal(["v2:a"]);
  });

  it("makes a wait-for-ready call made while the control plane is down wait for it, then succeed (the call that used to crash the process)", async () => {
    const port = Number(mesh.h.address.split(":")[1]);
    await mesh.h.cp.close();
    const client = otherClient();
    const waiting = call(client, "SayHello", new other.Metadata({ waitForReady: true }), { deadline: Date.now() + 5000 });
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port), "grpc");
    await mesh.h.cp.listen({ host: "127.0.0.1", port });
    expect(await waiting).to.equal("v2");
  });

  it("ends a failed call with a status whose metadata is the client's copy's", async () => {
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port).split("  - name: default")[0]!, "grpc");
    const error = await call(otherClient(), "SayHello1").then(
      () => expect.fail("the call succeeded"),
      (reason: other.ServiceError) => reason,
    );
    expect(error.code).to.equal(other.status.UNAVAILABLE);
    expect(error.details).to.include("[NO_ROUTE]");
    expect(error.metadata).to.be.instanceOf(other.Metadata);
  });

  it("closes the endpoint connections with the client", async () => {
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port), "grpc");
    const client = otherClient();
    await Promise.all([call(client, "SayHello"), call(client, "SayHello1", canary())]);
    client.close();
    expect(xdsChannelOf(client)!.openEndpoints()).to.deep.equal([]);
    await eventually(() => mesh.v1.openConnections + mesh.v2.openConnections === 0, "the endpoint connections are closed");
  });
});
