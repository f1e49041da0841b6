// One grpc-js call on an XdsChannel: it is routed when it starts (when its metadata is known), goes through its
// route's HTTP filters (fault injection, local rate limit; call-filters.ts), then is handed to a real call on the
// pooled channel of the picked endpoint. Until then, what the client asks of it (credentials, messages, half-close,
// reads) is kept and replayed on the real call.
//
// A call that cannot be routed yet waits as call-router.ts says (before the first snapshot; through curable
// failures when it is wait-for-ready, which grpc-js carries in the metadata's options), up to its own deadline.
// The route's timeout counts from the routing decision (as grpc-js applies a config selector's timeout), so
// time spent waiting is bounded by the caller's deadline only.
//
// With a retry policy (call-attempts.ts) each attempt is a real call of its own: the requests are kept until the
// call commits (the first response headers or message, or more requests than the replay buffer holds), and an
// attempt that ends with a retryable status before that is followed, after its backoff, by another on a freshly
// picked endpoint, the same requests replayed, with `grpc-previous-rpc-attempts` in its metadata (and, as grpc-js
// does, in the response metadata the caller sees). A per-try timeout cancels an attempt with DEADLINE_EXCEEDED.
// Nothing outlives the call's deadline: a backoff or fault delay it would outlast ends the call DEADLINE_EXCEEDED.
//
// Every failure on the way ends the call with a status, never an exception: credentials from no loaded
// copy of grpc-js FAILED_PRECONDITION; routing failures UNAVAILABLE with the router's message; a meta
// extractor that throws, or a channel or call that grpc-js refuses to create, INTERNAL.
//
// Each attempt's decision learns how the attempt ended: the real call's status, as it reaches the listener (a
// transport failure arrives as UNAVAILABLE), goes to its done(); a call that never reached the endpoint
// (cancelled before dispatch, delayed or aborted by a fault, no channel or call could be made) ends its decision
// without a status.

import type { CallCredentials, ChannelInterface, InterceptingListener, Metadata, StatusObject, status } from "@grpc/grpc-js";
import type { RequestHeaders } from "../../resources/match/route-match.js";
import { XdsError } from "../../xds-error.js";
import type { RouteDecision } from "../../routing/router.js";
import { CallAttempts, PREVIOUS_ATTEMPTS_KEY, PUSHBACK_KEY } from "../call-attempts.js";
import { applyCallFilters, type FilterVerdict } from "../call-filters.js";
import { authorityOf, effectiveDeadline, isRouteDeadline, MAX_TIMER_MS, routeDeadlineMessage, routingFailureMessage, type CallRouter } from "../call-router.js";
import { routingHeaders } from "../routing-meta.js";
import { AttemptListener, ReportingListener, type AttemptSink } from "./attempt-listener.js";
import type { GrpcJs } from "./grpc-js-copy.js";
import type { GrpcMetaExtractor } from "./grpc-meta-extractor.js";
import { KeptRequests } from "./kept-requests.js";
import { hasMetainfo, sendMetainfo } from "../metainfo.js";

/** grpc-js's Call (not exported by name from its index). */
export type GrpcCall = ReturnType<ChannelInterface["createCall"]>;
type MessageContext = Parameters<GrpcCall["sendMessageWithContext"]>[0];
/** grpc-js's AuthContext (1.14 on); null with the older copies of the peer range, which have none. */
type AuthContext = GrpcCall extends { getAuthContext(): infer A } ? A : null;
type ParentCall = Parameters<ChannelInterface["createCall"]>[3];
type Deadline = Parameters<ChannelInterface["createCall"]>[1];

/** What a RoutedCall needs from its channel. */
export interface RoutedCallScope {
  readonly router: CallRouter<ChannelInterface>;
  readonly target: string;
  readonly metaExtractor: GrpcMetaExtractor;
  /** Whether metainfo values travel as call metadata. */
  readonly propagateMetainfo: boolean;
  /** The copy of grpc-js the client's credentials come from: its Metadata and status codes. */
  readonly grpc: GrpcJs;
  /** Why no call can be made (the credentials come from no loaded copy of grpc-js); undefined when calls can be made. */
  readonly unusable: string | undefined;
}

/** The arguments createCall was given, passed on to the real call. */
export interface CallArguments {
  readonly method: string;
  readonly deadline: Deadline;
  readonly host: string | null | undefined;
  readonly parentCall: ParentCall;
  readonly propagateFlags: number | null | undefined;
}

