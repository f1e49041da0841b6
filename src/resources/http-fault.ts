// The fault injection filter's config (envoy.extensions.filters.http.fault.v3.HTTPFault), validated into a model that
// the integrations apply per call (gRFC A33): a delay before the call is sent, an abort with a gRPC status, or both
// (the delay first), each drawn with its own random number.
//
// - `delay`: `fixed_delay`, or `header_delay` (the call's `x-envoy-fault-delay-request` header gives the ms);
//   `percentage` (unset: no call, as Envoy and Istio read it).
// - `abort`: `grpc_status` (0..16), `http_status` (200..599, mapped to the gRPC status a client sees, 429 → UNAVAILABLE,
//   see http-status-code.ts), or `header_abort` (the call's `x-envoy-fault-abort-grpc-request`, else
//   `x-envoy-fault-abort-request`); `percentage` as for the delay. For header-controlled faults the
//   `…-percentage` headers lower the numerator, never above the config's.
// - `max_active_faults`: no new fault while that many calls of the process are being delayed or aborted.
// - Which calls: `headers` (every matcher must match, as Envoy does), `upstream_cluster` (only calls to that
//   cluster), `downstream_nodes` (only calls whose `x-envoy-downstream-service-node` header is listed).
// - Ignored, as gRPC ignores them: `response_rate_limit`, the `*_runtime` keys, `disable_downstream_cluster_stats`,
//   `filter_metadata`.

import type { HTTPFault } from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { durationMillis } from "./duration.js";
import { fieldPath, type Reject } from "./field-error.js";
import { buildFraction, NO_CALL, type FractionModel } from "./fraction.js";
import { grpcStatusOfHttp } from "./grpc-status.js";
import { compileHeaderMatcher, type HeaderPredicate } from "./match/header-matcher.js";
import type { RegexLimits } from "./match/safe-regex.js";
import { checked } from "./route-policies.js";

/** A fault delay: fixed, or given by the call's `x-envoy-fault-delay-request` header. */
export type FaultDelayModel =
  | { readonly kind: "fixed"; readonly delayMs: number; readonly percentage: FractionModel }
  | { readonly kind: "header"; readonly percentage: FractionModel };

/** A fault abort: a gRPC status, or the one the call's `x-envoy-fault-abort-*` headers name. */
export type FaultAbortModel =
  | {
      readonly kind: "status";
      /** The gRPC status code the call ends with. */
      readonly code: number;
      /** The HTTP status configured, when the code was mapped from one. */
      readonly httpStatus: number | undefined;
      readonly percentage: FractionModel;
    }
  | { readonly kind: "header"; readonly percentage: FractionModel };

/** A validated HTTPFault config. */
export interface FaultConfigModel {
  readonly delay: FaultDelayModel | undefined;
  readonly abort: FaultAbortModel | undefined;
  /** `max_active_faults`; undefined for no limit. */
  readonly maxActiveFaults: number | undefined;
  /** The `headers` matchers; a call gets faults only when all match. */
  readonly headers: readonly HeaderPredicate[];
  /** `upstream_cluster`; "" for any cluster. */
  readonly upstreamCluster: string;
  /** `downstream_nodes`; empty for any caller. */
  readonly downstreamNodes: readonly string[];
}

/** Validates an HTTPFault found at `path`, its header regexes within `limits`. */
export function buildFaultConfig(fault: HTTPFault, path: string, reject: Reject, limits: RegexLimits): FaultConfigModel {
  return Object.freeze({
    delay: fault.delay === undefined ? undefined : buildDelay(fault.delay, fieldPath(path, "delay"), reject),
    abort: fault.abort === undefined ? undefined : buildAbort(fault.abort, fieldPath(path, "abort"), reject),
    maxActiveFaults: fault.maxActiveFaults,
    headers: Object.freeze(fault.headers.map((matcher, i) => checked(() => compileHeaderMatcher(matcher, fieldPath(path, `headers[${i}]`), limits), reject))),
    upstreamCluster: fault.upstreamCluster,
    downstreamNodes: Object.freeze([...fault.downstreamNodes]),
  });
}

function buildDelay(delay: NonNullable<HTTPFault["delay"]>, path: string, reject: Reject): FaultDelayModel {
  const percentage = buildFraction(delay.percentage, fieldPath(path, "percentage"), reject, NO_CALL);
  const spec = delay.faultDelaySecifier;
  switch (spec.case) {
    case "fixedDelay":
      return Object.freeze({ kind: "fixed", delayMs: durationMillis(spec.value, fieldPath(path, "fixed_delay"), reject), percentage });
    case "headerDelay":
      return Object.freeze({ kind: "header", percentage });
    case undefined:
      return reject(path, "must set fixed_delay or header_delay");
  }
}

function buildAbort(abort: NonNullable<HTTPFault["abort"]>, path: string, reject: Reject): FaultAbortModel {
  const percentage = buildFraction(abort.percentage, fieldPath(path, "percentage"), reject, NO_CALL);
  const spec = abort.errorType;
  switch (spec.case) {
    case "grpcStatus":
      if (spec.value > 16) reject(fieldPath(path, "grpc_status"), `must be a gRPC status code (0..16), got ${spec.value}`);
      return Object.freeze({ kind: "status", code: spec.value, httpStatus: undefined, percentage });
    case "httpStatus":
      if (spec.value < 200 || spec.value >= 600) reject(fieldPath(path, "http_status"), `must be in 200..599, got ${spec.value}`);
      return Object.freeze({ kind: "status", code: grpcStatusOfHttp(spec.value), httpStatus: spec.value, percentage });
    case "headerAbort":
      return Object.freeze({ kind: "header", percentage });
    case undefined:
      return reject(path, "must set grpc_status, http_status or header_abort");
  }
}
