// The pure parts of the per-call policies, without the wire: a call's retry state (call-attempts.ts), a route's
// effective HTTP filters (route-http-filters.ts), their verdicts (call-filters.ts) and token buckets.
import { expect } from "chai";
import { TokenBucket } from "../../src/balancing/token-bucket.js";
import { CallAttempts } from "../../src/integrations/call-attempts.js";
import { activeFaultCount, applyCallFilters } from "../../src/integrations/call-filters.js";
import type { FaultConfigModel } from "../../src/resources/http-fault.js";
import type { HttpFilterModel } from "../../src/resources/listener-http-connection-manager.js";
import type { LocalRateLimitModel } from "../../src/resources/local-rate-limit.js";
import type { FilterConfigOverrides } from "../../src/resources/route-action.js";
import type { RetryPolicyModel } from "../../src/resources/route-policies.js";
import type { RouteDecision } from "../../src/routing/route-decision.js";
import { routeHttpFilters, type CallHttpFilter } from "../../src/routing/route-http-filters.js";
import { binomialBounds } from "./split-bounds.js";

const policy = (init: Partial<RetryPolicyModel>): RetryPolicyModel => ({
  retryOn: new Set(["UNAVAILABLE"]),
  otherRetryOn: [],
  numRetries: 2,
  perTryTimeoutMs: undefined,
  baseIntervalMs: 25,
  maxIntervalMs: 250,
  retriableStatusCodes: [],
  ...init,
});
const decided = (retryPolicy: RetryPolicyModel | undefined) => ({ retryPolicy }) as RouteDecision;
const every = { numerator: 100, denominator: 100 };
const fault = (init: Partial<FaultConfigModel>): FaultConfigModel => ({ delay: undefined, abort: undefined, maxActiveFaults: undefined, headers: [], upstreamCluster: "", downstreamNodes: [], ...init });
const limit = (tokens: number): LocalRateLimitModel => ({
  tokenBucket: { maxTokens: tokens, tokensPerFill: tokens, fillIntervalMs: 1000 },
  enabled: every,
  enforced: every,
  httpStatus: 429,
  grpcStatus: 14,
});
const call = { path: "/s/m", headers: {}, cluster: "c" };

