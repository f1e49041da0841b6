// Route policies a client applies per call: retry (gRFC A44), hash (gRFC A42) and the stream
// duration limits (gRFC A31), read from envoy.config.route.v3 messages into frozen models.
//
// Retry (A44):
// - `retry_on` is a comma-separated list; the tokens naming gRPC status codes (`cancelled`,
//   `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`; trimmed, any case)
//   become `retryOn`, a set of status names. Other tokens (`5xx`, `connect-failure`, …) are
//   kept in `otherRetryOn` for HTTP integrations; gRPC ignores them. A policy whose `retryOn`
//   is empty retries nothing for gRPC, but it is kept (it may still say something to HTTP).
// - `num_retries` defaults to 1; 0 is rejected (A44). Attempts = num_retries + 1; capping them
//   (gRPC caps at 5) is the integration's business.
// - `retry_back_off`: when set, `base_interval` is required and must be > 0, `max_interval`
//   defaults to 10 × base and must be ≥ base (Envoy's and A44's rules). When unset: 25 ms and
//   250 ms. The multiplier is 2 (A44), not configurable by xDS.
// - `per_try_timeout` is kept (ms); gRPC ignores it (A44), HTTP integrations may not.
// - `retriable_status_codes` (HTTP statuses) are kept.
//
// Hash (A42): `header` (with an optional `regex_rewrite`, compiled here through safe-regex.ts and
// applied by routing/request-hash.ts), `filter_state` (gRPC knows only `io.grpc.channel_id`),
// `connection_properties.source_ip`, and also `query_parameter` and `cookie` (which gRPC ignores
// but an HTTP client can honour); `terminal` is kept on each.

