// ServiceSnapshot.toJSON() and Router.toJSON(): what JSON.stringify (structured logs) and console.log show of a target
// resolved over the wire from the kitex mesh, and of one whose cluster is rejected.
import { expect } from "chai";
import { inspect } from "node:util";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { CDS, Harness, next, pack } from "../support/wire.js";

const target = `${kitexHost}:8888`;
const v1 = `outbound|8888|v1|${kitexHost}`;
const v2 = `outbound|8888|v2|${kitexHost}`;

describe("ServiceSnapshot and Router toJSON", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await new Harness().start();
    serveMesh(h.cp, kitexMesh(9001, 9002, [30, 70]), "grpc");
  });
  afterEach(async () => h.stop());

  it("SnapshotJson: names, states, what each route matches and where it goes, cluster policies and endpoints, through JSON.stringify", async () => {
    const router = await next(h.xds().router(target), (r) => r.snapshot.clusters.size === 2 && [...r.snapshot.clusters.values()].every((c) => c.endpoints));
    const json = JSON.parse(JSON.stringify(router.snapshot));
    expect(json.target).to.equal(target);
    expect(json.listener).to.deep.equal({ name: target, state: "present" });
    expect(json.routeConfiguration).to.deep.equal({ name: `outbound|8888||${kitexHost}`, state: "present" });
    expect(json.virtualHost.routes).to.deep.equal([
      { index: 0, name: "route-based-on-tags", match: 'prefix "/", header stage exact "canary"', to: v1, timeoutMs: 500 },
      { index: 1, name: "route-based-on-path", match: 'path "/proxyless.GreetService/SayHello"', to: v2, timeoutMs: 500 },
      { index: 2, name: "default", match: 'prefix "/"', to: `${v1} 30/100, ${v2} 70/100` },
    ]);
    const cluster = json.clusters.find((c: { name: string }) => c.name === v1);
    expect(cluster).to.include({ state: "present", discovery: `EDS ${v1}`, maxRequests: 1024, endpointCount: 1, usableEndpointCount: 1 });
    expect(cluster.lbPolicy).to.deep.equal({ kind: "ROUND_ROBIN" });
    expect(cluster.endpoints).to.deep.equal([{ address: "127.0.0.1:9001", health: "HEALTHY", weight: 1, priority: 0, locality: "" }]);

    const routerJson = JSON.parse(JSON.stringify(router));
    expect(routerJson).to.deep.include({ target, httpRoutes: "3 routes" });
    expect(routerJson.thriftRoutes).to.match(/^ROUTE_CONFIGURATION_ABSENT: listener .* has no ThriftProxy filter/);
    expect(routerJson.snapshot).to.deep.equal(json);
  });

  it("SnapshotInspect: console.log shows the same view, not the compiled models", async () => {
    const router = await next(h.xds().router(target), (r) => r.snapshot.clusters.size === 2);
    const shown = inspect(router.snapshot);
    expect(shown).to.match(/^ServiceSnapshot \{/);
    expect(shown).to.contain("to: 'outbound|8888|v1|kitex-server.default.svc.cluster.local'");
    expect(shown).to.not.contain("[Function");
    expect(inspect(router)).to.match(/^Router \{[^]*httpRoutes: '3 routes'/);
  });

  it("SnapshotJsonError: a rejected cluster shows as an error with its code and reason; the router names why calls fail", async () => {
    h.cp.set(CDS, { [v1]: pack(ClusterSchema, { name: v1, connectTimeout: { seconds: -1n } }) });
    const router = await next(h.xds().router(target), (r) => r.snapshot.clusters.get(v1)?.error !== undefined);
    const cluster = router.snapshot.toJSON().clusters.find((c) => c.name === v1)!;
    expect(cluster.state).to.equal("error");
    expect(cluster.error).to.match(/^INVALID_RESOURCE: .*connect_timeout/);
    expect(cluster).to.include({ endpointCount: 0, usableEndpointCount: 0 });
    expect(cluster.endpoints).to.deep.equal([]);
  });
});
