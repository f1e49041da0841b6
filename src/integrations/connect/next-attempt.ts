// How a Connect call goes on after a failed attempt (gRFC A44; call-attempts.ts decides whether and when): wait out the
// backoff within the call's deadline, then the next attempt's decision; and the waits of fault delays.

import { Code, ConnectError } from "@connectrpc/connect";
import { firstValueFrom, fromEvent, map, takeUntil, timer } from "../../rx.js";
import type { RouteDecision } from "../../routing/route-decision.js";
import { XdsError } from "../../xds-error.js";
import { PREVIOUS_ATTEMPTS_KEY, PUSHBACK_KEY, type CallAttempts } from "../call-attempts.js";
import { MAX_TIMER_MS, routingFailureMessage } from "../call-router.js";

/**
 * After an attempt of a call to `path` failed with `reason`: the decision of the next attempt, once its backoff is over;
 * or throws the error the call ends with (the attempt's, with the retries' count; DeadlineExceeded when the deadline
 * comes first; Canceled when `signal` aborts).
 */
export async function nextAttempt(
  reason: unknown,
  attempts: CallAttempts | undefined,
  decision: RouteDecision,
  perTryTimedOut: boolean,
  signal: AbortSignal | undefined,
  deadline: number,
  path: string,
): Promise<RouteDecision> {
  const error = ConnectError.from(reason);
  if (attempts === undefined || signal?.aborted === true) throw withPreviousAttempts(error, attempts);
  const delay = attempts.retryDelayMs(error.code, perTryTimedOut, error.metadata.get(PUSHBACK_KEY) ?? undefined);
  if (delay === undefined) throw withPreviousAttempts(error, attempts);
  await pause(delay, deadline, signal, `${path} waited to retry after ${attempts.describe()} failed with ${Code[error.code]} (${error.rawMessage})`);
  const next = attempts.next(decision);
  if (next instanceof XdsError) {
    throw withPreviousAttempts(new ConnectError(`${error.rawMessage}; no retry: ${routingFailureMessage(path, next)}`, error.code, error.metadata), attempts);
  }
  return next;
}

/** Waits `ms` (a fault delay, a retry backoff); rejects DeadlineExceeded saying what the call was `doing` when the deadline comes first, Canceled when `signal` aborts. */
export async function pause(ms: number, deadline: number, signal: AbortSignal | undefined, doing: string): Promise<void> {
  const left = deadline - Date.now();
  let waited = timer(Math.max(0, Math.min(ms, left, MAX_TIMER_MS))).pipe(map(() => ms < left));
  if (signal !== undefined) waited = waited.pipe(takeUntil(fromEvent(signal, "abort")));
  const inTime = await firstValueFrom(waited, { defaultValue: undefined });
  if (inTime === undefined) throw ConnectError.from(signal?.reason, Code.Canceled);
  if (!inTime) throw new ConnectError(`deadline exceeded while ${doing}`, Code.DeadlineExceeded);
}

/** `error`, with `grpc-previous-rpc-attempts` in its metadata when the call was retried. */
function withPreviousAttempts(error: ConnectError, attempts: CallAttempts | undefined): ConnectError {
  if (attempts !== undefined && attempts.attempts > 1) error.metadata.set(PREVIOUS_ATTEMPTS_KEY, String(attempts.attempts - 1));
  return error;
}
