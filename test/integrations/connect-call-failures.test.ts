import { expect } from "chai";
import { Code, ConnectError, createClient, type CallOptions, type Client } from "@connectrpc/connect";
import type { XdsClient } from "rxds";
import { createXdsTransport, type XdsTransport, type XdsTransportOptions } from "rxds/connect";
import { GreetService } from "../../gen/proxyless/greet_pb.js";
import { ConnectGreetBackend } from "../support/greet-backend.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { Harness } from "../support/wire.js";
import { watchEscapes, type Escapes } from "./escapes.js";

const target = `${kitexHost}:8888`;
type GreetClient = Client<typeof GreetService>;

/** The ConnectError a call failed with. */
function failure(promise: Promise<unknown>): Promise<ConnectError> {
  return promise.then(
    () => expect.fail("the call succeeded"),
    (error: unknown) => {
      expect(error).to.be.instanceOf(ConnectError);
      return error as ConnectError;
    },
  );
}

describe("rxds/connect: a failing call rejects with a ConnectError, and nothing escapes as an exception or an unhandled rejection", () => {
  let h: Harness;
  let xds: XdsClient;
  let v1: ConnectGreetBackend;
  let v2: ConnectGreetBackend;
  let transports: XdsTransport[];
  let escapes: Escapes;

  beforeEach(async () => {
    h = await new Harness().start();
    xds = h.xds();
    [v1, v2] = await Promise.all([ConnectGreetBackend.start("v1"), ConnectGreetBackend.start("v2")]);
    transports = [];
    escapes = watchEscapes();
  });

  afterEach(async () => {
    const escaped = await escapes.stop();
    for (const transport of transports) transport.close();
    await h.stop();
    await Promise.all([v1.stop(), v2.stop()]);
    expect(escaped, "unhandled rejections and uncaught exceptions").to.deep.equal([]);
  });

  function meshClient(options: Partial<XdsTransportOptions> = {}): [GreetClient, XdsTransport] {
    const transport = createXdsTransport(xds, { target, ...options });
    transports.push(transport);
    return [createClient(GreetService, transport), transport];
  }

  function sayHello(client: GreetClient, options: CallOptions = {}): Promise<unknown> {
    return client.sayHello({ message: "hi" }, options);
  }

  /** The kitex mesh with v2's endpoint at `address` (an IPv6 literal with a zone, which Node's URL refuses). */
  function meshWithV2At(address: string): string {
    return kitexMesh(v1.port, v2.port).replace(`{address: 127.0.0.1, ports: {grpc: ${v2.port}}`, `{address: "${address}", ports: {grpc: ${v2.port}}`);
  }

  /** Takes the control plane offline; the returned function serves `mesh` and brings it back. */
  async function offline(): Promise<(mesh: string) => Promise<void>> {
    const port = Number(h.address.split(":")[1]);
    await h.cp.close();
    return async (mesh) => {
      serveMesh(h.cp, mesh, "grpc");
      await h.cp.listen({ host: "127.0.0.1", port });
    };
  }

  it("rejects INTERNAL when the meta extractor throws, naming the method and the error", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    const [client] = meshClient({
      metaExtractor: () => {
        throw new Error("no tenant in the context");
      },
    });
    const error = await failure(sayHello(client));
    expect(error.code).to.equal(Code.Internal);
    expect(error.rawMessage).to.equal("the xDS meta extractor threw for /proxyless.GreetService/SayHello: no tenant in the context");
    expect(v1.calls.length + v2.calls.length).to.equal(0);
  });

  it("rejects UNAVAILABLE with the router's reason when routing fails", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port).split("  - name: default")[0]!, "grpc");
    const [client] = meshClient();
    const error = await failure(client.sayHello1({ message: "hi" }));
    expect(error.code).to.equal(Code.Unavailable);
    expect(error.rawMessage).to.match(/^xDS routing of \/proxyless\.GreetService\/SayHello1 failed: .+ \[NO_ROUTE\]$/);
  });

  it("rejects INTERNAL when connect-node cannot make a transport for the endpoint, naming the endpoint", async () => {
    serveMesh(h.cp, meshWithV2At("::1%lo"), "grpc");
    const [client] = meshClient();
    const error = await failure(sayHello(client));
    expect(error.code).to.equal(Code.Internal);
    expect(error.rawMessage).to.match(
      new RegExp(`^xDS call /proxyless\\.GreetService/SayHello to endpoint \\[::1%lo\\]:${v2.port} failed: connect-node could not open a transport to it: .*Invalid URL`),
    );
  });

  it("rejects a wait-for-ready call that waited for the control plane with a ConnectError when routing or the endpoint then fails", async () => {
    const online = await offline();
    const [client] = meshClient({ waitForReady: true });
    const noRoute = failure(client.sayHello1({ message: "hi" }, { timeoutMs: 5000 }));
    const badEndpoint = failure(sayHello(client, { timeoutMs: 5000 }));
    await online(meshWithV2At("::1%lo").split("  - name: default")[0]!);
    expect((await noRoute).code).to.equal(Code.Unavailable);
    expect((await noRoute).rawMessage).to.include("[NO_ROUTE]");
    expect((await badEndpoint).code).to.equal(Code.Internal);
    expect((await badEndpoint).rawMessage).to.include("connect-node could not open a transport to it");
  });

  it("rejects wait-for-ready calls waiting for the control plane UNAVAILABLE [CLOSED] when the transport or the xDS client closes, CANCELED when aborted", async () => {
    await offline();
    const [first, closedTransport] = meshClient({ waitForReady: true });
    const [second] = meshClient({ waitForReady: true });
    const [third] = meshClient({ waitForReady: true });
    const abort = new AbortController();
    const waiting = [failure(sayHello(first)), failure(sayHello(second)), failure(sayHello(third, { signal: abort.signal }))];
    abort.abort();
    closedTransport.close();
    await xds.close();
    const [closed, xdsClosed, aborted] = await Promise.all(waiting);
    for (const error of [closed!, xdsClosed!]) {
      expect(error.code).to.equal(Code.Unavailable);
      expect(error.rawMessage).to.match(/^xDS routing of \/proxyless\.GreetService\/SayHello failed: .* \[CLOSED\]$/);
    }
    expect(aborted!.code).to.equal(Code.Canceled);
  });

  it("rejects INVALID_ARGUMENT for request headers that are not valid HTTP, before routing", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    const [, transport] = meshClient();
    const error = await failure(transport.unary(GreetService.method.sayHello, undefined, undefined, [["bad header", "x"]], { message: "hi" }));
    expect(error.code).to.equal(Code.InvalidArgument);
    expect(error.rawMessage).to.match(/^invalid request headers: .*bad header/);
  });

  it("rejects UNAVAILABLE when the picked endpoint refuses the connection", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    const [client] = meshClient();
    await v2.stop();
    const error = await failure(sayHello(client));
    expect(error.code).to.equal(Code.Unavailable);
    expect(error.rawMessage).to.include("ECONNREFUSED");
  });
});
