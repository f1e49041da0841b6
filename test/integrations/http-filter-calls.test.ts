// The HTTP filters a client applies, end to end: fault injection (gRFC A33) and the local rate limit, configured in the
// api_listener's HttpConnectionManager and overridden per virtual host, route and weighted cluster, served by a control
// plane on loopback; calls go through rxds/grpc and rxds/connect to real GreetService backends.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import type { XdsClient } from "rxds";
import { createXdsTransport } from "rxds/connect";
import { xdsClientOptions } from "rxds/grpc";
import { FractionalPercent_DenominatorType } from "../../gen/envoy/type/v3/percent_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { FilterConfigSchema, type RouteSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { HTTPFaultSchema } from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { LocalRateLimitSchema } from "../../gen/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema, type HttpFilterSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { GreetService, type HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { activeFaultCount } from "../../src/integrations/call-filters.js";
import { GreetServiceClient, GrpcGreetBackend, hello } from "../support/greet-backend.js";
import { edsCluster, loopbackEndpoints } from "../support/resources.js";
import { CDS, EDS, Harness, LDS, next, pack, RDS } from "../support/wire.js";
import { binomialBounds } from "./split-bounds.js";

const target = "filters.default.svc.cluster.local:8080";
type FaultInit = MessageInitShape<typeof HTTPFaultSchema>;
type RateLimitInit = MessageInitShape<typeof LocalRateLimitSchema>;
type RouteInit = MessageInitShape<typeof RouteSchema>;
type HttpFilterInit = MessageInitShape<typeof HttpFilterSchema>;

const FAULT = "envoy.filters.http.fault";
const RATE_LIMIT = "envoy.filters.http.local_ratelimit";
const every = { numerator: 100, denominator: FractionalPercent_DenominatorType.HUNDRED };
const percent = (n: number) => ({ numerator: n, denominator: FractionalPercent_DenominatorType.HUNDRED });
const ms = (n: number) => ({ seconds: BigInt(Math.floor(n / 1000)), nanos: (n % 1000) * 1e6 });
const fault = (init: FaultInit): HttpFilterInit => ({ name: FAULT, configType: { case: "typedConfig", value: pack(HTTPFaultSchema, init) } });
const rateLimit = (init: RateLimitInit): HttpFilterInit => ({ name: RATE_LIMIT, configType: { case: "typedConfig", value: pack(LocalRateLimitSchema, init) } });
const router: HttpFilterInit = { name: "envoy.filters.http.router", configType: { case: "typedConfig", value: pack(RouterSchema, {}) } };
/** A bucket of `tokens`, refilled with as many every minute (so no refill during a test), enabled and enforced for every call. */
const bucket = (tokens: number, init: RateLimitInit = {}): RateLimitInit => ({
  statPrefix: "test",
  tokenBucket: { maxTokens: tokens, tokensPerFill: tokens, fillInterval: ms(60_000) },
  filterEnabled: { defaultValue: every },
  filterEnforced: { defaultValue: every },
  ...init,
}) as RateLimitInit;

/** How a call ended. */
interface Outcome {
  readonly code: number;
  readonly message: string;
  readonly elapsedMs: number;
}

interface Caller {
  call(method: "SayHello" | "SayHello1", headers?: Record<string, string>, timeoutMs?: number): Promise<Outcome>;
  close(): void;
}

const integrations: Record<string, (xds: XdsClient) => Caller> = {
  "rxds/grpc": (xds) => {
    const client = new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds));
    return {
      call: (method, headers = {}, timeoutMs = 5000) => {
        const metadata = new Metadata();
        for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
        const started = Date.now();
        return new Promise((resolve) =>
          client[method]!(hello(), metadata, { deadline: started + timeoutMs }, (error: ServiceError | null, reply?: HelloResponse) =>
            resolve({ code: error?.code ?? 0, message: error?.details ?? reply!.message, elapsedMs: Date.now() - started }),
          ),
        );
      },
      close: () => client.close(),
    };
  },
  "rxds/connect": (xds) => {
    const transport = createXdsTransport(xds, { target, protocol: "grpc" });
    const client = createClient(GreetService, transport);
    return {
      call: async (method, headers = {}, timeoutMs = 5000) => {
        const started = Date.now();
        try {
          const reply = await (method === "SayHello" ? client.sayHello : client.sayHello1)({ message: "hi" }, { headers, timeoutMs });
          return { code: 0, message: reply.message, elapsedMs: Date.now() - started };
        } catch (error) {
          const e = ConnectError.from(error);
          return { code: e.code, message: e.rawMessage, elapsedMs: Date.now() - started };
        }
      },
      close: () => transport.close(),
    };
  },
};

