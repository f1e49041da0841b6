// The operators against the embedded control plane over a real ADS stream: routing a stream of requests, following a
// target's endpoints, gating on readiness (and its A57/A88 failures), and leaving nothing behind.
import { expect } from "chai";
import { filter, firstValueFrom, from, Subject, toArray } from "rxjs";
import { endpointChanges, endpointsOf, ready$, routeWith, whenReady, type EndpointChanges, type MeshEndpoint, type Readiness, type RouteResult } from "rxds/operators";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { XdsError } from "../../src/xds-error.js";
import { binomialBounds } from "../integrations/split-bounds.js";
import { clientTables as tables } from "../support/client-tables.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { loopbackEndpoints, routeConfiguration } from "../support/resources.js";
import { until } from "../support/until.js";
import { EDS, Harness, LDS, next, pack, RDS } from "../support/wire.js";

const target = `${kitexHost}:8888`;
const v1 = `outbound|8888|v1|${kitexHost}`;
const v2 = `outbound|8888|v2|${kitexHost}`;
const sayHello1 = { path: "/proxyless.GreetService/SayHello1", headers: {} };

/** A ClusterLoadAssignment of loopback endpoints on `ports`, each with the given health, in one locality as the mesh translates it. */
function withHealth(cluster: string, ports: [number, HealthStatus][]) {
  return pack(ClusterLoadAssignmentSchema, {
    clusterName: cluster,
    endpoints: [
      {
        locality: {},
        loadBalancingWeight: ports.length,
        lbEndpoints: ports.map(([port, healthStatus]) => ({
          healthStatus,
          hostIdentifier: { case: "endpoint" as const, value: { address: { address: { case: "socketAddress" as const, value: { address: "127.0.0.1", portSpecifier: { case: "portValue" as const, value: port } } } } } },
        })),
      },
    ],
  });
}

const leafOf = (result: RouteResult) => (result instanceof XdsError ? result.code : result.leafCluster);

