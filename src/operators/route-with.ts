// routeWith(router$): route a stream of requests (HTTP/gRPC `{ path, headers }` or Thrift `{ service, method,
// headers }`) with the latest Router of a stream of Routers, such as `xds.router(target)`.
//
// Each item is routed synchronously, when it arrives, with the latest Router, and the result is emitted as it
// came from route() / routeThrift(): the same RouteDecision object (so whatever the balancing layer hangs on it,
// such as outcome reporting, reaches the consumer untouched) or an XdsError value. Nothing is allocated per item
// beyond what route() returns (and, with a `project` function, what it returns).
//
// Items that arrive before the first Router wait for it, in order, each for at most `maxWaitMs` from its arrival
// and at most `maxWaiting` of them; past either bound an item gets an XdsError NOT_READY. (The first Router of
// `xds.router(target)` comes within the client's does-not-exist timeout, 15 s by default, once connected, and at
// once with CONTROL_PLANE_UNAVAILABLE when the control plane cannot be reached: the bound is a backstop.)
//
// Completion: when the source completes and no item waits. Errors: only the source's or router$'s own errors,
// and an error thrown by `project`; a failure to route is a value. Once router$ completes (the XdsClient was
// closed), every item gets an XdsError CLOSED. Teardown: unsubscribing unsubscribes the source and router$
// (dropping the xDS watch when it held the last subscription) and cancels the wait timer. Cold: each subscription
// subscribes to router$ (xds.router(target) shares one stream per target among them).

import type { Observable, ObservableInput, Subscription } from "rxjs";
import { asyncScheduler, from, Observable as ObservableClass, Subscriber } from "../rx.js";
import type { RouteRequest } from "../resources/match/route-match.js";
import type { ThriftCall } from "../resources/thrift-route-configuration.js";
import type { RouteDecision, Router } from "../routing/router.js";
import { XdsError } from "../xds-error.js";

/** What routeWith routes: an HTTP/gRPC request `{ path, headers }` or a Thrift call `{ service, method, headers }`; other fields ride along. */
export type Routable = RouteRequest | ThriftCall;

/** What route() gives for one item. */
export type RouteResult = RouteDecision | XdsError;

/** Bounds on the items that arrive before the first Router. */
export interface RouteWithOptions {
  /** How long an item may wait for the first Router, in ms from its arrival; then it gets NOT_READY. Default 30000. */
  readonly maxWaitMs?: number;
  /** How many items may wait for the first Router at once; an item beyond them gets NOT_READY at once. Default 10000. */
  readonly maxWaiting?: number;
}

const DEFAULT_MAX_WAIT_MS = 30_000;
const DEFAULT_MAX_WAITING = 10_000;