import type {
  RetryPolicy,
  RouteAction_HashPolicy,
  RouteAction_MaxStreamDuration,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { XdsError } from "../xds-error.js";
import { durationMillis, optionalDurationMillis } from "./duration.js";
import { fieldPath, type Reject } from "./field-error.js";
import { compileRegexMatcher, compileSafeRewrite, type RegexLimits } from "./match/safe-regex.js";

/** The gRPC status codes an xDS retry policy can name (gRFC A44). */
export type GrpcRetryCode = "CANCELLED" | "DEADLINE_EXCEEDED" | "INTERNAL" | "RESOURCE_EXHAUSTED" | "UNAVAILABLE";

/** A validated retry policy (the route's, else its virtual host's: they are not merged). */
export interface RetryPolicyModel {
  /** The gRPC status codes to retry on, from `retry_on`. */
  readonly retryOn: ReadonlySet<GrpcRetryCode>;
  /** The other `retry_on` tokens, lower-cased, in order (HTTP conditions such as `5xx`). */
  readonly otherRetryOn: readonly string[];
  /** `num_retries`, default 1, at least 1. */
  readonly numRetries: number;
  /** `per_try_timeout` in ms; undefined when unset or 0. */
  readonly perTryTimeoutMs: number | undefined;
  /** `retry_back_off.base_interval` in ms, default 25. */
  readonly baseIntervalMs: number;
  /** `retry_back_off.max_interval` in ms, default 10 × base. */
  readonly maxIntervalMs: number;
  /** `retriable_status_codes` (HTTP statuses). */
  readonly retriableStatusCodes: readonly number[];
}

/** One hash policy of a route (gRFC A42). */
export type HashPolicyModel =
  | {
      readonly kind: "header";
      /** The header name, lower-cased. */
      readonly headerName: string;
      /** `regex_rewrite`: the pattern, the substitution, and the compiled rewrite applied to the value before hashing. */
      readonly regexRewrite: HeaderRewriteModel | undefined;
      readonly terminal: boolean;
    }
  | { readonly kind: "filter_state"; readonly key: string; readonly terminal: boolean }
  | { readonly kind: "source_ip"; readonly terminal: boolean }
  | { readonly kind: "query_parameter"; readonly name: string; readonly terminal: boolean }
  | { readonly kind: "cookie"; readonly name: string; readonly path: string; readonly ttlMs: number | undefined; readonly terminal: boolean };

/** A hash policy's `regex_rewrite` (RE2 search and replace-all, `\N` for group N). */
export interface HeaderRewriteModel {
  /** The RE2 pattern, as sent. */
  readonly regex: string;
  /** What each match is replaced with (`\\1`… name groups). */
  readonly substitution: string;
  /** The value with every match of `regex` replaced by `substitution`. */
  readonly rewrite: (value: string) => string;
}

/** A route's max_stream_duration (gRFC A31); each field undefined when unset, 0 meaning "no limit". */
export interface MaxStreamDurationModel {
  readonly maxStreamDurationMs: number | undefined;
  readonly grpcTimeoutHeaderMaxMs: number | undefined;
}

const RETRY_TOKENS: ReadonlyMap<string, GrpcRetryCode> = new Map([
  ["cancelled", "CANCELLED"],
  ["deadline-exceeded", "DEADLINE_EXCEEDED"],
  ["internal", "INTERNAL"],
  ["resource-exhausted", "RESOURCE_EXHAUSTED"],
  ["unavailable", "UNAVAILABLE"],
]);
const DEFAULT_BASE_INTERVAL_MS = 25;

/** Validates a RetryPolicy found at `path`; rejects num_retries 0 and bad back-off intervals. */
export function buildRetryPolicy(policy: RetryPolicy, path: string, reject: Reject): RetryPolicyModel {
  const retryOn = new Set<GrpcRetryCode>();
  const otherRetryOn: string[] = [];
  for (const raw of policy.retryOn.split(",")) {
    const token = raw.trim().toLowerCase();
    if (token === "") continue;
    const code = RETRY_TOKENS.get(token);
    if (code !== undefined) retryOn.add(code);
    else if (!otherRetryOn.includes(token)) otherRetryOn.push(token);
  }
  const numRetries = policy.numRetries ?? 1;
  if (numRetries < 1) reject(fieldPath(path, "num_retries"), "must be at least 1 (gRFC A44)");
  let baseIntervalMs = DEFAULT_BASE_INTERVAL_MS;
  let maxIntervalMs = 10 * DEFAULT_BASE_INTERVAL_MS;
  const backOff = policy.retryBackOff;
  if (backOff !== undefined) {
    const basePath = fieldPath(path, "retry_back_off.base_interval");
    if (backOff.baseInterval === undefined) return reject(basePath, "is required when retry_back_off is set");
    baseIntervalMs = durationMillis(backOff.baseInterval, basePath, reject);
    if (baseIntervalMs <= 0) reject(basePath, "must be greater than 0");
    const maxPath = fieldPath(path, "retry_back_off.max_interval");
    maxIntervalMs = optionalDurationMillis(backOff.maxInterval, 10 * baseIntervalMs, maxPath, reject);
    if (maxIntervalMs < baseIntervalMs) {
      reject(maxPath, `must not be less than base_interval (${maxIntervalMs} ms < ${baseIntervalMs} ms)`);
    }
  }
  const perTry = optionalDurationMillis(policy.perTryTimeout, 0, fieldPath(path, "per_try_timeout"), reject);
  return Object.freeze({
    retryOn,
    otherRetryOn: Object.freeze(otherRetryOn),
    numRetries,
    perTryTimeoutMs: perTry === 0 ? undefined : perTry,
    baseIntervalMs,
    maxIntervalMs,
    retriableStatusCodes: Object.freeze([...policy.retriableStatusCodes]),
  });
}

/** Validates the hash policies of a route action found at `path` (`…route.hash_policy`); rewrite regexes within `limits`. */
export function buildHashPolicies(
  policies: readonly RouteAction_HashPolicy[],
  path: string,
  reject: Reject,
  limits: RegexLimits,
): readonly HashPolicyModel[] {
  if (policies.length === 0) return NO_HASH_POLICIES;
  return Object.freeze(policies.map((policy, i) => buildHashPolicy(policy, `${path}[${i}]`, reject, limits)));
}
const NO_HASH_POLICIES: readonly HashPolicyModel[] = Object.freeze([]);

function buildHashPolicy(policy: RouteAction_HashPolicy, path: string, reject: Reject, limits: RegexLimits): HashPolicyModel {
  const terminal = policy.terminal;
  const spec = policy.policySpecifier;
  switch (spec.case) {
    case "header": {
      const at = fieldPath(path, "header");
      if (spec.value.headerName === "") reject(fieldPath(at, "header_name"), "must not be empty");
      const rewrite = spec.value.regexRewrite;
      let regexRewrite: HeaderRewriteModel | undefined;
      if (rewrite !== undefined) {
        const rewritePath = fieldPath(at, "regex_rewrite");
        const regex = checked(() => compileRegexMatcher(rewrite.pattern, fieldPath(rewritePath, "pattern"), limits), reject).source;
        const apply = checked(() => compileSafeRewrite(regex, rewrite.substitution, rewritePath, limits), reject);
        regexRewrite = Object.freeze({ regex, substitution: rewrite.substitution, rewrite: apply });
      }
      return Object.freeze({ kind: "header", headerName: spec.value.headerName.toLowerCase(), regexRewrite, terminal });
    }
    case "filterState":
      if (spec.value.key === "") reject(fieldPath(path, "filter_state.key"), "must not be empty");
      return Object.freeze({ kind: "filter_state", key: spec.value.key, terminal });
    case "connectionProperties":
      // source_ip: false hashes nothing; it stays a policy that yields no hash, as in Envoy.
      return Object.freeze({ kind: "source_ip", terminal });
    case "queryParameter":
      if (spec.value.name === "") reject(fieldPath(path, "query_parameter.name"), "must not be empty");
      return Object.freeze({ kind: "query_parameter", name: spec.value.name, terminal });
    case "cookie": {
      const at = fieldPath(path, "cookie");
      if (spec.value.name === "") reject(fieldPath(at, "name"), "must not be empty");
      const ttl = optionalDurationMillis(spec.value.ttl, undefined, fieldPath(at, "ttl"), reject);
      return Object.freeze({ kind: "cookie", name: spec.value.name, path: spec.value.path, ttlMs: ttl, terminal });
    }
    case undefined:
      return reject(path, "no policy (header, cookie, connection_properties, query_parameter, filter_state) is set");
  }
}

/** Validates a route's max_stream_duration at `path`; undefined when unset. */
export function buildMaxStreamDuration(
  value: RouteAction_MaxStreamDuration | undefined,
  path: string,
  reject: Reject,
): MaxStreamDurationModel | undefined {
  if (value === undefined) return undefined;
  return Object.freeze({
    maxStreamDurationMs: optionalDurationMillis(value.maxStreamDuration, undefined, fieldPath(path, "max_stream_duration"), reject),
    grpcTimeoutHeaderMaxMs: optionalDurationMillis(
      value.grpcTimeoutHeaderMax,
      undefined,
      fieldPath(path, "grpc_timeout_header_max"),
      reject,
    ),
  });
}

/**
 * Runs a compile step of the shared matchers, whose XdsErrors carry a field path but no resource name, and
 * rethrows their reason through `reject` so that the message names the resource too.
 */
export function checked<T>(compile: () => T, reject: Reject): T {
  try {
    return compile();
  } catch (e) {
    if (e instanceof XdsError && e.code === "INVALID_RESOURCE") {
      const colon = e.message.indexOf(": ");
      return colon < 0 ? reject("", e.message) : reject(e.message.slice(0, colon), e.message.slice(colon + 2));
    }
    throw e;
  }
}
