// The listeners a RoutedCall gives its real calls. Without a retry policy, ReportingListener passes every event on,
// telling the decision how the call ended first. With one, each attempt has an AttemptListener, which tells its own
// decision how the attempt ended and leaves to the call (an AttemptSink) what the caller sees: a response commits the
// call, a status ends it or leads to another attempt.

import type { InterceptingListener, Metadata, StatusObject } from "@grpc/grpc-js";
import type { RouteDecision } from "../../routing/route-decision.js";

/** What an attempt's events go to: the call, which decides what its caller sees. */
export interface AttemptSink {
  /** The current attempt's response headers. */
  attemptMetadata(metadata: Metadata): void;
  /** A response message of the current attempt. */
  attemptMessage(message: unknown): void;
  /** An attempt ended with `status` (its decision already told). */
  attemptEnded(attempt: AttemptListener, status: StatusObject): void;
}

/** Forwards the real call's events to the caller's listener, and its status to the routing decision first. */
export class ReportingListener implements InterceptingListener {
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

/** The listener of one attempt of a call that may retry: its events go to the call, which decides what the caller sees. */
export class AttemptListener implements InterceptingListener {
  /** Set when the per-try timeout cancelled the attempt. */
  perTryTimedOut = false;
  /** The per-try timeout's timer, cleared when the attempt ends. */
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly call: AttemptSink,
    readonly decision: RouteDecision,
  ) {}

  /** The per-try timeout: after `ms`, unless the attempt ended, `cancel` it (and `perTryTimedOut` is set). */
  timeOutAfter(ms: number, cancel: () => void): void {
    this.timer = setTimeout(() => {
      this.perTryTimedOut = true;
      cancel();
    }, ms);
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.call.attemptMetadata(metadata);
  }

  onReceiveMessage(message: unknown): void {
    this.call.attemptMessage(message);
  }

  onReceiveStatus(status: StatusObject): void {
    clearTimeout(this.timer);
    this.decision.done(status.code);
    this.call.attemptEnded(this, status);
  }
}
