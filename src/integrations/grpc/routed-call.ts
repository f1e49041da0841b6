// One grpc-js call on an XdsChannel: it is routed when it starts (when its metadata is known), then
// handed to a real call on the pooled channel of the picked endpoint. Until then, what the client asks
// of it (credentials, messages, half-close, reads) is kept and replayed, in order, on the real call.
//
// A call that cannot be routed yet waits as call-router.ts says (before the first snapshot; through curable
// failures when it is wait-for-ready, which grpc-js carries in the metadata's options), up to its own deadline.
// The route's timeout counts from the routing decision (as grpc-js applies a config selector's timeout), so
// time spent waiting is bounded by the caller's deadline only.
//
// Every failure on the way ends the call with a status, never an exception: credentials from no loaded
// copy of grpc-js FAILED_PRECONDITION; routing failures UNAVAILABLE with the router's message; a meta
// extractor that throws, or a channel or call that grpc-js refuses to create, INTERNAL.
//
// The routing decision learns how the call ended: the real call's status, as it reaches the listener (a
// transport failure arrives as UNAVAILABLE), goes to its done(); a call that never reached the endpoint
// (cancelled before dispatch, no channel or call could be made) ends its decision without a status.

import type { CallCredentials, ChannelInterface, InterceptingListener, Metadata, StatusObject, status } from "@grpc/grpc-js";
import type { RequestHeaders } from "../../resources/match/route-match.js";
import { XdsError } from "../../xds-error.js";
import type { RouteDecision } from "../../routing/router.js";
import { authorityOf, effectiveDeadline, isRouteDeadline, routeDeadlineMessage, routingFailureMessage, type CallRouter } from "../call-router.js";
import { routingHeaders } from "../routing-meta.js";
import type { GrpcJs } from "./grpc-js-copy.js";
import type { GrpcMetaExtractor } from "./grpc-meta-extractor.js";
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

/** Forwards the real call's events to the caller's listener, and its status to the routing decision first. */
class ReportingListener implements InterceptingListener {
  constructor(
    private readonly listener: InterceptingListener,
    private readonly decision: RouteDecision,
  ) {}

  onReceiveMetadata(metadata: Metadata): void {
    this.listener.onReceiveMetadata(metadata);
  }

  onReceiveMessage(message: unknown): void {
    this.listener.onReceiveMessage(message);
  }

  onReceiveStatus(status: StatusObject): void {
    this.decision.done(status.code);
    this.listener.onReceiveStatus(status);
  }
}

/** A grpc-js Call routed by xDS at start. */
export class RoutedCall implements GrpcCall {
  private real: GrpcCall | undefined;
  private listener: InterceptingListener | undefined;
  private credentials: CallCredentials | undefined;
  private readonly pending: ((call: GrpcCall) => void)[] = [];
  /** Set once this call has ended without a real call (cancelled, routing failed, deadline). */
  private ended: StatusObject | undefined;
  private waiting: AbortController | undefined;

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
    const first = router.route(path, headers);
    // gRPC's wait-for-ready: grpc-js carries it in the metadata's options (`new Metadata({ waitForReady: true })`).
    const waitForReady = metadata.getOptions().waitForReady === true;
    if (first !== undefined && !router.mustWait(first, waitForReady)) {
      this.dispatch(first, metadata);
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
        else this.dispatch(result, metadata);
      })
      // dispatch() and end() do not throw; should that ever change, the call still ends, and nothing is left unhandled.
      .catch((reason: unknown) => this.end(grpc.status.INTERNAL, `xDS call ${path} failed: ${messageOf(reason)}`));
  }

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    if (this.real !== undefined) this.real.sendMessageWithContext(context, message);
    else if (this.ended === undefined) this.pending.push((call) => call.sendMessageWithContext(context, message));
  }

  startRead(): void {
    if (this.real !== undefined) this.real.startRead();
    else if (this.ended === undefined) this.pending.push((call) => call.startRead());
  }

  halfClose(): void {
    if (this.real !== undefined) this.real.halfClose();
    else if (this.ended === undefined) this.pending.push((call) => call.halfClose());
  }

  cancelWithStatus(code: status, details: string): void {
    if (this.real !== undefined) {
      this.real.cancelWithStatus(code, details);
      return;
    }
    this.waiting?.abort();
    this.waiting = undefined;
    this.end(code, details);
  }

  setCredentials(credentials: CallCredentials): void {
    if (this.real !== undefined) this.real.setCredentials(credentials);
    else this.credentials = credentials;
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

  /** Hands the call to a real call on the decision's endpoint, or ends it with the routing failure. Never throws. */
  private dispatch(decision: RouteDecision | XdsError, metadata: Metadata): void {
    if (this.ended !== undefined) {
      if (!(decision instanceof XdsError)) decision.done();
      return;
    }
    const path = this.args.method;
    const { router, grpc } = this.scope;
    if (decision instanceof XdsError) {
      this.end(grpc.status.UNAVAILABLE, routingFailureMessage(path, decision));
      return;
    }
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
    const deadline = effectiveDeadline(deadlineMs(this.args.deadline), Date.now(), decision.timeoutMs);
    const { host, parentCall, propagateFlags } = this.args;
    let real: GrpcCall;
    const listener = new ReportingListener(this.listener!, decision);
    try {
      real = channel.createCall(path, deadline, host, parentCall, propagateFlags);
      if (this.credentials !== undefined) real.setCredentials(this.credentials);
      real.start(metadata, listener);
    } catch (reason: unknown) {
      decision.done();
      this.end(grpc.status.INTERNAL, `xDS call ${path} to endpoint ${endpoint} failed: grpc-js could not start it: ${messageOf(reason)}`);
      return;
    }
    this.real = real;
    try {
      for (const operation of this.pending) operation(real);
    } catch (reason: unknown) {
      real.cancelWithStatus(grpc.status.INTERNAL, `xDS call ${path} to endpoint ${endpoint} failed: grpc-js refused what the client sent before routing: ${messageOf(reason)}`);
    }
    this.pending.length = 0;
  }

  /** Ends the call without a real call; the status reaches the listener once, asynchronously. */
  private end(code: status, details: string): void {
    if (this.ended !== undefined || this.real !== undefined) return;
    const ended: StatusObject = { code, details, metadata: new this.scope.grpc.Metadata() };
    this.ended = ended;
    this.pending.length = 0;
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