describe("per-call policies, without the wire", () => {
  describe("CallAttempts (gRFC A44)", () => {
    it("exists only for a policy that retries a gRPC status or times attempts", () => {
      expect(CallAttempts.of(decided(undefined))).to.equal(undefined);
      expect(CallAttempts.of(decided(policy({ retryOn: new Set() })))).to.equal(undefined);
      expect(CallAttempts.of(decided(policy({ retryOn: new Set(), perTryTimeoutMs: 100 })))).to.not.equal(undefined);
    });

    it("backs off with full jitter under a ceiling that doubles up to max_interval, and stops at 5 attempts", () => {
      const attempts = CallAttempts.of(decided(policy({ numRetries: 9, baseIntervalMs: 10, maxIntervalMs: 35 })), () => 0.999_999)!;
      const delays: number[] = [];
      for (let delay = attempts.retryDelayMs(14, false, undefined); delay !== undefined; delay = attempts.retryDelayMs(14, false, undefined)) {
        delays.push(Math.round(delay));
        attempts.attempts++;
      }
      expect(delays).to.deep.equal([10, 20, 35, 35]);
      expect(attempts.maxAttempts).to.equal(5);
    });

    it("retries only statuses in retry_on, per-try timeouts only with 5xx / gateway-error / reset, nothing once committed", () => {
      const plain = CallAttempts.of(decided(policy({ retryOn: new Set(["CANCELLED"]) })))!;
      expect(plain.retryDelayMs(14, false, undefined)).to.equal(undefined);
      expect(plain.retryDelayMs(1, false, undefined)).to.be.a("number");
      expect(plain.retryDelayMs(4, true, undefined), "per-try timeout without 5xx").to.equal(undefined);
      const gateway = CallAttempts.of(decided(policy({ otherRetryOn: ["gateway-error"] })))!;
      expect(gateway.retryDelayMs(4, true, undefined)).to.be.a("number");
      gateway.commit();
      expect(gateway.retryDelayMs(14, false, undefined)).to.equal(undefined);
    });

    it("takes the server's pushback as the delay, and a bad pushback as the end of retries", () => {
      const attempts = CallAttempts.of(decided(policy({})))!;
      expect(attempts.retryDelayMs(14, false, "120")).to.equal(120);
      expect(attempts.retryDelayMs(14, false, "-1")).to.equal(undefined);
    });

    it("commits once the kept requests outgrow 1 MiB", () => {
      const attempts = CallAttempts.of(decided(policy({})))!;
      expect(attempts.keep(1 << 19)).to.equal(true);
      expect(attempts.keep(1 << 19)).to.equal(true);
      expect(attempts.keep(1)).to.equal(false);
      expect(attempts.isCommitted).to.equal(true);
    });
  });

  describe("routeHttpFilters", () => {
    const hcm = (filters: [string, HttpFilterModel["applied"], boolean?][]): HttpFilterModel[] =>
      filters.map(([name, applied, disabled]) => ({ name, typeName: "", config: undefined, isOptional: false, disabled: disabled ?? false, applied }));
    const faultOf = (code: number) => ({ kind: "fault" as const, config: fault({ abort: { kind: "status", code, httpStatus: undefined, percentage: every } }) });
    const overrides = (entries: Record<string, { applied?: HttpFilterModel["applied"]; disabled?: boolean }>): FilterConfigOverrides =>
      new Map(Object.entries(entries).map(([name, e]) => [name, { config: undefined, typeName: "", disabled: e.disabled ?? false, applied: e.applied }]));
    const codes = (filters: readonly CallHttpFilter[] | undefined) => filters?.map((f) => (f.kind === "fault" && f.config.abort?.kind === "status" ? f.config.abort.code : f.kind));

    it("takes the most specific override, skips disabled entries, and leaves out filters that can do nothing", () => {
      const filters = hcm([["f", faultOf(1)], ["noop", { kind: "fault", config: fault({}) }], ["router", { kind: "router" }]]);
      expect(codes(routeHttpFilters(filters, []))).to.deep.equal([1]);
      expect(codes(routeHttpFilters(filters, [overrides({ f: { applied: faultOf(2) } }), overrides({ f: { applied: faultOf(3) } })]))).to.deep.equal([2]);
      expect(routeHttpFilters(filters, [overrides({ f: { disabled: true } })])).to.equal(undefined);
    });

    it("runs a filter disabled in the connection manager only where an override gives it a config of its type", () => {
      const filters = hcm([["f", faultOf(1), true]]);
      expect(routeHttpFilters(filters, [])).to.equal(undefined);
      expect(routeHttpFilters(filters, [overrides({ f: { applied: { kind: "local_ratelimit", config: limit(1) } } })])).to.equal(undefined);
      expect(codes(routeHttpFilters(filters, [overrides({ f: { applied: faultOf(5) } })]))).to.deep.equal([5]);
    });
  });

  describe("applyCallFilters", () => {
    it("draws delay and abort independently, each with its own chance (binomial bounds, p < 1e-6)", () => {
      const filters: CallHttpFilter[] = [
        { name: "f", kind: "fault", config: fault({ delay: { kind: "fixed", delayMs: 5, percentage: { numerator: 20, denominator: 100 } }, abort: { kind: "status", code: 14, httpStatus: undefined, percentage: { numerator: 50_000, denominator: 1_000_000 } } }) },
      ];
      const n = 4000;
      let delayed = 0;
      let aborted = 0;
      let any = 0;
      for (let i = 0; i < n; i++) {
        const verdict = applyCallFilters(filters, call);
        if (verdict === undefined) continue;
        any++;
        if (verdict.delayMs > 0) delayed++;
        if (verdict.abort !== undefined) aborted++;
        verdict.finish();
      }
      const within = (count: number, p: number) => expect(count).to.be.within(...binomialBounds(n, p));
      within(delayed, 0.2);
      within(aborted, 0.05);
      within(any, 1 - 0.8 * 0.95);
      expect(activeFaultCount()).to.equal(0);
    });

    it("applies a fault only to calls its headers, upstream_cluster and downstream_nodes select", () => {
      const filters: CallHttpFilter[] = [
        { name: "f", kind: "fault", config: fault({ abort: { kind: "status", code: 14, httpStatus: undefined, percentage: every }, upstreamCluster: "c", downstreamNodes: ["web"], headers: [(h) => h["x-test"] === "1"] }) },
      ];
      const selected = { path: "/s/m", cluster: "c", headers: { "x-test": "1", "x-envoy-downstream-service-node": "web" } };
      const verdict = applyCallFilters(filters, selected);
      expect(verdict?.abort?.code).to.equal(14);
      expect(activeFaultCount(), "the abort counts as an active fault until it is finished").to.equal(1);
      verdict!.finish();
      verdict!.finish();
      expect(activeFaultCount()).to.equal(0);
      expect(applyCallFilters(filters, { ...selected, cluster: "other" })).to.equal(undefined);
      expect(applyCallFilters(filters, { ...selected, headers: { ...selected.headers, "x-test": "2" } })).to.equal(undefined);
      expect(applyCallFilters(filters, { ...selected, headers: { "x-test": "1" } })).to.equal(undefined);
    });
  });

  describe("TokenBucket", () => {
    it("starts full, adds tokens_per_fill per whole fill interval up to max_tokens", () => {
      const bucket = new TokenBucket({ maxTokens: 3, tokensPerFill: 2, fillIntervalMs: 100 }, 0);
      const taken = (now: number, n: number) => Array.from({ length: n }, () => bucket.take(now));
      expect(taken(0, 4)).to.deep.equal([true, true, true, false]);
      expect(taken(99, 1)).to.deep.equal([false]);
      expect(taken(100, 3)).to.deep.equal([true, true, false]);
      expect(taken(1000, 4)).to.deep.equal([true, true, true, false]);
    });
  });
});
