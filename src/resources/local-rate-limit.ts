// The local rate limit filter's config (envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit), validated
// into a model that the integrations apply per call with a token bucket (balancing/token-bucket.ts).
//
// - `token_bucket`: `max_tokens` (> 0, the bucket starts full), `tokens_per_fill` (default 1, > 0) and `fill_interval`
//   (required, at least 50 ms, as Envoy requires). Unset at the filter level: nothing is limited there (routes may
//   set their own); a per-route config without one is rejected, as Envoy rejects it.
// - `filter_enabled` / `filter_enforced` (their `default_value`; the runtime keys are ignored): the fraction of calls
//   the limit is checked for, and of those, the fraction refused when over it. Both default to 0%, as in Envoy: a
//   config without them limits nothing.
// - `status` (HTTP, default 429; below 400 means 429, as Envoy reads it) and `rate_limited_as_resource_exhausted`:
//   the gRPC status a refused client call ends with, as Envoy's response reaches a gRPC client: the HTTP status mapped
//   (429 → UNAVAILABLE), or RESOURCE_EXHAUSTED with the flag.
// - Rejected, since a client cannot apply them: `descriptors` (they need the route's `rate_limits` actions) and
//   `local_cluster_rate_limit` (a bucket shared by a cluster's instances).
// - Ignored: `stat_prefix`, `stage`, the headers to add, `local_rate_limit_per_downstream_connection`,
//   `enable_x_ratelimit_headers`, `vh_rate_limits`, `always_consume_default_token_bucket`.

import type { RuntimeFractionalPercent } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { LocalRateLimit } from "../../gen/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import { durationMillis } from "./duration.js";
import { fieldPath, type Reject } from "./field-error.js";
import { buildFraction, NO_CALL, type FractionModel } from "./fraction.js";
import { grpcStatusOfHttp } from "./grpc-status.js";

/** A validated token bucket: it starts with `maxTokens` and gains `tokensPerFill` every `fillIntervalMs`, up to `maxTokens`. */
export interface TokenBucketModel {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
}

/** A validated LocalRateLimit config. */
export interface LocalRateLimitModel {
  /** The bucket; undefined when the config sets none (nothing is limited). */
  readonly tokenBucket: TokenBucketModel | undefined;
  /** `filter_enabled`: the fraction of calls the limit is checked for. */
  readonly enabled: FractionModel;
  /** `filter_enforced`: of those, the fraction refused when the bucket is empty. */
  readonly enforced: FractionModel;
  /** The HTTP status Envoy would answer (`status`, default 429). */
  readonly httpStatus: number;
  /** The gRPC status a refused client call ends with (see the top of this file). */
  readonly grpcStatus: number;
}

/** The gRPC status RESOURCE_EXHAUSTED. */
const RESOURCE_EXHAUSTED = 8;

/** Validates a LocalRateLimit found at `path`; a per-route config (`perRoute`) must have a token bucket. */
export function buildLocalRateLimit(config: LocalRateLimit, path: string, reject: Reject, perRoute: boolean): LocalRateLimitModel {
  if (config.descriptors.length > 0) {
    reject(fieldPath(path, "descriptors"), "descriptor rate limits are not supported (they need the route's rate_limits actions)");
  }
  if (config.localClusterRateLimit !== undefined) {
    reject(fieldPath(path, "local_cluster_rate_limit"), "a bucket shared across a cluster's instances is not supported");
  }
  const bucket = config.tokenBucket;
  const bucketPath = fieldPath(path, "token_bucket");
  if (bucket === undefined && perRoute) reject(bucketPath, "is required in a per-route config");
  const status = config.status?.code ?? 0;
  const httpStatus = status < 400 ? 429 : status;
  return Object.freeze({
    tokenBucket: bucket === undefined ? undefined : buildTokenBucket(bucket, bucketPath, reject),
    enabled: runtimeFraction(config.filterEnabled, fieldPath(path, "filter_enabled"), reject),
    enforced: runtimeFraction(config.filterEnforced, fieldPath(path, "filter_enforced"), reject),
    httpStatus,
    grpcStatus: config.rateLimitedAsResourceExhausted ? RESOURCE_EXHAUSTED : grpcStatusOfHttp(httpStatus),
  });
}

function buildTokenBucket(bucket: NonNullable<LocalRateLimit["tokenBucket"]>, path: string, reject: Reject): TokenBucketModel {
  if (bucket.maxTokens === 0) reject(fieldPath(path, "max_tokens"), "must be greater than 0");
  const tokensPerFill = bucket.tokensPerFill ?? 1;
  if (tokensPerFill === 0) reject(fieldPath(path, "tokens_per_fill"), "must be greater than 0");
  const intervalPath = fieldPath(path, "fill_interval");
  if (bucket.fillInterval === undefined) return reject(intervalPath, "is required");
  const fillIntervalMs = durationMillis(bucket.fillInterval, intervalPath, reject);
  if (fillIntervalMs < 50) reject(intervalPath, `must be at least 50 ms, got ${fillIntervalMs} ms`);
  return Object.freeze({ maxTokens: bucket.maxTokens, tokensPerFill, fillIntervalMs });
}

function runtimeFraction(value: RuntimeFractionalPercent | undefined, path: string, reject: Reject): FractionModel {
  if (value === undefined) return NO_CALL;
  return buildFraction(value.defaultValue, fieldPath(path, "default_value"), reject, NO_CALL);
}
