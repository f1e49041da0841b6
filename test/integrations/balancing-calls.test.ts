// Each balancing policy, outlier ejection and the circuit breaker, end to end: a control plane on loopback serves a
// cluster with the policy, real GreetService backends answer (one slow, failing or holding its calls where a test
// needs it), and calls go through rxds/grpc (a grpc-js client) and rxds/connect (a Connect client speaking gRPC),
// which report every call's outcome to balancing.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createContextValues } from "@connectrpc/connect";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import type { XdsClient } from "rxds";
import { createXdsTransport, waitForReady } from "rxds/connect";
import { xdsClientOptions } from "rxds/grpc";
import { filter, firstValueFrom, map } from "rxjs";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { RouteAction_HashPolicySchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { PickFirstSchema } from "../../gen/envoy/extensions/load_balancing_policies/pick_first/v3/pick_first_pb.js";
import { GreetService, type HelloResponse } from "../../gen/proxyless/greet_pb.js";
import type { BalancingStatus, EndpointBalancingStatus } from "../../src/balancing/balancing-status.js";
import { GreetServiceClient, GrpcGreetBackend, hello } from "../support/greet-backend.js";
import { apiListener, loopbackEndpoints, routeConfiguration } from "../support/resources.js";
import { CDS, EDS, Harness, LDS, RDS } from "../support/wire.js";
import { eventually } from "./eventually.js";
import { binomialBounds } from "./split-bounds.js";

const target = "lb.default.svc.cluster.local:8080";
type ClusterInit = MessageInitShape<typeof ClusterSchema>;
type HashPolicyInit = MessageInitShape<typeof RouteAction_HashPolicySchema>;

/** One way of calling through rxds: a client that makes unary calls and says which backend answered. */
interface Caller {
  /** Resolves with the answering backend's name; rejects with the call's error. */
  call(headers?: Record<string, string>, options?: { waitForReady?: boolean }): Promise<string>;
  /** The failure of a call that must fail: its gRPC status code and message. */
  failure(headers?: Record<string, string>, options?: { waitForReady?: boolean }): Promise<{ code: number; message: string }>;
  close(): void;
}

const integrations: Record<string, (xds: XdsClient) => Caller> = {
  "rxds/grpc": (xds) => {
    const client = new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds));
    const call = (headers: Record<string, string> = {}, options: { waitForReady?: boolean } = {}) => {
      const metadata = new Metadata(options.waitForReady === true ? { waitForReady: true } : {});
      for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
      return new Promise<string>((resolve, reject) =>
        client.SayHello!(hello(), metadata, { deadline: Date.now() + 5000 }, (error: ServiceError | null, response?: HelloResponse) =>
          error ? reject(error) : resolve(response!.message),
        ),
      );
    };
    return {
      call,
      failure: (headers, options) => call(headers, options).then(
        () => expect.fail("the call succeeded"),
        (error: ServiceError) => ({ code: error.code, message: error.details }),
      ),
      close: () => client.close(),
    };
  },
  "rxds/connect": (xds) => {
    const transport = createXdsTransport(xds, { target, protocol: "grpc" });
    const client = createClient(GreetService, transport);
    const call = async (headers: Record<string, string> = {}, options: { waitForReady?: boolean } = {}) => {
      const contextValues = createContextValues().set(waitForReady, options.waitForReady === true);
      return (await client.sayHello({ message: "hi" }, { headers, timeoutMs: 5000, contextValues })).message;
    };
    return {
      call,
      failure: (headers, options) => call(headers, options).then(
        () => expect.fail("the call succeeded"),
        (error: unknown) => {
          const e = ConnectError.from(error);
          return { code: e.code, message: e.rawMessage };
        },
      ),
      close: () => transport.close(),
    };
  },
};

const seconds = (s: number) => ({ seconds: BigInt(Math.floor(s)), nanos: Math.round((s % 1) * 1e9) });

