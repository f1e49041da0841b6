// Applies a routed call's HTTP filters (RouteDecision.httpFilters) before it is sent, for rxds/grpc and rxds/connect
// alike. The filters run in the connection manager's order; the first that ends the call wins, and delays add up.
//
// Fault injection (gRFC A33): a call that the filter's `headers`, `upstream_cluster` and `downstream_nodes` select is
// delayed with the delay's chance, then aborted with the abort's chance, each its own draw. Header-controlled faults
// read `x-envoy-fault-delay-request` (ms), `x-envoy-fault-abort-grpc-request` (a gRPC code), else
// `x-envoy-fault-abort-request` (an HTTP status, mapped), and `x-envoy-fault-{delay,abort}-request-percentage`, which
// lower the chance's numerator (never raise it); a value that is not a number is ignored, as A33 says. While
// `max_active_faults` calls of the process are being delayed or aborted (A33's process-wide gauge), the filter
// injects nothing.
//
// Local rate limit: with the `filter_enabled` chance the call takes a token of the config's bucket
// (balancing/token-bucket.ts); with none left, with the `filter_enforced` chance, it ends with the config's status
// (UNAVAILABLE by default, as Envoy's 429 reaches a gRPC client).

import { tokenBucketOf } from "../balancing/token-bucket.js";
import { drawn, type FractionModel } from "../resources/fraction.js";
import { grpcStatusOfHttp } from "../resources/grpc-status.js";
import type { FaultConfigModel } from "../resources/http-fault.js";
import type { LocalRateLimitModel } from "../resources/local-rate-limit.js";
import type { RequestHeaders } from "../resources/match/route-match.js";
import { readHeader } from "../resources/match/header-matcher.js";
import type { CallHttpFilter } from "../routing/route-http-filters.js";

/** What a call's filters do to it: delay it, end it with a status instead of sending it, or both (delay first). */
export interface FilterVerdict {
  /** How long to wait before the call is sent (or aborted); 0 for no delay. */
  readonly delayMs: number;
  /** The status the call ends with instead of being sent; undefined when it is sent. */
  readonly abort: { readonly code: number; readonly message: string } | undefined;
  /** Ends the injected fault (it counts in max_active_faults until then): call once the delay or abort is over. Idempotent. */
  finish(): void;
}

/** What the filters read of a call. */
export interface FilteredCall {
  /** The method path, for messages. */
  readonly path: string;
  /** The call's headers (lower-case names), as its routing saw them. */
  readonly headers: RequestHeaders;
  /** The cluster the route picked. */
  readonly cluster: string;
}

/** Calls of the process being delayed or aborted by fault injection now (gRFC A33's active faults gauge). */
let activeFaults = 0;

/** How many calls of the process fault injection is delaying or aborting now. */
export function activeFaultCount(): number {
  return activeFaults;
}

const DELAY_HEADER = "x-envoy-fault-delay-request";
const DELAY_PERCENTAGE_HEADER = "x-envoy-fault-delay-request-percentage";
const ABORT_GRPC_HEADER = "x-envoy-fault-abort-grpc-request";
const ABORT_HTTP_HEADER = "x-envoy-fault-abort-request";
const ABORT_PERCENTAGE_HEADER = "x-envoy-fault-abort-request-percentage";

/** Runs `filters` over one call; undefined when none of them delays or ends it (nothing is allocated then). */
export function applyCallFilters(filters: readonly CallHttpFilter[], call: FilteredCall, random: () => number = Math.random, now: number = Date.now()): FilterVerdict | undefined {
  let delayMs = 0;
  let faulted = false;
  let abort: FilterVerdict["abort"];
  for (let i = 0; i < filters.length && abort === undefined; i++) {
    const filter = filters[i]!;
    if (filter.kind === "local_ratelimit") {
      if (overRateLimit(filter.config, random, now)) abort = { code: filter.config.grpcStatus, message: rateLimitMessage(filter.name, filter.config, call.path) };
      continue;
    }
    const config = filter.config;
    if ((config.maxActiveFaults !== undefined && activeFaults >= config.maxActiveFaults) || !selects(config, call)) continue;
    const delay = faultDelayMs(config, call.headers, random);
    if (delay !== undefined) {
      delayMs += delay;
      faulted = true;
    }
    const code = faultAbortCode(config, call.headers, random);
    if (code !== undefined) {
      abort = { code, message: `fault injected by filter ${JSON.stringify(filter.name)}: ${call.path} aborted with gRPC status ${code}` };
      faulted = true;
    }
  }
  if (!faulted && abort === undefined) return undefined;
  if (faulted) activeFaults++;
  let open = faulted;
  return {
    delayMs,
    abort,
    finish: () => {
      if (!open) return;
      open = false;
      activeFaults--;
    },
  };
}