describe("operators over the wire", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("RouteWithSplitsByWeight: a stream of requests follows the mesh's header route and its 50/50 split within binomial bounds", async () => {
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const xds = h.xds();
    const n = 2000;
    const items = [
      { path: sayHello1.path, headers: { stage: "canary" } },
      ...Array.from({ length: n }, () => sayHello1),
    ];
    // Each job ends at once (done()), as a dispatched job would when it finishes: its endpoint is free again.
    const finished = (result: RouteResult) => {
      if (!(result instanceof XdsError)) result.done(0);
      return result;
    };
    const results = await firstValueFrom(from(items).pipe(routeWith(xds.router(target), finished), toArray()));
    expect(leafOf(results[0]!)).to.equal(v1);
    const toV1 = results.slice(1).filter((r) => leafOf(r) === v1).length;
    const toV2 = results.slice(1).filter((r) => leafOf(r) === v2).length;
    const [lo, hi] = binomialBounds(n, 0.5);
    expect(toV1 + toV2).to.equal(n);
    expect(toV1).to.be.within(lo, hi);
  });

  it("RouteWithEarlyItems: requests sent before the control plane serves the target wait and are routed by the first Router", async () => {
    const xds = h.xds();
    const requests = new Subject<typeof sayHello1>();
    const results: RouteResult[] = [];
    const done = new Promise<void>((resolve) => requests.pipe(routeWith(xds.router(target))).subscribe({ next: (r) => results.push(r), complete: resolve }));
    await h.nextRequest((r) => r.typeUrl === LDS && r.resourceNames.includes(target));
    for (let i = 0; i < 10; i++) requests.next(sayHello1);
    requests.complete();
    expect(results).to.deep.equal([]);
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    await done;
    expect(results.map(leafOf).filter((leaf) => leaf === v1 || leaf === v2)).to.have.length(10);
  });

  it("EndpointChangesFollowEds: adds, health changes and removes of a target's endpoints arrive as diffs keyed by address", async () => {
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const xds = h.xds();
    const diffs: EndpointChanges[] = [];
    const subscription = xds.resolve(target).pipe(endpointChanges()).subscribe((d) => diffs.push(d));
    const keys = (list: readonly MeshEndpoint[]) => list.map((e) => `${e.key} ${e.health} ${e.cluster}`);
    await next(xds.resolve(target), (s) => s.clusters.get(v1)?.endpoints !== undefined && s.clusters.get(v2)?.endpoints !== undefined);
    h.cp.set(EDS, { [v1]: withHealth(v1, [[9001, HealthStatus.HEALTHY], [9003, HealthStatus.HEALTHY]]) });
    await until(() => diffs.length === 2);
    h.cp.set(EDS, { [v1]: withHealth(v1, [[9001, HealthStatus.DRAINING], [9003, HealthStatus.HEALTHY]]) });
    await until(() => diffs.length === 3);
    h.cp.set(EDS, { [v1]: loopbackEndpoints(v1, [9003]) });
    await until(() => diffs.length === 4);
    subscription.unsubscribe();
    expect(keys(diffs[0]!.added)).to.have.members([`127.0.0.1:9001 HEALTHY ${v1}`, `127.0.0.1:9002 HEALTHY ${v2}`]);
    expect(keys(diffs[1]!.added)).to.deep.equal([`127.0.0.1:9003 HEALTHY ${v1}`]);
    expect(diffs[1]!.changed.length + diffs[1]!.removed.length).to.equal(0);
    expect(keys(diffs[2]!.changed)).to.deep.equal([`127.0.0.1:9001 DRAINING ${v1}`]);
    expect(diffs[2]!.added.length + diffs[2]!.removed.length).to.equal(0);
    expect(keys(diffs[3]!.removed)).to.deep.equal([`127.0.0.1:9001 DRAINING ${v1}`]);
    expect(keys(diffs[3]!.changed)).to.deep.equal([`127.0.0.1:9003 UNKNOWN ${v1}`]);
    expect(diffs[3]!.size).to.equal(2);
  });

  it("EndpointsOfIsTheUsableSet: a target's usable endpoints across its clusters, de-duplicated by address, without the draining ones", async () => {
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    h.cp.set(EDS, {
      [v1]: withHealth(v1, [[9001, HealthStatus.HEALTHY], [9005, HealthStatus.DRAINING]]),
      [v2]: withHealth(v2, [[9002, HealthStatus.HEALTHY], [9001, HealthStatus.HEALTHY]]),
    });
    const xds = h.xds();
    const first = await firstValueFrom(endpointsOf(xds, target));
    expect(first.map((e) => `${e.key} ${e.cluster}`)).to.deep.equal([`127.0.0.1:9001 ${v1}`, `127.0.0.1:9002 ${v2}`]);
    expect(Object.isFrozen(first)).to.equal(true);
  });

  it("WhenReadyResolves: a served target with endpoints resolves with its snapshot; ready$ follows it to not ready and back", async () => {
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const xds = h.xds();
    const snapshot = await whenReady(xds, target);
    expect([...snapshot.clusters.keys()]).to.include.members([v1, v2]);
    const states: Readiness[] = [];
    const subscription = ready$(xds, target).subscribe((r) => states.push(r));
    await until(() => states.length === 1);
    h.cp.set(EDS, { [v1]: withHealth(v1, [[9001, HealthStatus.UNHEALTHY]]), [v2]: withHealth(v2, [[9002, HealthStatus.DRAINING]]) });
    await until(() => states.length === 2);
    h.cp.set(EDS, { [v1]: loopbackEndpoints(v1, [9001]) });
    await until(() => states.length === 3);
    subscription.unsubscribe();
    expect(states.map((s) => (s.ready ? "ready" : `${s.error.code}: ${s.error.message}`))).to.deep.equal([
      "ready",
      `NO_HEALTHY_ENDPOINT: no cluster of target "${target}" can take traffic: cluster "${[...snapshot.clusters.keys()][0]}" has no healthy endpoint`,
      "ready",
    ]);
  });

  it("WhenReadyFailsWithTheResourceError: a route configuration whose first version is NACKed rejects with INVALID_RESOURCE and the reason", async () => {
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const route = `outbound|8888||${kitexHost}`;
    h.cp.set(RDS, {
      [route]: routeConfiguration(route, [target], [{ match: { pathSpecifier: { case: "safeRegex", value: { regex: "(" } } }, action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: v1 } } } }]),
    });
    const xds = h.xds();
    const failure = await whenReady(xds, target).then(() => undefined, (error: unknown) => error);
    expect(failure).to.be.instanceOf(XdsError);
    expect((failure as XdsError).code).to.equal("INVALID_RESOURCE");
    expect((failure as XdsError).message).to.match(/^route configuration "outbound\|8888\|\|kitex-server\.default\.svc\.cluster\.local" of target ".*" has no usable version: route configuration ".*": virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: /);
  });

  it("WhenReadyFailsWithTheConnectionError: with no control plane to reach, it rejects with CONTROL_PLANE_UNAVAILABLE (gRFC A57)", async () => {
    const xds = h.xds({ servers: [{ uri: "127.0.0.1:1" }] });
    const failure = await whenReady(xds, target).then(() => undefined, (error: unknown) => error);
    expect((failure as XdsError).code).to.equal("CONTROL_PLANE_UNAVAILABLE");
    expect((failure as XdsError).message).to.contain("xDS server 127.0.0.1:1 is unavailable");
  });

  it("WhenReadyFailsForAbsence: a listener that does not exist rejects with LISTENER_ABSENT once its timer runs out; a closed client with CLOSED", async () => {
    const xds = h.xds({ doesNotExistTimeoutMs: 50 });
    const failure = await whenReady(xds, "nowhere:8888").then(() => undefined, (error: unknown) => error);
    expect((failure as XdsError).code).to.equal("LISTENER_ABSENT");
    const pending = whenReady(xds, "elsewhere:8888").then(() => undefined, (error: unknown) => error);
    await xds.close();
    expect(((await pending) as XdsError).code).to.equal("CLOSED");
    const malformed = await whenReady(xds, "no port:x").then(() => undefined, (error: unknown) => error);
    expect((malformed as XdsError).code).to.equal("INVALID_ARGUMENT");
  });

  it("LeaveNothingBehind: 10,000 subscriptions to the operators, unsubscribed, leave no watch on the wire and no entry in any cache", async function () {
    this.timeout(30000);
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const xds = h.xds();
    const targets = Array.from({ length: 100 }, (_, i) => (i === 0 ? target : `svc-${i}.default.svc.cluster.local:8080`));
    const n = h.requestCount();
    const subscriptions = Array.from({ length: 10_000 }, (_, i) => {
      const t = targets[i % targets.length]!;
      switch (i % 4) {
        case 0:
          return new Subject<typeof sayHello1>().pipe(routeWith(xds.router(t))).subscribe();
        case 1:
          return xds.resolve(t).pipe(endpointChanges()).subscribe();
        case 2:
          return endpointsOf(xds, t).subscribe();
        default:
          return ready$(xds, t).subscribe();
      }
    });
    await h.nextRequest((r) => r.typeUrl === LDS && r.resourceNames.length === targets.length, n);
    await next(xds.resolve(target), (s) => s.clusters.get(v1)?.endpoints !== undefined);
    expect(tables(xds).snapshots).to.equal(targets.length);
    for (const subscription of subscriptions) subscription.unsubscribe();
    await firstValueFrom(xds.status$.pipe(filter((s) => s.connection === "idle")));
    expect(tables(xds)).to.deep.equal({ snapshots: 0, routers: 0, balancers: 0, observables: 0, watches: 0 });
  });
});
