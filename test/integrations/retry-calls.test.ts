// Retries (gRFC A44) end to end: a control plane on loopback serves a route with a retry policy over a cluster of real
// GreetService backends (one failing where a test needs it), and calls go through rxds/grpc (a grpc-js client) and
// rxds/connect (a Connect client speaking gRPC). Backends record what each attempt carried and when it came.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import { credentials, Metadata, status, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import type { XdsClient } from "rxds";
import { createXdsTransport } from "rxds/connect";
import { xdsClientOptions } from "rxds/grpc";
import { filter, firstValueFrom, map } from "rxjs";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { RetryPolicySchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { GreetServiceClient, GreetServiceWithStreams, GrpcGreetBackend, hello } from "../support/greet-backend.js";
import { apiListener, loopbackEndpoints, routeConfiguration } from "../support/resources.js";
import { CDS, EDS, Harness, LDS, next, RDS } from "../support/wire.js";
import { binomialBounds } from "./split-bounds.js";

const target = "retry.default.svc.cluster.local:8080";
type RetryPolicyInit = MessageInitShape<typeof RetryPolicySchema>;

/** How a call ended, as the caller saw it. */
interface Outcome {
  /** The gRPC status code (0 OK). */
  readonly code: number;
  /** The reply's message, or the status details. */
  readonly message: string;
  /** The messages of a stream, in order. */
  readonly replies: readonly string[];
  /** `grpc-previous-rpc-attempts` of the response, as the client reports it. */
  readonly previousAttempts: string | undefined;
}

/** One way of calling through rxds. */
interface Caller {
  unary(options?: { timeoutMs?: number }): Promise<Outcome>;
  /** SayHelloStream (server streaming): every reply and the end. */
  serverStream(): Promise<Outcome>;
  /** Chat (bidi): sends `requests`, half-closes, reads to the end. */
  chat(requests: readonly string[]): Promise<Outcome>;
  close(): void;
}

const integrations: Record<string, (xds: XdsClient) => Caller> = {
  "rxds/grpc": (xds) => {
    const client = new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds));
    const previous = (metadata: Metadata | undefined) => metadata?.get("grpc-previous-rpc-attempts")[0] as string | undefined;
    const stream = (call: ClientReadableStream<HelloResponse> | ClientDuplexStream<unknown, HelloResponse>) =>
      new Promise<Outcome>((resolve) => {
        const replies: string[] = [];
        call.on("data", (reply: HelloResponse) => replies.push(reply.message));
        call.on("error", () => undefined);
        call.on("status", (s: { code: number; details: string; metadata: Metadata }) => resolve({ code: s.code, message: s.details, replies, previousAttempts: previous(s.metadata) }));
      });
    return {
      unary: (options = {}) =>
        new Promise<Outcome>((resolve) => {
          let headers: Metadata | undefined;
          const call = client.SayHello!(hello(), new Metadata(), { deadline: Date.now() + (options.timeoutMs ?? 5000) }, (error: ServiceError | null, reply?: HelloResponse) =>
            resolve(
              error
                ? { code: error.code, message: error.details, replies: [], previousAttempts: previous(error.metadata) }
                : { code: 0, message: reply!.message, replies: [], previousAttempts: previous(headers) },
            ),
          );
          call.on("metadata", (metadata: Metadata) => (headers = metadata));
        }),
      serverStream: () => stream(client.SayHelloStream!(hello(), new Metadata(), { deadline: Date.now() + 5000 })),
      chat: (requests) => {
        const call = client.Chat!(new Metadata(), { deadline: Date.now() + 5000 }) as ClientDuplexStream<unknown, HelloResponse>;
        const done = stream(call);
        for (const request of requests) call.write(hello(request));
        call.end();
        return done;
      },
      close: () => client.close(),
    };
  },
  "rxds/connect": (xds) => {
    const transport = createXdsTransport(xds, { target, protocol: "grpc" });
    const client = createClient(GreetServiceWithStreams, transport);
    const fail = (error: unknown, replies: string[]): Outcome => {
      const e = ConnectError.from(error);
      return { code: e.code, message: e.rawMessage, replies, previousAttempts: e.metadata.get("grpc-previous-rpc-attempts") ?? undefined };
    };
    const read = async (responses: AsyncIterable<{ message: string }>): Promise<Outcome> => {
      const replies: string[] = [];
      try {
        for await (const reply of responses) replies.push(reply.message);
        return { code: 0, message: "", replies, previousAttempts: undefined };
      } catch (error) {
        return fail(error, replies);
      }
    };
    return {
      unary: async (options = {}) => {
        let previousAttempts: string | undefined;
        try {
          const reply = await client.sayHello({ message: "hi" }, { timeoutMs: options.timeoutMs ?? 5000, onHeader: (h) => (previousAttempts = h.get("grpc-previous-rpc-attempts") ?? undefined) });
          return { code: 0, message: reply.message, replies: [], previousAttempts };
        } catch (error) {
          return fail(error, []);
        }
      },
      serverStream: () => read(client.sayHelloStream({ message: "hi" }, { timeoutMs: 5000 })),
      chat: (requests) =>
        read(
          client.chat(
            (async function* () {
              for (const message of requests) yield { message };
            })(),
            { timeoutMs: 5000 },
          ),
        ),
      close: () => transport.close(),
    };
  },
};

