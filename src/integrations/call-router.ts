// Per-call routing shared by the grpc-js and Connect integrations.
//
// A CallRouter subscribes once to `xds.router(target)` and keeps the latest Router: the hot path,
// route(path, headers), is a synchronous call on it, with no observable created per call. Calls made
// before the first snapshot wait for it with whenReady(), bounded by their own deadline.
//
// It also owns the connections to endpoints (whatever the integration dials: a grpc-js Channel, a
// Connect transport), one per endpoint address:port, opened on first use and reused. When a snapshot
// arrives, every connection whose endpoint is in none of its clusters is closed ("departed");
// close() closes all ("closed").

import type { Subscription } from "rxjs";
import type { SocketAddressModel } from "../resources/endpoints.js";
import type { RequestHeaders } from "../resources/match/route-match.js";
import type { RouteDecision, Router } from "../routing/router.js";
import type { XdsClient } from "../xds-client.js";
import { XdsError } from "../xds-error.js";

/** How an integration opens and closes its connection to one endpoint. */
export interface EndpointConnector<C> {
  /** Opens a connection to `authority` (`address:port`, `[v6]:port`) for `endpoint`. */
  open(authority: string, endpoint: SocketAddressModel): C;
  /**
   * Closes a connection `open` returned: because its endpoint left the snapshot ("departed": calls in
   * flight on it may finish), or because the router closed ("closed").
   */
  close(connection: C, why: "departed" | "closed"): void;
}

/** What whenReady() resolves to: the first snapshot arrived, or the deadline passed first. */
export type ReadyOutcome = "ready" | "deadline";

/** Options of whenReady(). */
export interface WhenReadyOptions {
  /** Stop waiting at this time (ms since the epoch); Infinity or undefined for no limit. */
  readonly deadline?: number;
  /** Stop waiting when aborted; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

interface Waiter {
  readonly resolve: (outcome: ReadyOutcome) => void;
  readonly reject: (reason: unknown) => void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Node's setTimeout takes at most 2^31 - 1 ms; a later deadline is waited for without a timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The latest Router of one target and the pooled connections to its endpoints. */
export class CallRouter<C> {
  /** The target as dialled. */
  readonly target: string;
  private router: Router | undefined;
  private closed = false;
  private readonly subscription: Subscription;
  private readonly waiters = new Set<Waiter>();
  private readonly connections = new Map<string, C>();

  constructor(
    xds: XdsClient,
    target: string,
    private readonly connector: EndpointConnector<C>,
  ) {
    this.target = target;
    // router() throws synchronously on a malformed target: construction fails, not the first call.
    this.subscription = xds.router(target).subscribe({
      next: (router) => this.update(router),
      error: (reason: unknown) => this.shutdown(XdsError.from(reason, "CLOSED")),
      complete: () => this.shutdown(new XdsError("CLOSED", `the xDS client of target ${JSON.stringify(target)} was closed`)),
    });
  }

  /** Whether a snapshot has arrived (and the router is not closed). */
  get ready(): boolean {
    return this.router !== undefined && !this.closed;
  }

  /** Whether close() was called or the XdsClient closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Routes a call synchronously by its path and headers (lower-case keys): the decision, or an XdsError
   * saying which part is missing and why (CLOSED once closed). Undefined while no snapshot has arrived:
   * wait with whenReady() first.
   */
  route(path: string, headers: RequestHeaders): RouteDecision | XdsError | undefined {
    if (this.closed) return new XdsError("CLOSED", `the router of target ${JSON.stringify(this.target)} is closed`);
    return this.router?.route({ path, headers });
  }

  /** Resolves "ready" when the first snapshot is there (at once if it is), "deadline" if the deadline passes first; rejects with XdsError CLOSED on close. */
  whenReady(options: WhenReadyOptions = {}): Promise<ReadyOutcome> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.router !== undefined) return Promise.resolve("ready");
    const deadline = options.deadline ?? Infinity;
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (deadline <= Date.now()) return Promise.resolve("deadline");
    return new Promise<ReadyOutcome>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined, signal, onAbort: undefined };
      const delay = deadline - Date.now();
      if (delay <= MAX_TIMER_MS) waiter.timer = setTimeout(() => this.settle(waiter, (w) => w.resolve("deadline")), delay);
      if (signal !== undefined) {
        waiter.onAbort = () => this.settle(waiter, (w) => w.reject(signal.reason));
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.waiters.add(waiter);
    });
  }

  /** The pooled connection to `endpoint`, opened on first use. Throws XdsError CLOSED once closed. */
  connection(endpoint: SocketAddressModel): C {
    if (this.closed) throw this.closedError();
    const authority = authorityOf(endpoint);
    let connection = this.connections.get(authority);
    if (connection === undefined) {
      connection = this.connector.open(authority, endpoint);
      this.connections.set(authority, connection);
    }
    return connection;
  }

  /** The authorities (`address:port`) that have an open pooled connection, in opening order; for introspection and tests. */
  openEndpoints(): string[] {
    return [...this.connections.keys()];
  }

  /** Unsubscribes, closes every pooled connection and rejects waiting calls. Idempotent. */
  close(): void {
    this.shutdown(this.closedError());
  }

  private closedError(): XdsError {
    return new XdsError("CLOSED", `the router of target ${JSON.stringify(this.target)} is closed`);
  }

  private update(router: Router): void {
    if (this.closed) return;
    this.router = router;
    if (this.connections.size > 0) this.closeDeparted(router);
    for (const waiter of [...this.waiters]) this.settle(waiter, (w) => w.resolve("ready"));
  }

  /** Closes the connections whose endpoint is in no cluster of the router's snapshot. */
  private closeDeparted(router: Router): void {
    const present = new Set<string>();
    for (const cluster of router.snapshot.clusters.values()) {
      for (const localities of cluster.endpoints?.priorities ?? []) {
        for (const locality of localities) {
          for (const endpoint of locality.endpoints) present.add(authorityOf(endpoint));
        }
      }
    }
    for (const [authority, connection] of this.connections) {
      if (present.has(authority)) continue;
      this.connections.delete(authority);
      this.connector.close(connection, "departed");
    }
  }

  private shutdown(reason: XdsError): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.unsubscribe();
    for (const waiter of [...this.waiters]) this.settle(waiter, (w) => w.reject(reason));
    const connections = [...this.connections.values()];
    this.connections.clear();
    for (const connection of connections) this.connector.close(connection, "closed");
  }

  private settle(waiter: Waiter, outcome: (waiter: Waiter) => void): void {
    if (!this.waiters.delete(waiter)) return;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener("abort", waiter.onAbort);
    outcome(waiter);
  }
}

/** `address:port`, with an IPv6 address in brackets. */
export function authorityOf(endpoint: SocketAddressModel): string {
  return endpoint.address.includes(":") ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
}

/**
 * The text of the UNAVAILABLE status a routing failure becomes: the router's message (which names the
 * missing listener, route configuration, route, cluster or endpoint and why), the method, and the code.
 */
export function routingFailureMessage(path: string, error: XdsError): string {
  return `xDS routing of ${path} failed: ${error.message} [${error.code}]`;
}

/** The end of a call: the earlier of the caller's deadline and `routedAt + timeoutMs` (ms since the epoch; Infinity for none; a timeout of 0 or undefined is none). */
export function effectiveDeadline(callerDeadline: number, routedAt: number, timeoutMs: number | undefined): number {
  if (timeoutMs === undefined || timeoutMs <= 0) return callerDeadline;
  return Math.min(callerDeadline, routedAt + timeoutMs);
}
