// The retry state of one call (gRFC A44), shared by rxds/grpc and rxds/connect: they carry each attempt and report how
// it ended; this decides whether and when another attempt goes, and where.
//
// - Attempts: `num_retries` + 1, at most 5 in all, as gRPC caps them.
// - What is retried: a status named in `retry_on` (`cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`,
//   `unavailable`), while the call is not committed, i.e. before the first response headers or message arrived and
//   while its requests fit the replay buffer (RETRY_BUFFER_BYTES). An attempt ended by the per-try timeout
//   (`per_try_timeout`, which gRPC ignores but Istio's perTryTimeout sets) is retried as Envoy retries it: when
//   `retry_on` has `5xx`, `gateway-error` or `reset`.
// - When: after a backoff with full jitter, uniform in [0, min(base × 2^(n−1), max)) before the n-th retry; a
//   `grpc-retry-pushback-ms` trailer from the server replaces it (a value that is not a non-negative integer stops
//   the retries), as gRFC A6 says. The call's deadline is never extended: the integrations end a call whose deadline
//   passes during a backoff.
// - Where: each attempt is a RouteDecision of its own (RouteDecision.pickAgain): same route and cluster, an endpoint
//   picked afresh, avoiding the endpoints already tried where another is available (Envoy's previous_hosts
//   predicate), so outlier detection sees each attempt's outcome.
// - Each retry carries `grpc-previous-rpc-attempts` (the attempts before it), as gRPC sends it.

import type { EndpointModel } from "../resources/endpoints.js";
import { GRPC_STATUS_NAMES } from "../resources/grpc-status.js";
import type { GrpcRetryCode, RetryPolicyModel } from "../resources/route-policies.js";
import type { RouteDecision } from "../routing/route-decision.js";
import type { XdsError } from "../xds-error.js";

/** The most bytes of requests a call keeps to replay on a retry (grpc-js's default per-call retry buffer); past it, the call is committed. */
export const RETRY_BUFFER_BYTES = 1 << 20;

/** The metadata key telling the backend how many attempts came before this one. */
export const PREVIOUS_ATTEMPTS_KEY = "grpc-previous-rpc-attempts";

/** The metadata key of a server's retry pushback (ms). */
export const PUSHBACK_KEY = "grpc-retry-pushback-ms";

/** gRPC caps the attempts of a call, the first included (grpc-js's default `grpc-node.retry_max_attempts_limit`). */
const MAX_ATTEMPTS = 5;

/** The most attempts a call under `policy` may make, the first included. */
export function maxAttemptsOf(policy: RetryPolicyModel): number {
  return Math.min(policy.numRetries + 1, MAX_ATTEMPTS);
}

/** The `retry_on` conditions under which Envoy retries an attempt ended by the per-try timeout. */
const PER_TRY_TIMEOUT_CONDITIONS = ["5xx", "gateway-error", "reset"];

/** The retry state of one call. */
export class CallAttempts {
  /** Attempts started so far, the first included. */
  attempts = 1;
  /** The most attempts this call may make. */
  readonly maxAttempts: number;
  private committed = false;
  private bufferedBytes = 0;
  private backoffCeilingMs: number;
  /** The endpoints tried so far (`address:port`), once there is a retry. */
  private tried: string[] | undefined;

  private constructor(
    readonly policy: RetryPolicyModel,
    private readonly random: () => number,
  ) {
    this.maxAttempts = maxAttemptsOf(policy);
    this.backoffCeilingMs = policy.baseIntervalMs;
  }

  /**
   * The retry state of a call routed by `decision`; undefined when its route has no retry policy, or one that neither
   * retries a gRPC status nor times attempts (nothing is allocated then).
   */
  static of(decision: RouteDecision, random: () => number = Math.random): CallAttempts | undefined {
    const policy = decision.retryPolicy;
    if (policy === undefined || (policy.retryOn.size === 0 && policy.perTryTimeoutMs === undefined)) return undefined;
    return new CallAttempts(policy, random);
  }

  /** Whether no more attempts will be made (a response arrived, or the requests outgrew the replay buffer). */
  get isCommitted(): boolean {
    return this.committed;
  }

  /** The time each attempt may take, in ms; undefined for no limit. */
  get perTryTimeoutMs(): number | undefined {
    return this.policy.perTryTimeoutMs;
  }

  /** Commits the call: the attempt in progress is the last. */
  commit(): void {
    this.committed = true;
  }

  /** Counts a request of `bytes` kept for replay; past RETRY_BUFFER_BYTES the call commits. Whether it is still kept. */
  keep(bytes: number): boolean {
    if (this.committed) return false;
    this.bufferedBytes += bytes;
    if (this.bufferedBytes > RETRY_BUFFER_BYTES) this.committed = true;
    return !this.committed;
  }

  /**
   * An attempt ended with status `code` before the call committed (`perTryTimedOut` when the per-try timeout ended it;
   * `pushback` the server's grpc-retry-pushback-ms, if any): the ms to wait before the next attempt, or undefined when
   * the call ends with this status.
   */
  retryDelayMs(code: number, perTryTimedOut: boolean, pushback: string | undefined): number | undefined {
    if (this.committed || this.attempts >= this.maxAttempts) return undefined;
    const name = GRPC_STATUS_NAMES[code];
    const retryable = perTryTimedOut
      ? this.policy.otherRetryOn.some((condition) => PER_TRY_TIMEOUT_CONDITIONS.includes(condition))
      : name !== undefined && this.policy.retryOn.has(name as GrpcRetryCode);
    if (!retryable) return undefined;
    if (pushback !== undefined) {
      if (!/^\d{1,9}$/.test(pushback.trim())) return undefined;
      this.backoffCeilingMs = this.policy.baseIntervalMs;
      return Number(pushback.trim());
    }
    const delay = this.random() * this.backoffCeilingMs;
    this.backoffCeilingMs = Math.min(this.backoffCeilingMs * 2, this.policy.maxIntervalMs);
    return delay;
  }

  /** The decision of the next attempt after the one `previous` routed (counted as tried), or why none can be picked. */
  next(previous: RouteDecision): RouteDecision | XdsError {
    const tried = (this.tried ??= []);
    tried.push(keyOf(previous.endpoint));
    this.attempts++;
    return previous.pickAgain((endpoint) => tried.includes(keyOf(endpoint)));
  }

  /** How the attempts went so far, for messages: `attempt 2 of 3`. */
  describe(): string {
    return `attempt ${this.attempts} of ${this.maxAttempts}`;
  }
}

function keyOf(endpoint: EndpointModel): string {
  return `${endpoint.address}:${endpoint.port}`;
}