/** Whether a call over a rate limit config is refused now: enabled for it, no token left, and enforced for it. */
export function overRateLimit(config: LocalRateLimitModel, random: () => number, now: number): boolean {
  const bucket = config.tokenBucket;
  if (bucket === undefined || !drawn(config.enabled, random)) return false;
  return !tokenBucketOf(config, bucket, now).take(now) && drawn(config.enforced, random);
}

/** The message of a call a rate limit refused, naming the filter and the limit. */
export function rateLimitMessage(name: string, config: LocalRateLimitModel, path: string): string {
  const bucket = config.tokenBucket!;
  return `local rate limit ${JSON.stringify(name)} refused ${path}: no token left (${bucket.tokensPerFill} per ${bucket.fillIntervalMs} ms, at most ${bucket.maxTokens})`;
}

/** Whether the fault config applies to the call at all (headers, upstream cluster, downstream nodes). */
function selects(config: FaultConfigModel, call: FilteredCall): boolean {
  if (config.upstreamCluster !== "" && config.upstreamCluster !== call.cluster) return false;
  if (config.downstreamNodes.length > 0) {
    const node = readHeader(call.headers, "x-envoy-downstream-service-node");
    if (node === undefined || !config.downstreamNodes.includes(node)) return false;
  }
  for (const matches of config.headers) if (!matches(call.headers)) return false;
  return true;
}

function faultDelayMs(config: FaultConfigModel, headers: RequestHeaders, random: () => number): number | undefined {
  const delay = config.delay;
  if (delay === undefined) return undefined;
  if (delay.kind === "fixed") return drawn(delay.percentage, random) ? delay.delayMs : undefined;
  const ms = numberHeader(headers, DELAY_HEADER);
  if (ms === undefined) return undefined;
  return drawn(lowered(delay.percentage, headers, DELAY_PERCENTAGE_HEADER), random) ? ms : undefined;
}

function faultAbortCode(config: FaultConfigModel, headers: RequestHeaders, random: () => number): number | undefined {
  const abort = config.abort;
  if (abort === undefined) return undefined;
  if (abort.kind === "status") return drawn(abort.percentage, random) ? abort.code : undefined;
  let code = numberHeader(headers, ABORT_GRPC_HEADER);
  if (code !== undefined && code > 16) code = undefined;
  if (code === undefined) {
    const http = numberHeader(headers, ABORT_HTTP_HEADER);
    if (http !== undefined && http >= 200 && http < 600) code = grpcStatusOfHttp(http);
  }
  if (code === undefined) return undefined;
  return drawn(lowered(abort.percentage, headers, ABORT_PERCENTAGE_HEADER), random) ? code : undefined;
}

/** The fraction with its numerator lowered to the header's value, when the header holds a smaller number. */
function lowered(fraction: FractionModel, headers: RequestHeaders, name: string): FractionModel {
  const numerator = numberHeader(headers, name);
  return numerator === undefined || numerator >= fraction.numerator ? fraction : { numerator, denominator: fraction.denominator };
}

/** The first value of header `name` that is a non-negative integer; undefined when none is. */
function numberHeader(headers: RequestHeaders, name: string): number | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  const values = typeof raw === "string" ? [raw] : raw;
  for (const value of values) {
    const text = value.trim();
    if (/^\d{1,9}$/.test(text)) return Number(text);
  }
  return undefined;
}