/** Routes each item with the latest Router of `router$`; emits the RouteDecision or XdsError of each, in order. */
export function routeWith<T extends Routable>(router$: ObservableInput<Router>, options?: RouteWithOptions): (source: ObservableInput<T>) => Observable<RouteResult>;
/** Routes each item with the latest Router of `router$`; emits `project(result, item)` for each, in order. */
export function routeWith<T extends Routable, R>(
  router$: ObservableInput<Router>,
  project: (result: RouteResult, item: T) => R,
  options?: RouteWithOptions,
): (source: ObservableInput<T>) => Observable<R>;
export function routeWith<T extends Routable, R>(
  router$: ObservableInput<Router>,
  projectOrOptions?: ((result: RouteResult, item: T) => R) | RouteWithOptions,
  maybeOptions?: RouteWithOptions,
): (source: ObservableInput<T>) => Observable<R | RouteResult> {
  const project = typeof projectOrOptions === "function" ? projectOrOptions : undefined;
  const options = typeof projectOrOptions === "function" ? maybeOptions : projectOrOptions;
  const routers = observableArgument(router$, "router$");
  const maxWaitMs = options?.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const maxWaiting = options?.maxWaiting ?? DEFAULT_MAX_WAITING;
  if (!(maxWaitMs >= 0)) throw new XdsError("INVALID_ARGUMENT", `routeWith: options.maxWaitMs must be a number of ms >= 0, got ${String(maxWaitMs)}`);
  if (!(Number.isInteger(maxWaiting) && maxWaiting >= 0)) {
    throw new XdsError("INVALID_ARGUMENT", `routeWith: options.maxWaiting must be an integer >= 0, got ${String(maxWaiting)}`);
  }

  return (source) => {
    const items = observableArgument(source, "the source");
    return new ObservableClass<R | RouteResult>((subscriber) => {
      let router: Router | undefined;
      let routersDone = false;
      let sourceDone = false;
      // The items waiting for the first Router, from `head` on, and when each arrived.
      const waiting: (T | undefined)[] = [];
      const arrivals: number[] = [];
      let head = 0;
      let timer: Subscription | undefined;

      const emit = (item: T, result: RouteResult): void => {
        if (project === undefined) {
          subscriber.next(result);
          return;
        }
        let projected: R;
        try {
          projected = project(result, item);
        } catch (error) {
          subscriber.error(error);
          return;
        }
        subscriber.next(projected);
      };
      const routeOne = (item: T): void => {
        emit(item, router === undefined ? closedError() : routeItem(router, item));
      };
      const drain = (): void => {
        // Items may join while draining (a consumer that feeds the source): they are routed in turn, after these.
        while (head < waiting.length && !subscriber.closed) {
          const item = waiting[head]!;
          waiting[head++] = undefined;
          routeOne(item);
        }
        waiting.length = arrivals.length = head = 0;
        timer?.unsubscribe();
        timer = undefined;
        if (sourceDone) subscriber.complete();
      };
      const expire = (): void => {
        timer = undefined;
        const now = asyncScheduler.now();
        while (head < waiting.length && arrivals[head]! + maxWaitMs <= now && !subscriber.closed) {
          const item = waiting[head]!;
          waiting[head++] = undefined;
          emit(item, new XdsError("NOT_READY", `routeWith: no Router arrived within ${maxWaitMs} ms (maxWaitMs) of the item`));
        }
        if (head === waiting.length) {
          waiting.length = arrivals.length = head = 0;
          if (sourceDone) subscriber.complete();
        } else {
          armTimer(now);
        }
      };
      const armTimer = (now: number): void => {
        if (timer === undefined && maxWaitMs !== Infinity) timer = asyncScheduler.schedule(expire, Math.max(0, arrivals[head]! + maxWaitMs - now));
      };

      subscriber.add(() => {
        timer?.unsubscribe();
        waiting.length = arrivals.length = head = 0;
      });
      subscriber.add(
        routers.subscribe({
          next: (next) => {
            router = next;
            if (waiting.length > 0) drain();
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            routersDone = true;
            router = undefined;
            if (waiting.length > 0) drain();
          },
        }),
      );
      if (subscriber.closed) return;
      // A Subscriber (not a plain observer) so that the source calls it directly, without a SafeSubscriber around it:
      // the per-item path is this next() and route().
      const itemSubscriber = new Subscriber<T>({
        next: (item) => {
          if (router !== undefined && waiting.length === 0) {
            if (project === undefined) subscriber.next(routeItem(router, item));
            else emit(item, routeItem(router, item));
          } else if (routersDone && waiting.length === 0) {
            emit(item, closedError());
          } else if (waiting.length - head >= maxWaiting && router === undefined) {
            emit(item, new XdsError("NOT_READY", `routeWith: ${maxWaiting} items already wait for the first Router (maxWaiting)`));
          } else {
            waiting.push(item);
            const now = asyncScheduler.now();
            arrivals.push(now);
            if (router === undefined) armTimer(now);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          if (waiting.length === 0) subscriber.complete();
        },
      });
      subscriber.add(itemSubscriber);
      items.subscribe(itemSubscriber);
    });
  };
}

/** Routes one item with `router`; never throws: a malformed item is an INVALID_ARGUMENT value. */
function routeItem(router: Router, item: Routable): RouteResult {
  try {
    if (typeof (item as RouteRequest).path === "string") return router.route(item as RouteRequest);
    if (typeof (item as ThriftCall).method === "string") return router.routeThrift(item as ThriftCall);
  } catch (error) {
    return new XdsError("INVALID_ARGUMENT", `routeWith: the item could not be routed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return new XdsError("INVALID_ARGUMENT", "routeWith: an item must be { path, headers } or a Thrift call { service, method, headers }");
}

function closedError(): XdsError {
  return new XdsError("CLOSED", "routeWith: the Router stream completed (the XdsClient was closed)");
}

/** `input` as an Observable (any InteropObservable, Promise, iterable…); an XdsError naming `what` when it is none. */
function observableArgument<V>(input: ObservableInput<V>, what: string): Observable<V> {
  try {
    return from(input);
  } catch (error) {
    throw new XdsError("INVALID_ARGUMENT", `routeWith: ${what} must be an Observable (or another ObservableInput), got ${kindOf(input)}`, { cause: error });
  }
}

function kindOf(value: unknown): string {
  return value === null ? "null" : typeof value === "object" ? "an object that is not observable, a promise or iterable" : typeof value;
}
