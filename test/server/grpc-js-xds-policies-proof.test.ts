// The cross-check of retries (gRFC A44) and fault injection (gRFC A33): grpc-js with @grpc/grpc-js-xds — an xDS client
// rxds did not write, which implements both — and a grpc-js client routed by rxds, side by side against one
// `rxds serve` translating a VirtualService's `retries` and `fault`, and the same GreetService backends.
import { status, type Client, type ServiceError } from "@grpc/grpc-js";
import { register } from "@grpc/grpc-js-xds";
import { expect } from "chai";
import { binomialBounds } from "../integrations/split-bounds.js";
import { echoHost, echoMesh } from "../support/echo-mesh.js";
import { GrpcGreetBackend } from "../support/greet-backend.js";
import { call } from "../fixtures/serve-mesh.js";
import { SideBySide } from "../fixtures/side-by-side.js";

const target = `${echoHost}:8080`;

/** The echo service's VirtualService with `http` (YAML block text, indented for `spec.http`). */
function virtualService(http: string): string {
  return `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
${http}`;
}

/** How a call ended: its status code (0 OK) and, when it succeeded, the backend that answered. */
async function outcome(client: Client, method: "SayHello" | "SayHello1" = "SayHello"): Promise<{ code: number; backend: string }> {
  return call(client, method).then(
    (backend) => ({ code: 0, backend }),
    (error: ServiceError) => ({ code: error.code, backend: "" }),
  );
}

describe("grpc-js-xds and rxds apply retries and fault injection alike against rxds serve", function () {
  this.timeout(30000);
  let backends: GrpcGreetBackend[];
  let served: SideBySide | undefined;

  before(() => register());

  beforeEach(async () => {
    backends = await Promise.all(["b0", "b1"].map((name) => GrpcGreetBackend.start(name)));
  });

  afterEach(async () => {
    await served?.stop();
    served = undefined;
    await Promise.all(backends.map((b) => b.stop()));
  });

  async function serve(http: string): Promise<void> {
    served = await SideBySide.start(echoMesh(backends.map((b) => b.port), "{loadBalancer: {simple: ROUND_ROBIN}}") + virtualService(http));
  }

  /** Both clients of `target`: grpc-js-xds's and rxds's. */
  function bothClients(): [string, Client][] {
    return [
      ["grpc-js-xds", served!.peerClient(target)],
      ["rxds", served!.rxdsClient(target)],
    ];
  }

  it("Retries: both retry an UNAVAILABLE attempt on the other backend, telling it grpc-previous-rpc-attempts, and no other status", async () => {
    await serve(`  - route: [{destination: {host: echo}}]
    retries: {attempts: 2, retryOn: unavailable}
`);
    const [b0, b1] = backends as [GrpcGreetBackend, GrpcGreetBackend];
    b0.failWith = () => ({ code: status.UNAVAILABLE, details: "b0 is down" });
    // Every attempt after the first carries grpc-previous-rpc-attempts; each failed attempt is followed by one.
    const retries = () => [...b0.calls, ...b1.calls].filter((c) => c.headers["grpc-previous-rpc-attempts"] !== undefined).length;
    for (const [name, client] of bothClients()) {
      const retriedBefore = retries();
      const failedBefore = b0.calls.length;
      const outcomes = [];
      for (let i = 0; i < 10; i++) outcomes.push(await outcome(client));
      expect(outcomes, name).to.deep.equal(Array(10).fill({ code: 0, backend: "b1" }));
      const retried = retries() - retriedBefore;
      expect(retried, `${name}: retries, one per failed attempt`).to.equal(b0.calls.length - failedBefore);
      expect(retried, `${name}: retries`).to.be.at.least(1);
    }
    b0.failWith = () => ({ code: status.INTERNAL, details: "b0 broke" });
    for (const [name, client] of bothClients()) {
      const codes = new Set<number>();
      for (let i = 0; i < 6; i++) codes.add((await outcome(client)).code);
      expect([...codes].sort(), `${name}: INTERNAL is not retried`).to.deep.equal([0, status.INTERNAL]);
    }
  });

  it("Faults: both abort a route's calls with the VirtualService's gRPC status and share (binomial bounds), and delay another's", async () => {
    await serve(`  - match: [{uri: {exact: /proxyless.GreetService/SayHello1}}]
    route: [{destination: {host: echo}}]
    fault: {abort: {grpcStatus: PERMISSION_DENIED, percentage: {value: 40}}}
  - route: [{destination: {host: echo}}]
    fault: {delay: {fixedDelay: 0.15s, percentage: {value: 100}}}
`);
    const n = 200;
    const [lo, hi] = binomialBounds(n, 0.4);
    for (const [name, client] of bothClients()) {
      let aborted = 0;
      for (let i = 0; i < n; i++) {
        const result = await outcome(client, "SayHello1");
        if (result.code === status.PERMISSION_DENIED) aborted++;
        else expect(result.code, name).to.equal(0);
      }
      expect(aborted, `${name}: aborted of ${n}`).to.be.within(lo, hi);
      const started = Date.now();
      expect(await outcome(client, "SayHello"), name).to.include({ code: 0 });
      expect(Date.now() - started, `${name}: delayed`).to.be.at.least(145);
    }
  });
});