for (const [integration, makeCaller] of Object.entries(integrations)) {
  describe(`balancing through ${integration} calls, over loopback`, function () {
    this.timeout(20000);
    let h: Harness;
    let xds: XdsClient;
    let backends: GrpcGreetBackend[];
    let callers: Caller[];

    beforeEach(async () => {
      h = await new Harness().start();
      xds = h.xds({ node: { id: "sidecar~10.9.8.7~client.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc", INSTANCE_IPS: "10.9.8.7" } } });
      backends = await Promise.all(["b0", "b1", "b2"].map((name) => GrpcGreetBackend.start(name)));
      callers = [];
    });

    afterEach(async () => {
      for (const caller of callers) caller.close();
      await h.stop();
      await Promise.all(backends.map((b) => b.stop()));
    });

    /** Serves the target: one route to cluster "lb" (with `hashPolicy`), the cluster as `cluster` says, the three backends. */
    function serve(cluster: ClusterInit, hashPolicy: HashPolicyInit[] = []): void {
      h.cp.set(LDS, { [target]: apiListener(target, "rc") });
      h.cp.set(RDS, {
        rc: routeConfiguration("rc", ["*"], [
          { name: "all", match: { pathSpecifier: { case: "prefix", value: "/" } }, action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: "lb" }, hashPolicy } } },
        ]),
      });
      const base: ClusterInit = { name: "lb", clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { edsConfig: { configSourceSpecifier: { case: "ads", value: {} } } } };
      h.cp.set(CDS, { lb: anyPack(ClusterSchema, create(ClusterSchema, { ...base, ...cluster } as ClusterInit)) });
      h.cp.set(EDS, { lb: loopbackEndpoints("lb", backends.map((b) => b.port)) });
    }

    function caller(): Caller {
      const made = makeCaller(xds);
      callers.push(made);
      return made;
    }

    async function tally(from: Caller, n: number, headers?: (i: number) => Record<string, string>): Promise<Map<string, number>> {
      const counts = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const name = await from.call(headers?.(i));
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      return counts;
    }

    for (const [policy, lbPolicy] of [
      ["round_robin", Cluster_LbPolicy.ROUND_ROBIN],
      ["least_request (one call at a time)", Cluster_LbPolicy.LEAST_REQUEST],
      ["random", Cluster_LbPolicy.RANDOM],
    ] as const) {
      it(`${policy}: spreads calls evenly over the backends (binomial bounds, p < 1e-6)`, async () => {
        serve({ lbPolicy });
        const counts = await tally(caller(), 150);
        const [lo, hi] = binomialBounds(150, 1 / 3);
        for (const b of backends) expect(counts.get(b.name) ?? 0, b.name).to.be.within(lo, hi);
      });
    }

    for (const [policy, lbPolicy] of [
      ["ring_hash", Cluster_LbPolicy.RING_HASH],
      ["maglev", Cluster_LbPolicy.MAGLEV],
    ] as const) {
      it(`${policy}: keeps each x-user's calls on one backend, and spreads the users`, async () => {
        serve({ lbPolicy }, [{ policySpecifier: { case: "header", value: { headerName: "x-user" } } }]);
        const client = caller();
        const homes = new Map<string, string>();
        for (let user = 0; user < 30; user++) {
          const counts = await tally(client, 4, () => ({ "x-user": `user-${user}` }));
          expect(counts.size, `backends of user-${user}`).to.equal(1);
          homes.set(`user-${user}`, [...counts.keys()][0]!);
        }
        expect(new Set(homes.values()).size).to.be.above(1);
        // A second client of the same process agrees: the hash is the request's, not the client's.
        for (const [user, home] of homes) expect(await caller().call({ "x-user": user })).to.equal(home);
      });
    }

    it("pick_first (load_balancing_policy): every call goes to the first backend", async () => {
      serve({ loadBalancingPolicy: { policies: [{ typedExtensionConfig: { name: "pf", typedConfig: anyPack(PickFirstSchema, create(PickFirstSchema)) } }] } });
      expect(await tally(caller(), 20)).to.deep.equal(new Map([[backends[0]!.name, 20]]));
    });

    it("ring_hash on io.grpc.channel_id: each client's calls stay on one backend, and clients spread", async () => {
      serve({ lbPolicy: Cluster_LbPolicy.RING_HASH }, [{ policySpecifier: { case: "filterState", value: { key: "io.grpc.channel_id" } } }]);
      const homes: string[] = [];
      for (let i = 0; i < 20; i++) {
        const counts = await tally(caller(), 5);
        expect(counts.size).to.equal(1);
        homes.push([...counts.keys()][0]!);
      }
      expect(new Set(homes).size).to.be.above(1);
    });

    it("ring_hash on source_ip (Istio's useSourceIp): every client of this process goes to one backend", async () => {
      serve({ lbPolicy: Cluster_LbPolicy.RING_HASH }, [{ policySpecifier: { case: "connectionProperties", value: { sourceIp: true } } }]);
      const homes = new Set<string>();
      for (let i = 0; i < 5; i++) for (const name of (await tally(caller(), 3)).keys()) homes.add(name);
      expect(homes.size).to.equal(1);
    });

    it("least_request: avoids a backend made slow, sending it far fewer calls than a fair third", async () => {
      serve({ lbPolicy: Cluster_LbPolicy.LEAST_REQUEST, lbConfig: { case: "leastRequestLbConfig", value: { choiceCount: 3 } } });
      const slow = backends[0]!;
      slow.delayMs = 200;
      const client = caller();
      const n = 150;
      let started = 0;
      // Eight calls in flight at a time: the slow backend holds its calls, and least request sees it.
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (started < n) {
            started++;
            await client.call();
          }
        }),
      );
      const [lo] = binomialBounds(n, 1 / 3);
      expect(slow.calls.length, "calls to the slow backend").to.be.below(lo);
    });

    it("outlier detection: ejects a backend failing half its calls, keeps calls off it, and brings it back after base_ejection_time", async () => {
      serve({
        outlierDetection: {
          interval: seconds(0.1),
          baseEjectionTime: seconds(0.5),
          maxEjectionPercent: 50,
          enforcingSuccessRate: 0,
          enforcingConsecutive5xx: 0,
          enforcingFailurePercentage: 100,
          failurePercentageThreshold: 30,
          failurePercentageMinimumHosts: 3,
          failurePercentageRequestVolume: 4,
        },
      });
      const bad = backends[1]!;
      bad.failEvery = 2;
      const client = caller();
      const ejections = xds.balancing(target).pipe(map((s) => ejectionOf(s, bad.port)));
      const ejected = firstValueFrom(ejections.pipe(filter((e) => e !== undefined)));
      let stop = false;
      const load = (async () => {
        while (!stop) await client.call().catch(() => undefined);
      })();
      const ejection = (await ejected)!;
      expect(ejection.ejection!.reason).to.match(/^failure percentage \d+% over \d+ calls is above the threshold 30%$/);
      expect(h.log.at("info").some((line) => line.startsWith(`target "${target}": cluster "lb": endpoint 127.0.0.1:${bad.port} ejected for 0.5 s`))).to.equal(true);
      const callsWhenEjected = bad.calls.length;
      const back = await firstValueFrom(ejections.pipe(filter((e) => e === undefined)));
      const backAt = Date.now();
      expect(back).to.equal(undefined);
      expect(backAt - ejection.ejection!.since).to.be.at.least(500);
      // While it was ejected, no new call reached it (a call picked just before may still have been on its way).
      expect(bad.calls.length - callsWhenEjected).to.be.at.most(1);
      const countBack = bad.calls.length;
      await eventually(() => bad.calls.length > countBack, "a call reaches the backend again after its ejection");
      expect(h.log.at("info").some((line) => line.includes(`endpoint 127.0.0.1:${bad.port} is back after its ejection (failure percentage`))).to.equal(true);
      stop = true;
      await load;
    });

    it("circuit breaking: with max_requests calls in flight, the next call fails at once with UNAVAILABLE naming the cluster and the limit", async () => {
      serve({ circuitBreakers: { thresholds: [{ maxRequests: 2 }] } });
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      for (const b of backends) b.gate = gate;
      const client = caller();
      const held = [client.call(), client.call()];
      await eventually(() => backends.reduce((sum, b) => sum + b.inFlight, 0) === 2, "two calls held by the backends");
      for (const waiting of [false, true]) {
        const dropped = await client.failure({}, { waitForReady: waiting });
        expect(dropped.code).to.equal(integration === "rxds/grpc" ? 14 : Code.Unavailable);
        expect(dropped.message).to.include(`cluster "lb" has 2 calls in flight, the most its circuit breaker allows (max_requests)`);
        expect(dropped.message).to.include("[CIRCUIT_BREAKER_OPEN]");
      }
      open();
      await Promise.all(held);
      expect(await client.call()).to.be.a("string");
    });
  });
}

function ejectionOf(status: BalancingStatus, port: number): EndpointBalancingStatus | undefined {
  const endpoint = status.clusters.find((c) => c.name === "lb")?.endpoints.find((e) => e.port === port);
  return endpoint?.ejection === undefined ? undefined : endpoint;
}
