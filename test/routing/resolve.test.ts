import { expect } from "chai";
import { XdsError, type XdsClient } from "rxds";
import { filter, firstValueFrom, type Observable } from "rxjs";
import type { RouteDecision } from "../../src/routing/router.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { apiListener, edsCluster, loopbackEndpoints, prefixRoute, routeConfiguration } from "../support/resources.js";
import { CDS, EDS, Harness, LDS, next, RDS } from "../support/wire.js";

const target = `${kitexHost}:8888`;
const v1 = `outbound|8888|v1|${kitexHost}`;
const v2 = `outbound|8888|v2|${kitexHost}`;

describe("resolve() and router() over a real ADS stream", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  async function routerOf(client: XdsClient, dialled = target) {
    return next(client.router(dialled), (r) => r.snapshot.listener !== undefined && r.snapshot.clusters.size > 0);
  }

  function decided(result: RouteDecision | XdsError): RouteDecision {
    if (result instanceof XdsError) throw result;
    return result;
  }

  it("routes the kitex README examples served as istiod's gRPC generator would: header, method and default routes", async () => {
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const router = await routerOf(h.xds());

    const canary = decided(router.route({ path: "/proxyless.GreetService/SayHello1", headers: { stage: "canary" } }));
    expect(canary).to.include({ routeName: "route-based-on-tags", cluster: v1, timeoutMs: 500 });
    expect(canary.endpoint).to.include({ address: "127.0.0.1", port: 9001 });

    const method = decided(router.route({ path: "/proxyless.GreetService/SayHello", headers: {} }));
    expect(method).to.include({ routeName: "route-based-on-path", cluster: v2, timeoutMs: 500 });
    expect(method.endpoint.port).to.equal(9002);

    const picked = new Set<string>();
    for (let i = 0; i < 200; i++) picked.add(decided(router.route({ path: "/proxyless.GreetService/SayHello1", headers: {} })).cluster);
    expect([...picked].sort()).to.deep.equal([v1, v2]);

    expect(router.snapshot.listenerName).to.equal(target);
    expect(router.snapshot.routeConfigurationName).to.equal(`outbound|8888||${kitexHost}`);
    expect([...router.snapshot.clusters.keys()].sort()).to.deep.equal([v1, v2]);
  });

  it("expands a short target with the client's namespace", async () => {
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const router = await routerOf(h.xds(), "kitex-server:8888");
    expect(router.snapshot.target).to.equal(target);
    expect(decided(router.route({ path: "/proxyless.GreetService/SayHello", headers: {} })).cluster).to.equal(v2);
  });

  it("resolves sidecar-style config: the NDS name table, then the 0.0.0.0_<port> listener and the per-port route configuration", async () => {
    serveMesh(h.cp, kitexMesh(9001, 9002), "sidecar");
    const client = h.xds({ node: { id: "sidecar~127.0.0.1~client.default~default.svc.cluster.local", metadata: { NAMESPACE: "default" } } });
    const router = await routerOf(client, "kitex-server:8888");
    expect(router.snapshot.listenerName).to.equal("0.0.0.0_8888");
    expect(router.snapshot.routeConfigurationName).to.equal("8888");
    expect(decided(router.route({ path: "/proxyless.GreetService/SayHello1", headers: { stage: "canary" } })).cluster).to.equal(v1);
    expect(decided(router.route({ path: "/proxyless.GreetService/SayHello", headers: {} })).cluster).to.equal(v2);
  });

  it("follows a listener that switches route configuration, and stops watching the cluster no longer referenced", async () => {
    h.cp.set(LDS, { [target]: apiListener(target, "rc-1") });
    h.cp.set(RDS, {
      "rc-1": routeConfiguration("rc-1", [target], [prefixRoute("/a", "A"), prefixRoute("/", "B")]),
      "rc-2": routeConfiguration("rc-2", [target], [prefixRoute("/", "A")]),
    });
    h.cp.set(CDS, { A: edsCluster("A"), B: edsCluster("B") });
    h.cp.set(EDS, { A: loopbackEndpoints("A", [9001]), B: loopbackEndpoints("B", [9002]) });
    const client = h.xds();
    const snapshots = client.resolve(target);
    const seen: string[][] = [];
    const sub = snapshots.subscribe((s) => seen.push([s.routeConfigurationName ?? "", ...[...s.clusters.keys()].sort()]));
    await next(snapshots, (s) => s.clusters.size === 2);
    await h.nextRequest((r) => r.typeUrl === CDS && r.resourceNames.length === 2);

    const n = h.requestCount();
    h.cp.set(LDS, { [target]: apiListener(target, "rc-2") });
    await next(snapshots, (s) => s.routeConfigurationName === "rc-2");
    const dropped = await h.nextRequest((r) => r.typeUrl === CDS && !r.resourceNames.includes("B"), n);
    sub.unsubscribe();
    expect(dropped.request.resourceNames).to.deep.equal(["A"]);
    expect(seen.at(-1)).to.deep.equal(["rc-2", "A"]);
    // Every snapshot was complete: its clusters are exactly the ones its routes reference.
    expect(seen).to.deep.equal([["rc-1", "A", "B"], ["rc-2", "A"]]);
  });

  it("emits a new snapshot when endpoints change, and the router picks the new endpoint", async () => {
    h.cp.set(LDS, { [target]: apiListener(target, "rc") });
    h.cp.set(RDS, { rc: routeConfiguration("rc", ["*"], [prefixRoute("/", "A")]) });
    h.cp.set(CDS, { A: edsCluster("A", "A-eds") });
    h.cp.set(EDS, { "A-eds": loopbackEndpoints("A-eds", [9001]) });
    const client = h.xds();
    const first = await routerOf(client);
    expect(decided(first.route({ path: "/x", headers: {} })).endpoint.port).to.equal(9001);
    h.cp.set(EDS, { "A-eds": loopbackEndpoints("A-eds", [9003]) });
    const second = await next(client.router(target), (r) => r !== first);
    expect(decided(second.route({ path: "/x", headers: {} })).endpoint.port).to.equal(9003);
  });

  it("reports an absent listener, an absent cluster and an unmatched path as typed per-call errors", async () => {
    const client = h.xds({ doesNotExistTimeoutMs: 100 });
    const absent = await next(client.router("nobody.default.svc.cluster.local:80"));
    const error = absent.route({ path: "/x", headers: {} });
    expect(error).to.be.instanceOf(XdsError);
    expect(error).to.include({ code: "LISTENER_ABSENT" });
    expect((error as XdsError).message).to.contain("nobody.default.svc.cluster.local:80");

    h.cp.set(LDS, { [target]: apiListener(target, "rc") });
    h.cp.set(RDS, { rc: routeConfiguration("rc", [target], [prefixRoute("/svc/", "missing")]) });
    const router = await next(client.router(target), (r) => r.snapshot.clusters.size === 1);
    expect(router.route({ path: "/svc/x", headers: {} })).to.include({ code: "CLUSTER_ABSENT" });
    const unmatched = router.route({ path: "/other", headers: {} });
    expect(unmatched).to.include({ code: "NO_ROUTE" });
    expect((unmatched as XdsError).message).to.contain("/other");
  });

  it("shares one snapshot stream per target and replays the latest to a late subscriber", async () => {
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const client = h.xds();
    expect(client.resolve("kitex-server:8888")).to.equal(client.resolve(target));
    const hold = client.resolve(target).subscribe();
    const first = await firstComplete(client.resolve(target));
    let late: unknown;
    client.resolve(target).subscribe((s) => (late = s)).unsubscribe();
    hold.unsubscribe();
    expect(late).to.equal(first);
  });
});

function firstComplete<T extends { clusters: ReadonlyMap<string, unknown> }>(snapshots: Observable<T>): Promise<T> {
  return firstValueFrom(snapshots.pipe(filter((s) => s.clusters.size > 0)));
}