/** A grpc-js Call routed by xDS at start. */
export class RoutedCall implements GrpcCall, AttemptSink {
  private real: GrpcCall | undefined;
  private listener: InterceptingListener | undefined;
  private credentials: CallCredentials | undefined;
  private metadata: Metadata | undefined;
  private headers: RequestHeaders | undefined;
  /** Requests not sent yet, and while the call may retry, those sent to replay. */
  private readonly kept = new KeptRequests();
  private halfClosed = false;
  private readStarted = false;
  /** Whether the current attempt is being given the requests so far, one at a time (grpc-js takes one write at a time). */
  private replaying = false;
  /** Set once this call has ended without a real call (cancelled, routing failed, deadline), or after its last attempt. */
  private ended: StatusObject | undefined;
  private waiting: AbortController | undefined;
  /** The call's end, in ms since the epoch (the caller's deadline, capped by the route's timeout); Infinity for none. */
  private deadline = Infinity;
  /** The retry state, when the route has a retry policy. */
  private attempts: CallAttempts | undefined;
  /** Whether the current attempt's response headers reached the caller. */
  private sawMetadata = false;
  private cancelled = false;
  /** A fault delay or retry backoff in progress, and what to undo if the call is cancelled meanwhile. */
  private pause: { readonly timer: NodeJS.Timeout; readonly verdict: FilterVerdict | undefined } | undefined;

  constructor(
    private readonly scope: RoutedCallScope,
    private readonly args: CallArguments,
    private readonly callNumber: number,
  ) {}

