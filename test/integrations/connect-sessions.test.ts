import { expect } from "chai";
import { Code, ConnectError, type StreamResponse } from "@connectrpc/connect";
import type { XdsClient } from "rxds";
import { createXdsTransport, type XdsTransport } from "rxds/connect";
import { setTimeout as sleep } from "node:timers/promises";
import type { HelloRequestSchema, HelloResponseSchema } from "../../gen/proxyless/greet_pb.js";
import { ConnectGreetBackend, GreetStreamService } from "../support/greet-backend.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { Harness } from "../support/wire.js";
import { eventually } from "./eventually.js";
import { watchEscapes, type Escapes } from "./escapes.js";

const target = `${kitexHost}:8888`;
type Response = StreamResponse<typeof HelloRequestSchema, typeof HelloResponseSchema>;

async function* one(message: string) {
  yield { message };
}

async function read(response: Response): Promise<string[]> {
  const messages: string[] = [];
  for await (const reply of response.message) messages.push(reply.message);
  return messages;
}

describe("rxds/connect: an endpoint's session closes once the calls on it are over, however they end", () => {
  let h: Harness;
  let xds: XdsClient;
  let v1: ConnectGreetBackend;
  let v2: ConnectGreetBackend;
  let mesh: string;
  let transport: XdsTransport;
  let escapes: Escapes;

  beforeEach(async () => {
    h = await new Harness().start();
    xds = h.xds();
    [v1, v2] = await Promise.all([ConnectGreetBackend.start("v1"), ConnectGreetBackend.start("v2")]);
    // Unmatched calls go to v2, without a timeout; calls with stage=canary go to v1, with 0.5 s.
    mesh = kitexMesh(v1.port, v2.port, [0, 100]);
    serveMesh(h.cp, mesh, "grpc");
    transport = createXdsTransport(xds, { target });
    escapes = watchEscapes();
  });

  afterEach(async () => {
    const escaped = await escapes.stop();
    transport.close();
    await h.stop();
    await Promise.all([v1.stop(), v2.stop()]);
    expect(escaped, "unhandled rejections and uncaught exceptions").to.deep.equal([]);
  });

  /** Starts SayHelloStream; the response is returned unread. */
  function stream(message: string, options: { canary?: boolean; signal?: AbortSignal } = {}): Promise<Response> {
    const headers = options.canary ? { stage: "canary" } : {};
    return transport.stream(GreetStreamService.method.sayHelloStream, options.signal, undefined, headers, one(message));
  }

  /** Takes `backend`'s endpoint out of the mesh and waits until the transport has let it go. */
  async function retire(backend: ConnectGreetBackend): Promise<void> {
    const version = backend === v1 ? "v1" : "v2";
    serveMesh(h.cp, mesh.split("\n").filter((line) => !(line.includes("address: 127.0.0.1,") && line.includes(`version: ${version}`))).join("\n"), "grpc");
    await eventually(() => !transport.openEndpoints().includes(`127.0.0.1:${backend.port}`), `${version} leaves the pool`);
  }

  it("keeps a retired endpoint's session while a stream on it is read, and closes it after the last message", async () => {
    const response = await stream("hi");
    await retire(v2);
    expect(v2.openSessions).to.equal(1);
    expect(await read(response)).to.deep.equal(["v2#0", "v2#1", "v2#2"]);
    await eventually(() => v2.openSessions === 0, "v2's session is closed");
  });

  it("closes a retired endpoint's session when a stream response that is never read reaches its deadline", async () => {
    await stream("hi", { canary: true }); // the route's 0.5 s timeout applies; the response is never read
    await retire(v1);
    await eventually(() => v1.openSessions === 0, "v1's session is closed");
  });

  it("closes a retired endpoint's session when the caller aborts a stream it never read", async () => {
    const call = new AbortController();
    await stream("hi", { signal: call.signal });
    await retire(v2);
    await sleep(100);
    expect(v2.openSessions, "the unread call still holds the session").to.equal(1);
    call.abort();
    await eventually(() => v2.openSessions === 0, "v2's session is closed");
  });

  it("cancels a stream the caller stops reading early, and then closes the retired endpoint's session", async () => {
    const response = await stream("forever");
    await retire(v2);
    for await (const reply of response.message) {
      expect(reply.message).to.equal("v2#0");
      break;
    }
    await eventually(() => v2.openSessions === 0, "v2's session is closed");
  });

  it("aborts the calls in flight on close(), read or not: their readers get CANCELED and no session is left open", async () => {
    const reading = await stream("forever");
    const unread = await stream("hi", { canary: true });
    const iterator = reading.message[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.message).to.equal("v2#0");
    expect([v1.openSessions, v2.openSessions]).to.deep.equal([1, 1]);
    transport.close();
    expect(transport.openEndpoints()).to.deep.equal([]);
    await eventually(() => v1.openSessions + v2.openSessions === 0, "every session is closed");
    for (const next of [iterator.next(), read(unread)]) {
      const error = await next.then(
        () => expect.fail("a stream went on after close()"),
        (reason: unknown) => reason,
      );
      expect(error).to.be.instanceOf(ConnectError);
      expect((error as ConnectError).code).to.equal(Code.Canceled);
      expect((error as ConnectError).rawMessage).to.equal(`the xDS transport of "${target}" was closed`);
    }
  });
});
