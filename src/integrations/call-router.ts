// Per-call routing shared by the grpc-js and Connect integrations.
//
// A CallRouter subscribes once to `xds.router(target)` and keeps the latest Router: the hot path,
// route(path, headers), is a synchronous call on it, with no observable created per call. A call that
// cannot be routed yet waits with waitForRoute(), as a gRPC channel queues calls (gRFC A57/A88):
// - with no Router yet (the first snapshot is on its way), every call waits;
// - with a Router whose answer is a failure that a later snapshot may cure (the control plane
//   unreachable, a resource absent or rejected, no healthy endpoint…), only wait-for-ready calls wait;
//   the others fail at once with that reason;
// - a failure of the call itself (no route matches it, a route a client cannot forward) ends it at once.
// Every wait is bounded by the call's deadline and ends when the call is cancelled or the router closed.
//
// Each CallRouter is one client channel for ring hash's `io.grpc.channel_id` hash policy (gRFC A42): it draws a
// random channel id, which every call it routes carries, with the client's own IP as the call's source IP (for
// `source_ip` hash policies) when the XdsClient knows it.
//
// It also owns the connections to endpoints (whatever the integration dials: a grpc-js Channel, a
// Connect transport), one per endpoint address:port, opened on first use and reused. When a snapshot
// arrives, every connection whose endpoint is in none of its clusters is closed ("departed");
// close() closes all ("closed").

import type { Observable, Subscription } from "rxjs";
import { endWith, filter, firstValueFrom, fromEvent, map, Subject, take, takeUntil, tap, timeout } from "../rx.js";
import type { SocketAddressModel } from "../resources/endpoints.js";
import type { RequestHeaders, RouteRequest } from "../resources/match/route-match.js";
import type { RouteDecision, Router } from "../routing/router.js";
import type { XdsClient } from "../xds-client.js";
import { XdsError } from "../xds-error.js";
import { endpointTls, type EndpointTls } from "./endpoint-tls.js";

/** How an integration opens and closes its connection to one endpoint. */
export interface EndpointConnector<C> {
  /**
   * Opens a connection to `authority` (`address:port`, `[v6]:port`) for `endpoint`: with `tls` when the endpoint's
   * cluster asks for it (gRFC A29: the mesh's certificates, whatever credentials the caller gave), else plaintext.
   */
  open(authority: string, endpoint: SocketAddressModel, tls: EndpointTls | undefined): C;
  /**
   * Closes a connection `open` returned: because its endpoint left the snapshot ("departed": calls in
   * flight on it may finish), or because the router closed ("closed").
   */
  close(connection: C, why: "departed" | "closed"): void;
}

/** How a call waits for its route. */
export interface RouteWaitOptions {
  /** When the call ends, in ms since the epoch; Infinity for no deadline. */
  readonly deadline: number;
  /** Whether the call waits through failures a later snapshot may cure (gRPC's wait-for-ready). */
  readonly waitForReady: boolean;
  /** Stops waiting when aborted (the call was cancelled); the result is then `undefined`. */
  readonly signal?: AbortSignal;
}

/** The deadline passed while the call waited; `last` is the failure it was waiting through, if any. */
export interface RouteDeadline {
  readonly deadlineExceeded: true;
  readonly last: XdsError | undefined;
}

/** Node's setTimeout takes at most 2^31 - 1 ms; a later deadline is waited for without a timer. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Whether a routing failure may be cured by a later snapshot, so that a wait-for-ready call waits through it:
 * everything but the failures of the call itself (no route matches it; its route cannot be forwarded), a drop by
 * the circuit breaker (gRFC A32: dropped calls fail even when wait-for-ready) and close.
 */
export function curableByUpdate(error: XdsError): boolean {
  const code = error.code;
  return code !== "NO_ROUTE" && code !== "UNSUPPORTED_ACTION" && code !== "CLOSED" && code !== "INVALID_ARGUMENT" && code !== "CIRCUIT_BREAKER_OPEN";
}

/** Whether a result of route() or waitForRoute() is the deadline passing. */
export function isRouteDeadline(result: unknown): result is RouteDeadline {
  return typeof result === "object" && result !== null && (result as RouteDeadline).deadlineExceeded === true;
}

