import { expect } from "chai";
import { Code, ConnectError, createClient, createContextValues, type CallOptions, type Client } from "@connectrpc/connect";
import type { XdsClient } from "rxds";
import { createXdsTransport, metainfo, waitForReady, type XdsTransport, type XdsTransportOptions } from "rxds/connect";
import { setTimeout as sleep } from "node:timers/promises";
import { GreetService } from "../../gen/proxyless/greet_pb.js";
import { ConnectGreetBackend } from "../support/greet-backend.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { Harness } from "../support/wire.js";
import { eventually } from "./eventually.js";
import { binomialBounds } from "./split-bounds.js";

const target = `${kitexHost}:8888`;
type GreetClient = Client<typeof GreetService>;
type Method = "sayHello" | "sayHello1";

async function call(client: GreetClient, method: Method, options: CallOptions = {}): Promise<string> {
  return (await client[method]({ message: "hi" }, options)).message;
}

function failure(promise: Promise<unknown>): Promise<ConnectError> {
  return promise.then(
    () => expect.fail("the call succeeded"),
    (error: unknown) => ConnectError.from(error),
  );
}

const canary: CallOptions = { headers: { stage: "canary" } };

describe("rxds/connect: a Connect client on an xDS-routed transport", () => {
  let h: Harness;
  let xds: XdsClient;
  let v1: ConnectGreetBackend;
  let v2: ConnectGreetBackend;
  let transports: XdsTransport[];

  beforeEach(async () => {
    h = await new Harness().start();
    xds = h.xds();
    [v1, v2] = await Promise.all([ConnectGreetBackend.start("v1"), ConnectGreetBackend.start("v2")]);
    transports = [];
  });

  afterEach(async () => {
    for (const transport of transports) transport.close();
    await h.stop();
    await Promise.all([v1.stop(), v2.stop()]);
  });

  function meshClient(options: Partial<XdsTransportOptions> = {}): [GreetClient, XdsTransport] {
    const transport = createXdsTransport(xds, { target, ...options });
    transports.push(transport);
    return [createClient(GreetService, transport), transport];
  }

  for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
    it(`routes by header over ${protocol}: stage=canary goes to v1, SayHello without it to v2`, async () => {
      serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
      const [client] = meshClient({ protocol });
      for (let i = 0; i < 5; i++) expect(await call(client, "sayHello1", canary)).to.equal("v1");
      expect(await call(client, "sayHello", canary)).to.equal("v1");
      expect(v1.calls.at(-1)!.headers).to.include({ stage: "canary" });
      for (let i = 0; i < 5; i++) expect(await call(client, "sayHello")).to.equal("v2");
    });
  }

  it("routes by header from the async context: metainfo.withValues({ stage: canary }) goes to v1", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [0, 100]), "grpc");
    const [client] = meshClient();
    const served = await metainfo.withValues({ stage: "canary" }, async () => {
      await sleep(1);
      return Promise.all([call(client, "sayHello1"), call(client, "sayHello1")]);
    });
    expect(served).to.deep.equal(["v1", "v1"]);
    expect(await call(client, "sayHello1")).to.equal("v2");
  });

  it("MetainfoTravels: metainfo values reach the backend as request headers, the call's own winning; propagateMetainfo false keeps them for routing only", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [0, 100]), "grpc");
    const [client] = meshClient();
    await metainfo.withValues({ stage: "canary", user: "alice" }, () => call(client, "sayHello1", { headers: { user: "bob" } }));
    expect(v1.calls.at(-1)!.headers).to.include({ stage: "canary", user: "bob" });
    const [quiet] = meshClient({ propagateMetainfo: false });
    expect(await metainfo.withValues({ stage: "canary" }, () => call(quiet, "sayHello1"))).to.equal("v1");
    expect(v1.calls.at(-1)!.headers).to.not.have.property("stage");
    const error = await failure(metainfo.withValues({ stage: "can\u0000ary" }, () => call(client, "sayHello1")));
    expect(error.code).to.equal(Code.InvalidArgument);
    expect(error.rawMessage).to.match(/^metainfo "stage" cannot travel with the call/);
  });

  it("splits unmatched calls by weight: 70/30 over 300 calls, within bounds failing a fair split with p < 1e-6", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [70, 30]), "grpc");
    const [client, transport] = meshClient();
    const served = await Promise.all(Array.from({ length: 300 }, () => call(client, "sayHello1")));
    const onV1 = served.filter((name) => name === "v1").length;
    const [lo, hi] = binomialBounds(300, 0.7);
    expect(onV1).to.be.within(lo, hi);
    expect(served.length - onV1).to.equal(v2.calls.length);
    expect(transport.openEndpoints().sort()).to.deep.equal([`127.0.0.1:${v1.port}`, `127.0.0.1:${v2.port}`].sort());
    expect([v1.openSessions, v2.openSessions]).to.deep.equal([1, 1]);
  });

  it("applies the route timeout (0.5 s) as the call's timeout, unless the caller's own is shorter", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    const [client] = meshClient();
    await call(client, "sayHello");
    expect(v2.calls.at(-1)!.deadlineMs).to.be.within(300, 500);
    await call(client, "sayHello", { timeoutMs: 5000 });
    expect(v2.calls.at(-1)!.deadlineMs).to.be.within(300, 500);
    await call(client, "sayHello", { timeoutMs: 200 });
    expect(v2.calls.at(-1)!.deadlineMs).to.be.within(50, 200);
  });

  it("closes an endpoint's session when the endpoint leaves the snapshot, and says why calls to its subset fail", async () => {
    const mesh = kitexMesh(v1.port, v2.port);
    serveMesh(h.cp, mesh, "grpc");
    const [client, transport] = meshClient();
    expect(await call(client, "sayHello")).to.equal("v2");
    expect(await call(client, "sayHello1", canary)).to.equal("v1");
    expect(v2.openSessions).to.equal(1);

    serveMesh(h.cp, mesh.split("\n").filter((line) => !(line.includes("address: 127.0.0.1,") && line.includes("version: v2"))).join("\n"), "grpc");
    await eventually(() => !transport.openEndpoints().includes(`127.0.0.1:${v2.port}`), "v2's transport leaves the pool");
    await eventually(() => v2.openSessions === 0, "v2's session is closed");
    expect(v1.openSessions).to.equal(1);

    const error = await failure(call(client, "sayHello"));
    expect(error.code).to.equal(Code.Unavailable);
    expect(error.rawMessage).to.include("/proxyless.GreetService/SayHello").and.include(`outbound|8888|v2|${kitexHost}`).and.include("NO_HEALTHY_ENDPOINT");
    expect(await call(client, "sayHello1", canary)).to.equal("v1");
  });

  it("fails a call no route matches with UNAVAILABLE, naming the path and the virtual host", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port).split("  - name: default")[0]!, "grpc");
    const [client] = meshClient();
    const error = await failure(call(client, "sayHello1"));
    expect(error.code).to.equal(Code.Unavailable);
    expect(error.rawMessage).to.match(/^xDS routing of \/proxyless\.GreetService\/SayHello1 failed: no route of virtual host ".+" \(target ".+"\) matches path "\/proxyless\.GreetService\/SayHello1" \[NO_ROUTE\]$/);
    expect(v1.calls.length + v2.calls.length).to.equal(0);
  });

  it("Unreachable: a call fails UNAVAILABLE at once when the control plane cannot be reached, naming the server and why", async () => {
    const port = Number(h.address.split(":")[1]);
    await h.cp.close();
    const [client] = meshClient();
    const error = await failure(call(client, "sayHello", { timeoutMs: 5000 }));
    expect(error.code).to.equal(Code.Unavailable);
    expect(error.rawMessage).to.match(new RegExp(`xDS server 127\\.0\\.0\\.1:${port} is unavailable: .*ECONNREFUSED.* \\[CONTROL_PLANE_UNAVAILABLE\\]$`));
  });

  it("WaitForReady: with the transport's waitForReady, or the call's context value, a call waits for the control plane, then succeeds; one whose timeout passes first fails DEADLINE_EXCEEDED", async () => {
    const port = Number(h.address.split(":")[1]);
    await h.cp.close();
    const [patient] = meshClient({ waitForReady: true });
    const [client] = meshClient();
    const waiting = call(patient, "sayHello", { timeoutMs: 5000 });
    const perCall = call(client, "sayHello", { timeoutMs: 5000, contextValues: createContextValues().set(waitForReady, true) });
    const late = failure(call(patient, "sayHello", { timeoutMs: 300 }));
    const error = await late;
    expect(error.code).to.equal(Code.DeadlineExceeded);
    expect(error.rawMessage).to.match(/^deadline exceeded while \/proxyless\.GreetService\/SayHello waited for xDS to route it, which failed: .*\[CONTROL_PLANE_UNAVAILABLE\]$/);

    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    await h.cp.listen({ host: "127.0.0.1", port });
    expect(await waiting).to.equal("v2");
    expect(await perCall).to.equal("v2");
    // The route's 0.5 s applies from routing on, not from when the call was made.
    expect(v2.calls.at(-1)!.deadlineMs).to.be.within(300, 500);
  });

  it("lets a custom metaExtractor replace the default: call headers and metainfo are then ignored", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port, [0, 100]), "grpc");
    const [client] = meshClient({ metaExtractor: ({ header }) => ({ stage: header.get("x-lane") === "gray" ? "canary" : "stable" }) });
    expect(await call(client, "sayHello1", { headers: { "x-lane": "gray" } })).to.equal("v1");
    expect(await call(client, "sayHello1", canary)).to.equal("v2");
    expect(await metainfo.withValues({ stage: "canary" }, () => call(client, "sayHello1"))).to.equal("v2");
  });

  it("closes every session on close(), and then fails calls with UNAVAILABLE", async () => {
    serveMesh(h.cp, kitexMesh(v1.port, v2.port), "grpc");
    const [client, transport] = meshClient();
    await Promise.all([call(client, "sayHello"), call(client, "sayHello1", canary)]);
    transport.close();
    expect(transport.openEndpoints()).to.deep.equal([]);
    await eventually(() => v1.openSessions === 0 && v2.openSessions === 0, "both sessions closed");
    const error = await failure(call(client, "sayHello"));
    expect(error.code).to.equal(Code.Unavailable);
    expect(error.rawMessage).to.include("closed");
  });
});
