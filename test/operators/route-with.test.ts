// routeWith's timing and teardown, as marble diagrams (rxjs TestScheduler, virtual time): which Router routes each
// item, how items wait for the first one and within which bounds, when the output completes, and what unsubscribing
// releases. Routers here are stand-ins that name themselves in their decisions; routing itself is tested elsewhere.
import { expect } from "chai";
import { BehaviorSubject, map, of, Subject, type Observable } from "rxjs";
import type { TestScheduler } from "rxjs/testing";
import type { EndpointModel } from "../../src/resources/endpoints.js";
import type { RouteRequest } from "../../src/resources/match/route-match.js";
import type { ThriftCall } from "../../src/resources/thrift-route-configuration.js";
import type { RouteDecision, Router } from "../../src/routing/router.js";
import type { ServiceSnapshotJson } from "../../src/routing/service-snapshot-json.js";
import type { ServiceSnapshot } from "../../src/routing/service-snapshot.js";
import { marbleScheduler } from "../support/marbles.js";
import { XdsError } from "../../src/xds-error.js";
import { routeWith, type RouteResult } from "rxds/operators";

/** A Router whose decisions send every call to cluster `name` (Thrift calls to `name/thrift`); the decision names the path or method. */
function fakeRouter(name: string): Router {
  const decision = (cluster: string, routeName: string): RouteDecision => ({
    routeName,
    routeIndex: 0,
    cluster,
    leafCluster: cluster,
    endpoint: {} as EndpointModel,
    timeoutMs: undefined,
    retryPolicy: undefined,
    hashPolicy: [],
    httpFilters: undefined,
    done: () => undefined,
    pickAgain: () => new XdsError("NO_HEALTHY_ENDPOINT", "not in this fake"),
  });
  return {
    snapshot: {} as ServiceSnapshot,
    route: (request: RouteRequest) => (request.path === "/none" ? new XdsError("NO_ROUTE", `no route for ${request.path}`) : decision(name, request.path)),
    routeThrift: (call: ThriftCall) => decision(`${name}/thrift`, call.method),
    toJSON: () => ({ target: name, httpRoutes: "stub", thriftRoutes: "stub", snapshot: {} as ServiceSnapshotJson }),
  };
}

/** A result as a marble value: `cluster path` for a decision, the error code for an XdsError. */
function label(result: RouteResult): string {
  return result instanceof XdsError ? result.code : `${result.cluster} ${result.routeName}`;
}

const req = (path: string): RouteRequest => ({ path, headers: {} });

describe("routeWith (marbles)", () => {
  let scheduler: TestScheduler;
  beforeEach(() => (scheduler = marbleScheduler()));

  it("RoutesEachItemWithTheLatestRouter: an item is routed when it arrives, by the Router current then", () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const routers = hot("  a-----b------", { a: fakeRouter("A"), b: fakeRouter("B") });
      const items = cold("   -x-y----z-|", { x: req("/x"), y: req("/y"), z: req("/z") });
      expectObservable(items.pipe(routeWith(routers), map(label))).toBe("-x-y----z-|", { x: "A /x", y: "A /y", z: "B /z" });
    });
  });

  it("RoutingFailuresAreValues: a failure to route is emitted as an XdsError and the stream goes on", () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const routers = hot("a", { a: fakeRouter("A") });
      const items = cold(" -x-n-y|", { x: req("/x"), n: req("/none"), y: req("/y") });
      expectObservable(items.pipe(routeWith(routers), map(label))).toBe("-x-n-y|", { x: "A /x", n: "NO_ROUTE", y: "A /y" });
    });
  });

  it("RoutesThriftCalls: an item with service and method is routed with routeThrift", () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const routers = hot("a", { a: fakeRouter("A") });
      const items = cold(" -t|", { t: { service: "Echo", method: "Ping", headers: {} } });
      expectObservable(items.pipe(routeWith(routers), map(label))).toBe("-t|", { t: "A/thrift Ping" });
    });
  });

  it("EarlyItemsWaitForTheFirstRouter: items before the first Router are routed by it, in order, when it arrives", () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const routers = hot("  -----a---b---", { a: fakeRouter("A"), b: fakeRouter("B") });
      const items = cold("   -x-y-----z--|", { x: req("/x"), y: req("/y"), z: req("/z") });
      expectObservable(items.pipe(routeWith(routers), map(label))).toBe("-----(xy)z--|", { x: "A /x", y: "A /y", z: "B /z" });
    });
  });

  it("CompletionWaitsForWaitingItems: a source that completes while items wait completes after they are routed", () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const routers = hot("  ------a", { a: fakeRouter("A") });
      const items = cold("   -x-|", { x: req("/x") });
      expectObservable(items.pipe(routeWith(routers), map(label))).toBe("------(x|)", { x: "A /x" });
    });
  });

  it("WaitIsBoundedPerItem: an item that waits maxWaitMs for the first Router gets NOT_READY; later ones wait their own time", () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const routers = hot("  ------------a", { a: fakeRouter("A") });
      const items = cold("   x-y---------|", { x: req("/x"), y: req("/y") });
      // x waits 5 frames (0 → 5), y from frame 2 to 7; nothing is left when the Router arrives at 12, then the source completes.
      expectObservable(items.pipe(routeWith(routers, { maxWaitMs: 5 }), map(label))).toBe("-----x-y----|", { x: "NOT_READY", y: "NOT_READY" });
    });
  });

  it("WaitIsBoundedInCount: beyond maxWaiting waiting items, an item gets NOT_READY at once", () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const routers = hot("  -----a", { a: fakeRouter("A") });
      const items = cold("   xyz------|", { x: req("/x"), y: req("/y"), z: req("/z") });
      expectObservable(items.pipe(routeWith(routers, { maxWaiting: 2 }), map(label))).toBe("--z--(xy)|", { x: "A /x", y: "A /y", z: "NOT_READY" });
    });
  });

  it("RouterStreamCompletion: once router$ completes (the client closed), waiting and later items get CLOSED", () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const routers = hot<Router>("  ---|");
      const items = cold("   -x---y|", { x: req("/x"), y: req("/y") });
      expectObservable(items.pipe(routeWith(routers), map(label))).toBe("---x-y|", { x: "CLOSED", y: "CLOSED" });
    });
  });

  it("ErrorsPropagate: router$'s error and the source's error end the output", () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const failing = hot<Router>("--#", undefined, new Error("router$ broke"));
      expectObservable(cold("-x---", { x: req("/x") }).pipe(routeWith(failing), map(label))).toBe("--#", undefined, new Error("router$ broke"));
      const routers = hot("a", { a: fakeRouter("A") });
      expectObservable(cold("-x-#", { x: req("/x") }, new Error("source broke")).pipe(routeWith(routers), map(label))).toBe("-x-#", { x: "A /x" }, new Error("source broke"));
    });
  });

  it("Teardown: unsubscribing unsubscribes the source and router$, and cancels the wait timer", () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const routers = hot<Router>("-----------a", { a: fakeRouter("A") });
      const items = cold("x-y-------", { x: req("/x"), y: req("/y") });
      // Unsubscribed at frame 4: the items waiting since 0 and 2 (maxWaitMs 6) never time out, the Router never routes.
      expectObservable(items.pipe(routeWith(routers, { maxWaitMs: 6 }), map(label)), "^---!").toBe("-----");
      expectSubscriptions(routers.subscriptions).toBe("^---!");
      expectSubscriptions(items.subscriptions).toBe("^---!");
    });
  });

  it("ProjectGetsTheResultAndItsItem, and an error thrown by project ends the output", () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const routers = hot("a", { a: fakeRouter("A") });
      const jobs = cold(" -x-y|", { x: { id: 1, path: "/x", headers: {} }, y: { id: 2, path: "/y", headers: {} } });
      expectObservable(jobs.pipe(routeWith(routers, (result, job) => `job ${job.id} → ${label(result)}`))).toBe("-x-y|", { x: "job 1 → A /x", y: "job 2 → A /y" });
      const failing = routeWith(routers, (_result, job: { id: number; path: string; headers: {} }) => {
        if (job.id === 2) throw new Error("project broke");
        return job.id;
      });
      expectObservable(jobs.pipe(failing)).toBe("-x-#", { x: 1 }, new Error("project broke"));
    });
  });
});