/** The latest Router of one target and the pooled connections to its endpoints. */
export class CallRouter<C> {
  /** The target as dialled. */
  readonly target: string;
  /** This channel's id for `io.grpc.channel_id` hash policies: uniform random below 2^53. */
  readonly channelId = Math.floor(Math.random() * 2 ** 53);
  private readonly sourceIp: string | undefined;
  private router: Router | undefined;
  private closed = false;
  private readonly subscription: Subscription;
  /** Every Router after the current one; completes on close. */
  private readonly updates = new Subject<Router>();
  /** Pooled connections by authority and, for TLS, the TLS key. */
  private readonly connections = new Map<string, { readonly authority: string; readonly family: string | undefined; readonly connection: C }>();

  constructor(
    private readonly xds: XdsClient,
    target: string,
    private readonly connector: EndpointConnector<C>,
  ) {
    this.target = target;
    this.sourceIp = xds.sourceIp;
    // router() throws synchronously on a malformed target: construction fails, not the first call.
    this.subscription = xds.router(target).subscribe({
      next: (router) => this.update(router),
      error: () => this.shutdown(),
      complete: () => this.shutdown(),
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

  /** Each new Router, until the router closes (then it completes). */
  get routers(): Observable<Router> {
    return this.updates.asObservable();
  }

  /**
   * Routes a call synchronously by its path and headers (lower-case keys): the decision, or an XdsError
   * saying which part is missing and why (CLOSED once closed). Undefined while no snapshot has arrived.
   * The caller must call the decision's done() once the call ends.
   */
  route(path: string, headers: RequestHeaders): RouteDecision | XdsError | undefined {
    return this.routeBy(routeByPath, this.request(path, headers));
  }

  /**
   * Routes a call synchronously with `decide` (for calls not routed by path alone, e.g. Thrift's): its answer on the
   * latest Router, CLOSED once closed, undefined while no snapshot has arrived.
   */
  routeBy<Q>(decide: (router: Router, request: Q) => RouteDecision | XdsError, request: Q): RouteDecision | XdsError | undefined {
    if (this.closed) return this.closedError();
    return this.router === undefined ? undefined : decide(this.router, request);
  }

  /**
   * Whether a call whose route() gave `result` must wait for a later Router (see the top of this file):
   * no Router yet, or a wait-for-ready call and a failure a later snapshot may cure.
   */
  mustWait(result: RouteDecision | XdsError | undefined, waitForReady: boolean): boolean {
    return result === undefined || (waitForReady && result instanceof XdsError && curableByUpdate(result));
  }

  /**
   * Waits for the route of a call that must wait (mustWait): each new Router routes it until one decides or
   * fails it for good, the deadline passes (a RouteDeadline, with `last`, the failure it waited through), or the
   * router closes (CLOSED). Resolves with undefined once the signal aborts. Never rejects. A decision it resolves
   * with is the caller's to end with done().
   */
  waitForRoute(path: string, headers: RequestHeaders, options: RouteWaitOptions, last?: XdsError): Promise<RouteDecision | XdsError | RouteDeadline | undefined> {
    return this.waitForRouteBy(routeByPath, this.request(path, headers), options, last);
  }

  /** waitForRoute for a call routed with `decide` (see routeBy). */
  waitForRouteBy<Q>(
    decide: (router: Router, request: Q) => RouteDecision | XdsError,
    request: Q,
    options: RouteWaitOptions,
    last?: XdsError,
  ): Promise<RouteDecision | XdsError | RouteDeadline | undefined> {
    if (this.closed) return Promise.resolve(this.closedError());
    const delay = options.deadline - Date.now();
    if (delay <= 0) return Promise.resolve({ deadlineExceeded: true, last });
    let results: Observable<RouteDecision | XdsError | RouteDeadline> = this.updates.pipe(
      map((router) => decide(router, request)),
      tap((result) => {
        if (result instanceof XdsError) last = result;
      }),
      filter((result) => !this.mustWait(result, options.waitForReady)),
      endWith(this.closedError()),
      take(1),
    );
    if (delay <= MAX_TIMER_MS) results = results.pipe(timeout({ first: delay, with: () => [{ deadlineExceeded: true as const, last }] }));
    if (options.signal !== undefined) results = results.pipe(takeUntil(fromEvent(options.signal, "abort")));
    return firstValueFrom(results, { defaultValue: undefined });
  }

  /**
   * The pooled connection to `endpoint` of cluster `leafCluster`, opened on first use, with the cluster's TLS if it has
   * one. When the certificate files have changed since a pooled connection was opened, a new one is opened and the old
   * one retired (its calls finish). Throws XdsError CLOSED once closed, or when the certificate files cannot be read.
   */
  connection(endpoint: SocketAddressModel, leafCluster?: string): C {
    if (this.closed) throw this.closedError();
    const authority = authorityOf(endpoint);
    const clusterTls = leafCluster === undefined ? undefined : this.router?.snapshot.clusters.get(leafCluster)?.cluster?.tls;
    const tls = clusterTls === undefined ? undefined : endpointTls(this.xds, leafCluster!, clusterTls);
    const key = tls === undefined ? authority : `${authority}\n${tls.key}`;
    const pooled = this.connections.get(key);
    if (pooled !== undefined) return pooled.connection;
    if (tls !== undefined) this.retireStale(authority, tls.family);
    const connection = this.connector.open(authority, endpoint, tls);
    this.connections.set(key, { authority, family: tls?.family, connection });
    return connection;
  }

  /** Retires the connections to `authority` with the same TLS configuration as a new one but older certificates. */
  private retireStale(authority: string, family: string): void {
    for (const [key, pooled] of this.connections) {
      if (pooled.authority !== authority || pooled.family !== family) continue;
      this.connections.delete(key);
      this.connector.close(pooled.connection, "departed");
    }
  }

  /** The authorities (`address:port`) that have an open pooled connection, in opening order; for introspection and tests. */
  openEndpoints(): string[] {
    return [...this.connections.values()].map((pooled) => pooled.authority);
  }

  /** Unsubscribes, closes every pooled connection and ends the waits of waiting calls (with CLOSED). Idempotent. */
  close(): void {
    this.shutdown();
  }

  private request(path: string, headers: RequestHeaders): RouteRequest {
    const sourceIp = this.sourceIp;
    return sourceIp === undefined ? { path, headers, channelId: this.channelId } : { path, headers, channelId: this.channelId, sourceIp };
  }

  private closedError(): XdsError {
    return new XdsError("CLOSED", `the router of target ${JSON.stringify(this.target)} is closed`);
  }

  private update(router: Router): void {
    if (this.closed) return;
    this.router = router;
    if (this.connections.size > 0) this.closeDeparted(router);
    this.updates.next(router);
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
    for (const [key, pooled] of this.connections) {
      if (present.has(pooled.authority)) continue;
      this.connections.delete(key);
      this.connector.close(pooled.connection, "departed");
    }
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.unsubscribe();
    this.updates.complete();
    const connections = [...this.connections.values()];
    this.connections.clear();
    for (const pooled of connections) this.connector.close(pooled.connection, "closed");
  }
}

/** Routes an HTTP/gRPC call by its path and headers. */
function routeByPath(router: Router, request: RouteRequest): RouteDecision | XdsError {
  return router.route(request);
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

/** The text of the DEADLINE_EXCEEDED status of a call whose deadline passed while it waited for its route: why it waited. */
export function routeDeadlineMessage(path: string, target: string, deadline: RouteDeadline): string {
  const why = deadline.last === undefined ? `the first xDS snapshot of ${JSON.stringify(target)}` : `xDS to route it, which failed: ${deadline.last.message} [${deadline.last.code}]`;
  return `deadline exceeded while ${path} waited for ${why}`;
}

/** The end of a call: the earlier of the caller's deadline and `routedAt + timeoutMs` (ms since the epoch; Infinity for none; a timeout of 0 or undefined is none). */
export function effectiveDeadline(callerDeadline: number, routedAt: number, timeoutMs: number | undefined): number {
  if (timeoutMs === undefined || timeoutMs <= 0) return callerDeadline;
  return Math.min(callerDeadline, routedAt + timeoutMs);
}