for (const [integration, makeCaller] of Object.entries(integrations)) {
  describe(`HTTP filters through ${integration}, over loopback`, function () {
    this.timeout(20000);
    let h: Harness;
    let xds: XdsClient;
    let backend: GrpcGreetBackend;
    let callers: Caller[];

    beforeEach(async () => {
      h = await new Harness().start();
      xds = h.xds();
      backend = await GrpcGreetBackend.start("b0");
      callers = [];
    });

    afterEach(async () => {
      for (const caller of callers) caller.close();
      await h.stop();
      await backend.stop();
    });

    /** Serves the target: an api_listener with `filters` (then the router), and `routes` (default: one catch-all) to cluster "c". */
    function serve(filters: HttpFilterInit[], routes: RouteInit[] = [catchAll()], virtualHost: Record<string, Any> = {}): void {
      const hcm = create(HttpConnectionManagerSchema, {
        routeSpecifier: { case: "rds", value: { configSource: { configSourceSpecifier: { case: "ads", value: {} } }, routeConfigName: "rc" } },
        httpFilters: [...filters, router],
      });
      h.cp.set(LDS, { [target]: anyPack(ListenerSchema, create(ListenerSchema, { name: target, apiListener: { apiListener: anyPack(HttpConnectionManagerSchema, hcm) } })) });
      h.cp.set(RDS, { rc: pack(RouteConfigurationSchema, { name: "rc", virtualHosts: [{ name: "rc", domains: ["*"], routes, typedPerFilterConfig: virtualHost }] }) });
      h.cp.set(CDS, { c: edsCluster("c") });
      h.cp.set(EDS, { c: loopbackEndpoints("c", [backend.port]) });
    }

    function caller(): Caller {
      const made = makeCaller(xds);
      callers.push(made);
      return made;
    }

    it("aborts the configured share of calls with the configured gRPC status, before they are sent (binomial bounds, p < 1e-6)", async () => {
      serve([fault({ abort: { errorType: { case: "grpcStatus", value: status.RESOURCE_EXHAUSTED }, percentage: percent(30) } })]);
      const client = caller();
      const n = 300;
      const outcomes: Outcome[] = [];
      for (let i = 0; i < n; i++) outcomes.push(await client.call("SayHello"));
      const aborted = outcomes.filter((o) => o.code === status.RESOURCE_EXHAUSTED);
      const [lo, hi] = binomialBounds(n, 0.3);
      expect(aborted.length, JSON.stringify(outcomes.slice(0, 5))).to.be.within(lo, hi);
      expect(aborted[0]!.message).to.equal(`fault injected by filter "${FAULT}": /proxyless.GreetService/SayHello aborted with gRPC status 8`);
      expect(outcomes.filter((o) => o.code === 0).length).to.equal(n - aborted.length);
      expect(backend.calls.length, "aborted calls never reach the backend").to.equal(n - aborted.length);
    });

    it("delays every call by fixed_delay, and ends a call whose deadline comes first with DEADLINE_EXCEEDED", async () => {
      serve([fault({ delay: { faultDelaySecifier: { case: "fixedDelay", value: ms(150) }, percentage: every } })]);
      const client = caller();
      await client.call("SayHello"); // routing is ready from now on
      const pending = client.call("SayHello");
      const balancing = await next(xds.balancing(target));
      expect(balancing.clusters.find((c) => c.name === "c")?.inFlight, "a delayed call holds no endpoint").to.equal(0);
      const delayed = await pending;
      expect([delayed.code, delayed.message]).to.deep.equal([0, "b0"]);
      expect(delayed.elapsedMs).to.be.at.least(145);
      const late = await client.call("SayHello", {}, 60);
      expect(late.code).to.equal(status.DEADLINE_EXCEEDED);
      expect(late.message).to.contain("was delayed 150 ms by fault injection");
      expect(backend.calls.length).to.equal(2);
      expect(activeFaultCount(), "each fault ended").to.equal(0);
    });

    it("takes header-controlled faults from x-envoy-fault-* headers, the percentage headers only lowering the config's", async () => {
      serve([fault({ delay: { faultDelaySecifier: { case: "headerDelay", value: {} }, percentage: every }, abort: { errorType: { case: "headerAbort", value: {} }, percentage: every } })]);
      const client = caller();
      expect((await client.call("SayHello")).code, "no header, no fault").to.equal(0);
      expect((await client.call("SayHello", { "x-envoy-fault-abort-grpc-request": "9" })).code).to.equal(status.FAILED_PRECONDITION);
      expect((await client.call("SayHello", { "x-envoy-fault-abort-request": "403" })).code, "an HTTP status, mapped").to.equal(status.PERMISSION_DENIED);
      expect((await client.call("SayHello", { "x-envoy-fault-abort-request": "503" })).code).to.equal(status.UNAVAILABLE);
      expect((await client.call("SayHello", { "x-envoy-fault-abort-grpc-request": "9", "x-envoy-fault-abort-request-percentage": "0" })).code).to.equal(0);
      expect((await client.call("SayHello", { "x-envoy-fault-abort-grpc-request": "not a number" })).code, "an invalid header is ignored").to.equal(0);
      const delayed = await client.call("SayHello", { "x-envoy-fault-delay-request": "120" });
      expect([delayed.code, delayed.elapsedMs >= 115]).to.deep.equal([0, true]);
    });

    it("injects no fault while max_active_faults calls are being delayed", async () => {
      serve([fault({ delay: { faultDelaySecifier: { case: "fixedDelay", value: ms(400) }, percentage: every }, maxActiveFaults: 2 })]);
      const client = caller();
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => client.call("SayHello")));
      const delayed = outcomes.filter((o) => o.elapsedMs >= 390);
      expect(outcomes.every((o) => o.code === 0)).to.equal(true);
      expect(delayed).to.have.length(2);
    });

    it("applies the most specific override (route over virtual host over the listener's), and none where FilterConfig disables it", async () => {
      const abort = (code: number) => pack(HTTPFaultSchema, { abort: { errorType: { case: "grpcStatus", value: code }, percentage: every } });
      serve(
        [fault({ abort: { errorType: { case: "grpcStatus", value: status.INTERNAL }, percentage: every } })],
        [
          { ...route("/proxyless.GreetService/SayHello1"), typedPerFilterConfig: { [FAULT]: pack(FilterConfigSchema, { disabled: true }) } },
          { ...route("/proxyless.GreetService/SayHello"), typedPerFilterConfig: { [FAULT]: abort(status.ABORTED) } },
        ],
        { [FAULT]: abort(status.NOT_FOUND) },
      );
      const client = caller();
      expect((await client.call("SayHello")).code).to.equal(status.ABORTED);
      expect((await client.call("SayHello1")).code).to.equal(0);
    });

    it("lets N calls through per fill of the local rate limit's bucket and fails the rest UNAVAILABLE, naming the limit", async () => {
      serve([rateLimit(bucket(3))]);
      const client = caller();
      const outcomes: Outcome[] = [];
      for (let i = 0; i < 5; i++) outcomes.push(await client.call("SayHello"));
      expect(outcomes.map((o) => o.code)).to.deep.equal([0, 0, 0, status.UNAVAILABLE, status.UNAVAILABLE]);
      expect(outcomes[3]!.message).to.equal(`local rate limit "${RATE_LIMIT}" refused /proxyless.GreetService/SayHello: no token left (3 per 60000 ms, at most 3)`);
      expect(backend.calls.length).to.equal(3);
    });

    it("gives a route's own bucket to its calls, answers RESOURCE_EXHAUSTED with rate_limited_as_resource_exhausted, and limits nothing unenforced", async () => {
      serve(
        [rateLimit(bucket(2, { rateLimitedAsResourceExhausted: true }))],
        [
          { ...route("/proxyless.GreetService/SayHello1"), typedPerFilterConfig: { [RATE_LIMIT]: pack(LocalRateLimitSchema, bucket(1, { filterEnforced: { defaultValue: percent(0) } })) } },
          route("/"),
        ],
      );
      const client = caller();
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await client.call("SayHello")).code);
      for (let i = 0; i < 3; i++) codes.push((await client.call("SayHello1")).code);
      expect(codes).to.deep.equal([0, 0, status.RESOURCE_EXHAUSTED, 0, 0, 0]);
    });

    it("keeps a bucket across endpoint updates, and starts a full one with a new listener version", async () => {
      serve([rateLimit(bucket(2))]);
      const client = caller();
      const codes: number[] = [];
      for (let i = 0; i < 2; i++) codes.push((await client.call("SayHello")).code);
      const other = await GrpcGreetBackend.start("b1");
      try {
        h.cp.set(EDS, { c: loopbackEndpoints("c", [backend.port, other.port]) });
        await next(xds.router(target), (r) => r.snapshot.clusters.get("c")?.endpoints?.priorities[0]?.[0]?.endpoints.length === 2);
        codes.push((await client.call("SayHello")).code);
      } finally {
        h.cp.set(EDS, { c: loopbackEndpoints("c", [backend.port]) });
        await next(xds.router(target), (r) => r.snapshot.clusters.get("c")?.endpoints?.priorities[0]?.[0]?.endpoints.length === 1);
        await other.stop();
      }
      expect(codes).to.deep.equal([0, 0, status.UNAVAILABLE]);
      serve([rateLimit(bucket(4))]);
      await next(xds.router(target), (r) => {
        const applied = r.snapshot.listener?.httpConnectionManagers[0]?.httpFilters[0]?.applied;
        return applied?.kind === "local_ratelimit" && applied.config.tokenBucket?.maxTokens === 4;
      });
      for (let i = 0; i < 5; i++) codes.push((await client.call("SayHello")).code);
      expect(codes.slice(3)).to.deep.equal([0, 0, 0, 0, status.UNAVAILABLE]);
    });
  });
}

function catchAll(): RouteInit {
  return route("/");
}

function route(prefix: string): RouteInit {
  return { name: prefix, match: { pathSpecifier: { case: prefix.endsWith("/") ? "prefix" : "path", value: prefix } }, action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: "c" } } } };
}