  start(callMetadata: Metadata, listener: InterceptingListener): void {
    this.listener = listener;
    if (this.ended !== undefined) {
      this.deliver(this.ended);
      return;
    }
    const { router, target, metaExtractor, grpc, unusable } = this.scope;
    const path = this.args.method;
    if (unusable !== undefined) {
      this.end(grpc.status.FAILED_PRECONDITION, `xDS call ${path} to ${JSON.stringify(target)} cannot be made: ${unusable}`);
      return;
    }
    let metadata = callMetadata;
    let headers: RequestHeaders;
    try {
      // Metainfo and the extractor are read now, in the caller's async context, even if routing has to wait.
      if (this.scope.propagateMetainfo && hasMetainfo()) {
        metadata = callMetadata.clone(); // the caller's Metadata may be reused for calls in other contexts
        sendMetainfo((key) => metadata.get(key).length > 0, (key, value) => metadata.set(key, value));
      }
    } catch (reason: unknown) {
      this.end(grpc.status.INTERNAL, `xDS call ${path}: ${messageOf(reason)}`);
      return;
    }
    try {
      headers = routingHeaders(metaExtractor({ path, metadata, target }), { contentType: "application/grpc", authority: target, path });
    } catch (reason: unknown) {
      this.end(grpc.status.INTERNAL, `the xDS meta extractor threw for ${path}: ${messageOf(reason)}`);
      return;
    }
    this.metadata = metadata;
    this.headers = headers;
    const first = router.route(path, headers);
    // gRPC's wait-for-ready: grpc-js carries it in the metadata's options (`new Metadata({ waitForReady: true })`).
    const waitForReady = metadata.getOptions().waitForReady === true;
    if (first !== undefined && !router.mustWait(first, waitForReady)) {
      this.begin(first);
      return;
    }
    const waiting = new AbortController();
    this.waiting = waiting;
    const options = { deadline: deadlineMs(this.args.deadline), waitForReady, signal: waiting.signal };
    router
      .waitForRoute(path, headers, options, first instanceof XdsError ? first : undefined)
      .then((result) => {
        this.waiting = undefined;
        // undefined: the call was cancelled, and cancelWithStatus ended it.
        if (result === undefined) return;
        if (isRouteDeadline(result)) this.end(grpc.status.DEADLINE_EXCEEDED, routeDeadlineMessage(path, target, result));
        else this.begin(result);
      })
      // begin() and end() do not throw; should that ever change, the call still ends, and nothing is left unhandled.
      .catch((reason: unknown) => this.end(grpc.status.INTERNAL, `xDS call ${path} failed: ${messageOf(reason)}`));
  }

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    if (this.ended !== undefined) return;
    const real = this.real;
    const attempts = this.attempts;
    if (real === undefined || this.replaying) {
      // Before an attempt, or while one is given the requests so far: the replay sends it in its turn.
      this.kept.keep(context, message);
      attempts?.keep(message.length);
    } else if (attempts === undefined || attempts.isCommitted) {
      real.sendMessageWithContext(context, message);
    } else if (attempts.keep(message.length)) {
      // The call may still retry: keep the request for a replay.
      this.kept.sendKept(real, context, message);
    } else {
      // It outgrew the replay buffer: the call is committed to this attempt.
      this.kept.clear();
      real.sendMessageWithContext(context, message);
    }
  }

  startRead(): void {
    this.readStarted = true;
    this.real?.startRead();
  }

  halfClose(): void {
    this.halfClosed = true;
    if (!this.replaying) this.real?.halfClose();
  }

  cancelWithStatus(code: status, details: string): void {
    this.cancelled = true;
    if (this.real !== undefined) {
      this.real.cancelWithStatus(code, details);
      return;
    }
    this.waiting?.abort();
    this.waiting = undefined;
    this.stopPause();
    this.end(code, details);
  }

  setCredentials(credentials: CallCredentials): void {
    this.credentials = credentials;
    this.real?.setCredentials(credentials);
  }

  getPeer(): string {
    return this.real?.getPeer() ?? "";
  }

  getCallNumber(): number {
    return this.callNumber;
  }

  getAuthContext(): AuthContext {
    // Copies of grpc-js before 1.14 have no getAuthContext.
    const real = this.real as { getAuthContext?: () => AuthContext } | undefined;
    return real?.getAuthContext?.() ?? null;
  }

  /** The current attempt's response headers: the call commits, and the caller sees them. */
  attemptMetadata(metadata: Metadata): void {
    this.attempts!.commit();
    if (!this.replaying) this.kept.clear();
    this.sawMetadata = true;
    this.withPreviousAttempts(metadata);
    this.listener!.onReceiveMetadata(metadata);
  }

  /** A response message of the current attempt (after its headers). */
  attemptMessage(message: unknown): void {
    this.attempts!.commit();
    this.listener!.onReceiveMessage(message);
  }

  /** An attempt ended: the caller sees its status, unless the call retries. */
  attemptEnded(attempt: AttemptListener, status: StatusObject): void {
    const attempts = this.attempts!;
    this.real = undefined;
    this.replaying = false;
    const pushback = status.metadata.get(PUSHBACK_KEY)[0];
    const delay = this.cancelled ? undefined : attempts.retryDelayMs(status.code, attempt.perTryTimedOut, typeof pushback === "string" ? pushback : undefined);
    if (delay === undefined) {
      if (!this.sawMetadata) this.withPreviousAttempts(status.metadata);
      this.ended = status;
      this.listener!.onReceiveStatus(status);
      return;
    }
    const why = `waited to retry after ${attempts.describe()} failed with ${status.code} (${status.details})`;
    this.pauseFor(delay, undefined, why, () => {
      const next = attempts.next(attempt.decision);
      if (next instanceof XdsError) this.end(status.code, `${status.details}; no retry: ${routingFailureMessage(this.args.method, next)}`);
      else this.dispatch(next);
    });
  }

  /** Starts the call on its first decision: its filters, then its first attempt. Never throws. */
  private begin(decision: RouteDecision | XdsError): void {
    if (this.ended !== undefined) {
      if (!(decision instanceof XdsError)) decision.done();
      return;
    }
    const path = this.args.method;
    const grpc = this.scope.grpc;
    if (decision instanceof XdsError) {
      this.end(grpc.status.UNAVAILABLE, routingFailureMessage(path, decision));
      return;
    }
    this.deadline = effectiveDeadline(deadlineMs(this.args.deadline), Date.now(), decision.timeoutMs);
    const filters = decision.httpFilters;
    const verdict = filters === undefined ? undefined : applyCallFilters(filters, { path, headers: this.headers!, cluster: decision.cluster });
    if (verdict === undefined) {
      this.firstAttempt(decision);
      return;
    }
    // The endpoint is not held while the fault delays or ends the call; the call picks one again after a delay.
    decision.done();
    const after = (): void => {
      verdict.finish();
      if (verdict.abort !== undefined) this.end(verdict.abort.code as status, verdict.abort.message);
      else this.firstAttempt(decision.pickAgain());
    };
    if (verdict.delayMs > 0) this.pauseFor(verdict.delayMs, verdict, `was delayed ${verdict.delayMs} ms by fault injection`, after);
    else after();
  }

  private firstAttempt(decision: RouteDecision | XdsError): void {
    if (decision instanceof XdsError) {
      this.end(this.scope.grpc.status.UNAVAILABLE, routingFailureMessage(this.args.method, decision));
      return;
    }
    const attempts = CallAttempts.of(decision);
    if (attempts !== undefined) for (const length of this.kept.lengths()) attempts.keep(length);
    this.attempts = attempts;
    this.dispatch(decision);
  }

  /** Hands one attempt to a real call on the decision's endpoint, replaying what the caller sent. Never throws. */
  private dispatch(decision: RouteDecision): void {
    const path = this.args.method;
    const { router, grpc } = this.scope;
    const endpoint = authorityOf(decision.endpoint);
    let channel: ChannelInterface;
    try {
      channel = router.connection(decision.endpoint, decision.leafCluster);
    } catch (reason: unknown) {
      decision.done();
      if (reason instanceof XdsError) this.end(grpc.status.UNAVAILABLE, routingFailureMessage(path, reason));
      else this.end(grpc.status.INTERNAL, `xDS call ${path} to endpoint ${endpoint} failed: grpc-js could not open a channel to it: ${messageOf(reason)}`);
      return;
    }
    const attempts = this.attempts;
    let metadata = this.metadata!;
    if (attempts !== undefined && attempts.attempts > 1) {
      metadata = metadata.clone();
      metadata.set(PREVIOUS_ATTEMPTS_KEY, String(attempts.attempts - 1));
    }
    const { host, parentCall, propagateFlags } = this.args;
    const listener = attempts === undefined ? new ReportingListener(this.listener!, decision) : new AttemptListener(this, decision);
    let real: GrpcCall;
    try {
      real = channel.createCall(path, this.deadline, host, parentCall, propagateFlags);
      if (this.credentials !== undefined) real.setCredentials(this.credentials);
      real.start(metadata, listener);
    } catch (reason: unknown) {
      decision.done();
      this.end(grpc.status.INTERNAL, `xDS call ${path} to endpoint ${endpoint} failed: grpc-js could not start it: ${messageOf(reason)}`);
      return;
    }
    this.real = real;
    this.sawMetadata = false;
    const perTry = attempts?.perTryTimeoutMs;
    if (perTry !== undefined && Date.now() + perTry < this.deadline) {
      (listener as AttemptListener).timeOutAfter(perTry, () =>
        real.cancelWithStatus(grpc.status.DEADLINE_EXCEEDED, `xDS per-try timeout of ${perTry} ms passed for ${path} (${attempts!.describe()}, endpoint ${endpoint})`),
      );
    }
    if (this.kept.size > 0) {
      this.replaying = true;
      this.replay(real, 0);
    } else if (this.halfClosed) {
      real.halfClose();
    }
    if (this.readStarted) real.startRead();
  }

  /**
   * Gives the attempt on `real` the kept request `i` and, once it is written, the next; then the half-close. grpc-js
   * holds a single write until its call is under way, so each waits for the one before, as the caller's writes do.
   */
  private replay(real: GrpcCall, i: number): void {
    if (this.real !== real) return;
    try {
      if (this.kept.replay(real, i, () => this.replay(real, i + 1))) return;
    } catch (reason: unknown) {
      const endpoint = real.getPeer();
      real.cancelWithStatus(this.scope.grpc.status.INTERNAL, `xDS call ${this.args.method} to endpoint ${endpoint} failed: grpc-js refused a request: ${messageOf(reason)}`);
      return;
    }
    this.replaying = false;
    if (this.attempts === undefined || this.attempts.isCommitted) this.kept.clear();
    if (this.halfClosed) real.halfClose();
  }

  /**
   * Waits `ms` (a fault delay, a retry backoff), then runs `then`; when the call's deadline comes first, ends the call
   * DEADLINE_EXCEEDED saying what it `was doing`.
   */
  private pauseFor(ms: number, verdict: FilterVerdict | undefined, doing: string, then: () => void): void {
    const left = this.deadline - Date.now();
    const timer = setTimeout(
      () => {
        this.pause = undefined;
        if (ms < left) {
          then();
          return;
        }
        verdict?.finish();
        this.end(this.scope.grpc.status.DEADLINE_EXCEEDED, `deadline exceeded while ${this.args.method} ${doing}`);
      },
      Math.max(0, Math.min(ms, left, MAX_TIMER_MS)),
    );
    this.pause = { timer, verdict };
  }

  private stopPause(): void {
    const pause = this.pause;
    if (pause === undefined) return;
    this.pause = undefined;
    clearTimeout(pause.timer);
    pause.verdict?.finish();
  }

  /** Sets `grpc-previous-rpc-attempts` on metadata the caller receives, when the call was retried. */
  private withPreviousAttempts(metadata: Metadata): void {
    const attempts = this.attempts;
    if (attempts !== undefined && attempts.attempts > 1) metadata.set(PREVIOUS_ATTEMPTS_KEY, String(attempts.attempts - 1));
  }

  /** Ends the call without a real call; the status reaches the listener once, asynchronously. */
  private end(code: status, details: string): void {
    if (this.ended !== undefined || this.real !== undefined) return;
    const metadata = new this.scope.grpc.Metadata();
    this.withPreviousAttempts(metadata);
    const ended: StatusObject = { code, details, metadata };
    this.ended = ended;
    this.kept.clear();
    if (this.listener !== undefined) this.deliver(ended);
  }

  private deliver(ended: StatusObject): void {
    const listener = this.listener!;
    process.nextTick(() => listener.onReceiveStatus(ended));
  }
}

/** A grpc-js deadline in ms since the epoch; Infinity for none. */
export function deadlineMs(deadline: Deadline): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

function messageOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
