// The token buckets of local rate limits: one per validated config (a LocalRateLimitModel), kept beside it for as long
// as the config lives. A Router rebuilt for new endpoints keeps the same route configuration and listener models, and
// so the same buckets; a new version of the listener or route configuration brings new models and full new buckets,
// as Envoy rebuilds its filters' buckets on a config update. Two targets whose routes share a config (Envoy sidecar
// listeners share one route configuration per port) share its bucket, as calls through one Envoy listener do.
//
// A bucket starts full and gains `tokensPerFill` at each whole `fillIntervalMs` since it started, up to `maxTokens`,
// worked out when a token is asked for (no timer).

import type { TokenBucketModel } from "../resources/local-rate-limit.js";

/** The tokens of one bucket. */
export class TokenBucket {
  private tokens: number;
  private filledAt: number;

  constructor(
    readonly model: TokenBucketModel,
    now: number,
  ) {
    this.tokens = model.maxTokens;
    this.filledAt = now;
  }

  /** Takes a token if there is one (true), after adding the fills due by `now`. */
  take(now: number): boolean {
    const { fillIntervalMs, tokensPerFill, maxTokens } = this.model;
    const fills = Math.floor((now - this.filledAt) / fillIntervalMs);
    if (fills > 0) {
      this.tokens = Math.min(maxTokens, this.tokens + fills * tokensPerFill);
      this.filledAt += fills * fillIntervalMs;
    }
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

const buckets = new WeakMap<object, TokenBucket>();

/** The bucket of a rate limit config (`owner`, the validated model holding `model`), made full on first use. */
export function tokenBucketOf(owner: object, model: TokenBucketModel, now: number): TokenBucket {
  let bucket = buckets.get(owner);
  if (bucket === undefined) {
    bucket = new TokenBucket(model, now);
    buckets.set(owner, bucket);
  }
  return bucket;
}