const seconds = (s: number) => ({ seconds: BigInt(Math.floor(s)), nanos: Math.round((s % 1) * 1e9) });

for (const [integration, makeCaller] of Object.entries(integrations)) {
  describe(`retries (gRFC A44) through ${integration}, over loopback`, function () {
    this.timeout(20000);
    let h: Harness;
    let xds: XdsClient;
    let backends: GrpcGreetBackend[];
    let callers: Caller[];

    beforeEach(async () => {
      h = await new Harness().start();
      xds = h.xds();
      backends = await Promise.all(["b0", "b1"].map((name) => GrpcGreetBackend.start(name)));
      callers = [];
    });

    afterEach(async () => {
      for (const caller of callers) caller.close();
      await h.stop();
      await Promise.all(backends.map((b) => b.stop()));
    });

    /** Serves the target: one route to cluster "lb" (round robin over the backends) with `retryPolicy`. */
    function serve(retryPolicy: RetryPolicyInit, cluster: MessageInitShape<typeof ClusterSchema> = {}): void {
      h.cp.set(LDS, { [target]: apiListener(target, "rc") });
      h.cp.set(RDS, {
        rc: routeConfiguration("rc", ["*"], [
          { name: "all", match: { pathSpecifier: { case: "prefix", value: "/" } }, action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: "lb" }, retryPolicy } } },
        ]),
      });
      const base = { name: "lb", clusterDiscoveryType: { case: "type" as const, value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { edsConfig: { configSourceSpecifier: { case: "ads" as const, value: {} } } } };
      h.cp.set(CDS, { lb: anyPack(ClusterSchema, create(ClusterSchema, { ...base, ...cluster } as MessageInitShape<typeof ClusterSchema>)) });
      h.cp.set(EDS, { lb: loopbackEndpoints("lb", backends.map((b) => b.port)) });
    }

    function caller(): Caller {
      const made = makeCaller(xds);
      callers.push(made);
      return made;
    }

    const unavailable = (details: string) => ({ code: status.UNAVAILABLE, details });

    it("retries an UNAVAILABLE attempt on another endpoint, telling it grpc-previous-rpc-attempts; outlier detection sees the failed attempts", async () => {
      serve(
        { retryOn: "unavailable", numRetries: 2, retryBackOff: { baseInterval: seconds(0.001) } },
        { outlierDetection: { consecutive5xx: 3, interval: seconds(10), baseEjectionTime: seconds(30), maxEjectionPercent: 50 } },
      );
      const [b0, b1] = backends as [GrpcGreetBackend, GrpcGreetBackend];
      b0.failWith = () => unavailable("b0 is down");
      const ejected = firstValueFrom(
        xds.balancing(target).pipe(
          map((s) => s.clusters.find((c) => c.name === "lb")?.endpoints.find((e) => e.port === b0.port)?.ejection),
          filter((ejection) => ejection !== undefined),
        ),
      );
      const client = caller();
      const outcomes: Outcome[] = [];
      for (let i = 0; i < 6; i++) outcomes.push(await client.unary());
      expect(outcomes.map((o) => [o.code, o.message])).to.deep.equal(Array(6).fill([0, "b1"]));
      // Each call that tried b0 first was retried on b1, which saw it as attempt 2.
      expect(b0.calls.length).to.be.at.least(1);
      expect(b0.calls.every((c) => c.headers["grpc-previous-rpc-attempts"] === undefined)).to.equal(true);
      const retried = b1.calls.filter((c) => c.headers["grpc-previous-rpc-attempts"] === "1");
      expect(retried.length).to.equal(b0.calls.length);
      expect(outcomes.filter((o) => o.previousAttempts === "1").length).to.equal(b0.calls.length);
      expect((await ejected)!.reason).to.match(/consecutive/);
    });

    it("sends a retry to an endpoint not tried yet where there is one (previous hosts), even with random picks", async () => {
      const third = await GrpcGreetBackend.start("b2");
      backends.push(third);
      serve({ retryOn: "unavailable", numRetries: 1, retryBackOff: { baseInterval: seconds(0.001) } }, { lbPolicy: Cluster_LbPolicy.RANDOM });
      backends[0]!.failWith = () => unavailable("b0 is down");
      const client = caller();
      const n = 150;
      let failed = 0;
      for (let i = 0; i < n; i++) if ((await client.unary()).code !== 0) failed++;
      // A call fails only if its first attempt and all five picks of its retry land on b0: 1/3 × (1/3)^5. Without the
      // avoidance it would be 1/3 × 1/3, some 17 calls of 150.
      const [, hi] = binomialBounds(n, 1 / 729);
      expect(failed).to.be.at.most(hi);
      expect(backends[0]!.calls.length, "b0 was tried first some of the time").to.be.above(10);
    });

    it("does not retry a status that retry_on does not name", async () => {
      serve({ retryOn: "unavailable,cancelled", numRetries: 3 });
      for (const b of backends) b.failWith = () => ({ code: status.INTERNAL, details: `${b.name} broke` });
      const outcome = await caller().unary();
      expect(outcome.code).to.equal(status.INTERNAL);
      expect(backends[0]!.calls.length + backends[1]!.calls.length).to.equal(1);
      expect(outcome.previousAttempts).to.equal(undefined);
    });

    it("caps the attempts at 5, whatever num_retries says, and ends with the last attempt's status", async () => {
      serve({ retryOn: "unavailable", numRetries: 10, retryBackOff: { baseInterval: seconds(0.001) } });
      for (const b of backends) b.failWith = (_call, n) => unavailable(`${b.name} failed call ${n}`);
      const outcome = await caller().unary();
      expect(outcome.code).to.equal(status.UNAVAILABLE);
      // Five attempts, each numbered once (sorted by their number: with a 1 ms backoff two may arrive in the same ms).
      const numbers = [...backends[0]!.calls, ...backends[1]!.calls].map((c) => c.headers["grpc-previous-rpc-attempts"] ?? "0").sort();
      expect(numbers).to.deep.equal(["0", "1", "2", "3", "4"]);
      expect(outcome.previousAttempts).to.equal("4");
    });

    it("waits a backoff with full jitter between attempts: each within [0, min(base × 2^(n−1), max)] plus loopback time", async () => {
      // base 40 ms, max 100 ms: retry n waits at most 40, 80, 100, 100 ms; the mean of the first waits is about 20 ms.
      serve({ retryOn: "unavailable", numRetries: 4, retryBackOff: { baseInterval: seconds(0.04), maxInterval: seconds(0.1) } });
      for (const b of backends) b.failWith = () => unavailable(`${b.name} is down`);
      const client = caller();
      const gaps: number[][] = [];
      for (let i = 0; i < 12; i++) {
        const before = backends[0]!.calls.length + backends[1]!.calls.length;
        await client.unary();
        const attempts = [...backends[0]!.calls, ...backends[1]!.calls].sort((a, b) => a.at - b.at).slice(before);
        expect(attempts).to.have.length(5);
        gaps.push(attempts.slice(1).map((c, k) => c.at - attempts[k]!.at));
      }
      const ceilings = [40, 80, 100, 100];
      const slack = 40; // loopback round trips and timer lateness on a shared machine
      for (const call of gaps) call.forEach((gap, k) => expect(gap, `retry ${k + 1}`).to.be.within(0, ceilings[k]! + slack));
      // Uniform [0, 40): the mean of 12 first waits is 20 ± 3.3 (one standard deviation); 6 of them bound it.
      const mean = gaps.reduce((sum, call) => sum + call[0]!, 0) / gaps.length;
      expect(mean).to.be.within(20 - 6 * 3.3, 20 + 6 * 3.3 + slack / 2);
    });

    it("ends a call whose deadline comes before the next attempt with DEADLINE_EXCEEDED (server pushback longer than the deadline)", async () => {
      serve({ retryOn: "unavailable", numRetries: 2 });
      for (const b of backends) b.failWith = () => ({ code: status.UNAVAILABLE, details: "busy", trailers: { "grpc-retry-pushback-ms": "5000" } });
      const started = Date.now();
      const outcome = await caller().unary({ timeoutMs: 300 });
      expect(outcome.code).to.equal(status.DEADLINE_EXCEEDED);
      expect(outcome.message).to.contain("waited to retry after attempt 1 of 3 failed");
      expect(Date.now() - started).to.be.below(2000);
      expect(backends[0]!.calls.length + backends[1]!.calls.length).to.equal(1);
    });

    it("retries a stream that fails before its first response, and not one that fails after it", async () => {
      serve({ retryOn: "unavailable", numRetries: 2, retryBackOff: { baseInterval: seconds(0.001) } });
      const [b0, b1] = backends as [GrpcGreetBackend, GrpcGreetBackend];
      const client = caller();
      // Trailers-only failure on either backend: the stream goes to the other one, which answers in full.
      b0.streamFailure = { after: 0, code: status.UNAVAILABLE };
      const first = await client.serverStream();
      const second = await client.serverStream();
      for (const outcome of [first, second]) expect([outcome.code, outcome.replies]).to.deep.equal([0, ["b1#0", "b1#1", "b1#2"]]);
      // A failure after one reply: the call is committed, its caller sees the reply and then the failure.
      b0.streamFailure = undefined;
      for (const b of backends) b.streamFailure = { after: 1, code: status.UNAVAILABLE };
      const before = b0.calls.length + b1.calls.length;
      const committed = await client.serverStream();
      expect(committed.code).to.equal(status.UNAVAILABLE);
      expect(committed.replies).to.have.length(1);
      expect(b0.calls.length + b1.calls.length - before).to.equal(1);
    });

    it("replays a client stream on a retry, and commits one whose requests outgrow the 1 MiB buffer", async () => {
      serve({ retryOn: "unavailable", numRetries: 2, retryBackOff: { baseInterval: seconds(0.001) } });
      const [b0, b1] = backends as [GrpcGreetBackend, GrpcGreetBackend];
      // b0 fails at once (a retryable status, no reply); b1 reads the requests, replies twice and fails for good.
      b0.streamFailure = { after: 0, code: status.UNAVAILABLE };
      b1.streamFailure = { after: 2, code: status.INTERNAL };
      const client = caller();
      // Small requests: whichever backend gets the first attempt, b1 ends up with every request (replayed after b0).
      for (let i = 0; i < 2; i++) {
        const outcome = await client.chat(["a", "b", "c"]);
        expect([outcome.code, outcome.replies]).to.deep.equal([status.INTERNAL, ["b1#0", "b1#1"]]);
        expect(outcome.message).to.equal("b1 failed the chat after 3 requests");
      }
      // 1.4 MB of requests: the call commits to its first attempt, and its failure is the caller's.
      const big = "x".repeat(700_000);
      const calls = b0.calls.length + b1.calls.length;
      let outcome: Outcome;
      do outcome = await client.chat([big, big]);
      while (outcome.code === status.INTERNAL); // until a call's first attempt went to b0
      expect(outcome.code).to.equal(status.UNAVAILABLE);
      expect(b0.calls.length + b1.calls.length - calls).to.be.at.most(2);
      // The failed attempt on b0 was the call's last: no retry followed it.
      expect(b0.calls.at(-1)!.at).to.be.at.least(b1.calls.at(-1)!.at);
    });

    it("cancels an attempt at per_try_timeout and retries it when retry_on has 5xx, as Envoy does; never past the deadline", async () => {
      const [b0, b1] = backends as [GrpcGreetBackend, GrpcGreetBackend];
      const never = new Promise<void>(() => undefined);
      b0.gate = never; // b0 holds its calls until it stops
      serve({ retryOn: "5xx,unavailable", numRetries: 2, perTryTimeout: seconds(0.15), retryBackOff: { baseInterval: seconds(0.001) } });
      const client = caller();
      for (let i = 0; i < 2; i++) {
        const started = Date.now();
        const outcome = await client.unary();
        expect([outcome.code, outcome.message]).to.deep.equal([0, "b1"]);
        expect(Date.now() - started).to.be.below(900);
      }
      expect(b0.calls.length).to.be.at.least(1);
      expect(b1.calls.filter((c) => c.headers["grpc-previous-rpc-attempts"] === "1").length).to.equal(b0.calls.length);
      // Without 5xx, gateway-error or reset in retry_on, a per-try timeout ends the call.
      b1.gate = never;
      serve({ retryOn: "unavailable", numRetries: 2, perTryTimeout: seconds(0.15) });
      await next(xds.router(target), (r) => r.snapshot.virtualHost?.routes[0]?.retryPolicy?.otherRetryOn.length === 0);
      const outcome = await client.unary();
      expect(outcome.code).to.equal(status.DEADLINE_EXCEEDED);
      expect(outcome.message).to.match(/per-try timeout of 150 ms passed/);
    });
  });
}
