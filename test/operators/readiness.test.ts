// ready$ and endpointsOf over a target's snapshots, as marble diagrams (rxjs TestScheduler): when they emit, what
// they hold back, and what unsubscribing releases. Snapshots here carry only what readiness reads; the rules
// themselves run against real resources in operators-over-the-wire.test.ts.
import { map, type Observable } from "rxjs";
import type { TestScheduler } from "rxjs/testing";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import type { EndpointsModel } from "../../src/resources/endpoints.js";
import type { ListenerModel } from "../../src/resources/listener.js";
import type { RouteConfigurationModel, VirtualHostModel } from "../../src/resources/route-configuration.js";
import { createServiceSnapshot, type ServiceSnapshot } from "../../src/routing/service-snapshot.js";
import { marbleScheduler } from "../support/marbles.js";
import { XdsError } from "../../src/xds-error.js";
import { endpointsOf, ready$, type Readiness } from "rxds/operators";
import { endpoints, ep, locality } from "../balancing/endpoint-sets.js";

const TARGET = "svc.default.svc.cluster.local:8080";

/** A snapshot of TARGET: listener absent, or routed to cluster "c" holding `assignment` (absent when undefined). */
function snapshot(assignment: EndpointsModel | undefined | "no listener" | "invalid listener"): ServiceSnapshot {
  const base = { target: TARGET, listenerName: TARGET, routeConfigurationName: "rc", routeConfigurationError: undefined };
  if (assignment === "no listener" || assignment === "invalid listener") {
    const listenerError = assignment === "invalid listener" ? new XdsError("INVALID_RESOURCE", 'listener "svc": bad') : undefined;
    return createServiceSnapshot({ ...base, listener: undefined, listenerError, routeConfiguration: undefined, virtualHost: undefined, clusters: new Map() });
  }
  return createServiceSnapshot({
    ...base,
    listener: { name: TARGET, httpConnectionManagers: [{}], thriftProxies: [] } as unknown as ListenerModel,
    listenerError: undefined,
    routeConfiguration: {} as RouteConfigurationModel,
    virtualHost: {} as VirtualHostModel,
    clusters: new Map([["c", { name: "c", cluster: { discovery: { kind: "EDS", serviceName: "c" } } as never, endpoints: assignment, error: undefined, children: [] }]]),
  });
}

const healthy = (...addresses: string[]) => endpoints("c", [locality("z", 1, addresses.map((a) => ep(a)))]);
const draining = (address: string) => endpoints("c", [locality("z", 1, [ep(address, { health: HealthStatus.DRAINING })])]);
const label = (r: Readiness) => (r.ready ? "ready" : r.error.code);

describe("readiness and endpointsOf (marbles)", () => {
  let scheduler: TestScheduler;
  beforeEach(() => (scheduler = marbleScheduler()));

  it("ReadyEmitsOnChange: ready$ emits from the first snapshot on, only when readiness or its reason changes", () => {
    scheduler.run(({ cold, expectObservable }) => {
      const snapshots = cold("a-b-c-d-e-f-|", {
        a: snapshot("no listener"),
        b: snapshot("no listener"),
        c: snapshot("invalid listener"),
        d: snapshot(draining("10.0.0.1")),
        e: snapshot(healthy("10.0.0.1")),
        f: snapshot(healthy("10.0.0.1", "10.0.0.2")),
      });
      expectObservable(ready$({ resolve: () => snapshots }, TARGET).pipe(map(label))).toBe("a---c-d-e---|", {
        a: "LISTENER_ABSENT",
        c: "INVALID_RESOURCE",
        d: "NO_HEALTHY_ENDPOINT",
        e: "ready",
      });
    });
  });

  it("EndpointsOfEmitsTheSet: the first snapshot's usable set (even empty), then each changed set; unsubscribing unsubscribes the snapshots", () => {
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const snapshots = hot("-a-b-c-d-e-", {
        a: snapshot(undefined),
        b: snapshot(draining("10.0.0.1")),
        c: snapshot(healthy("10.0.0.1")),
        d: snapshot(healthy("10.0.0.1")),
        e: snapshot(healthy("10.0.0.2")),
      });
      const sets = endpointsOf({ resolve: () => snapshots as Observable<ServiceSnapshot> }, TARGET).pipe(map((set) => set.map((e) => e.key).join(",")));
      expectObservable(sets, "^--------!").toBe("-a---c---", { a: "", c: "10.0.0.1:8888" });
      expectSubscriptions(snapshots.subscriptions).toBe("^--------!");
    });
  });
});