describe("routeWith", () => {
  it("PassesDecisionsThroughUntouched: each emitted value is the very object route() returned (for outcome reporting)", () => {
    const returned: RouteResult[] = [];
    const router = fakeRouter("A");
    const spy: Router = { ...router, route: (r) => { const d = router.route(r); returned.push(d); return d; } };
    const emitted: RouteResult[] = [];
    of(req("/a"), req("/b"), req("/none")).pipe(routeWith(new BehaviorSubject(spy))).subscribe((d) => emitted.push(d));
    expect(emitted).to.have.length(3);
    emitted.forEach((value, i) => expect(value).to.equal(returned[i]));
  });

  it("MalformedItemsAreValues: an item that is neither a request nor a Thrift call, or that route() throws on, is an INVALID_ARGUMENT value", () => {
    const routers = new Subject<Router>();
    const results: RouteResult[] = [];
    const items = new Subject<RouteRequest>();
    const subscription = items.pipe(routeWith(routers)).subscribe((r) => results.push(r));
    routers.next({ ...fakeRouter("A"), route: () => { throw new TypeError("headers is undefined"); } });
    items.next({ nope: true } as unknown as RouteRequest);
    items.next(req("/x"));
    subscription.unsubscribe();
    expect(results.map((r) => (r instanceof XdsError ? `${r.code}: ${r.message}` : "decision"))).to.deep.equal([
      "INVALID_ARGUMENT: routeWith: an item must be { path, headers } or a Thrift call { service, method, headers }",
      "INVALID_ARGUMENT: routeWith: the item could not be routed: headers is undefined",
    ]);
  });

  it("BadArgumentsThrowXdsError: a router$ that is not observable, or bounds out of range, throw INVALID_ARGUMENT naming them", () => {
    const thrown = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return error instanceof XdsError ? `${error.code}: ${error.message}` : String(error);
      }
      return "nothing thrown";
    };
    expect(thrown(() => routeWith(42 as unknown as Observable<Router>))).to.equal("INVALID_ARGUMENT: routeWith: router$ must be an Observable (or another ObservableInput), got number");
    expect(thrown(() => routeWith(of(), { maxWaitMs: -1 }))).to.equal("INVALID_ARGUMENT: routeWith: options.maxWaitMs must be a number of ms >= 0, got -1");
    expect(thrown(() => routeWith(of(), { maxWaiting: 1.5 }))).to.equal("INVALID_ARGUMENT: routeWith: options.maxWaiting must be an integer >= 0, got 1.5");
  });
});
