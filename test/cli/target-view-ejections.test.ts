// The EJECTED column of the target view (`rxds watch`'s), filled from the balancing of the client that draws it: a
// client routes calls through rxds/grpc to three backends of a cluster with outlier detection; one fails every other
// call, is ejected, and the view says so with until when and why, the others `no`.
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { credentials, Metadata } from "@grpc/grpc-js";
import { expect } from "chai";
import { xdsClientOptions } from "rxds/grpc";
import { combineLatest, filter, firstValueFrom } from "rxjs";
import { Cluster_DiscoveryType, ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { renderTarget } from "../../src/cli/target-view.js";
import { GreetServiceClient, GrpcGreetBackend, hello } from "../support/greet-backend.js";
import { apiListener, loopbackEndpoints, prefixRoute, routeConfiguration } from "../support/resources.js";
import { CDS, EDS, Harness, LDS, RDS } from "../support/wire.js";

const target = "od.default.svc.cluster.local:8080";
const seconds = (s: number) => ({ seconds: BigInt(Math.floor(s)), nanos: Math.round((s % 1) * 1e9) });

describe("the target view's EJECTED column", function () {
  this.timeout(20000);
  let h: Harness;
  let backends: GrpcGreetBackend[];

  beforeEach(async () => {
    h = await new Harness().start();
    backends = await Promise.all(["b0", "b1", "b2"].map((name) => GrpcGreetBackend.start(name)));
  });

  afterEach(async () => {
    await h.stop();
    await Promise.all(backends.map((b) => b.stop()));
  });

  it("ViewEjection: an endpoint ejected by outlier detection shows `yes until <time>: <reason>`, the others `no`", async () => {
    h.cp.set(LDS, { [target]: apiListener(target, "rc") });
    h.cp.set(RDS, { rc: routeConfiguration("rc", ["*"], [prefixRoute("/", "od")]) });
    const cluster = create(ClusterSchema, {
      name: "od",
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
      edsClusterConfig: { edsConfig: { configSourceSpecifier: { case: "ads", value: {} } } },
      outlierDetection: {
        interval: seconds(0.1),
        baseEjectionTime: seconds(30),
        maxEjectionPercent: 50,
        enforcingSuccessRate: 0,
        enforcingConsecutive5xx: 0,
        enforcingFailurePercentage: 100,
        failurePercentageThreshold: 30,
        failurePercentageMinimumHosts: 3,
        failurePercentageRequestVolume: 4,
      },
    });
    h.cp.set(CDS, { od: anyPack(ClusterSchema, cluster) });
    h.cp.set(EDS, { od: loopbackEndpoints("od", backends.map((b) => b.port)) });
    const xds = h.xds();
    const bad = backends[1]!;
    bad.failEvery = 2;
    const client = new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds));
    const views = combineLatest([xds.resolve(target), xds.balancing(target)]);
    const before = await firstValueFrom(views.pipe(filter(([snapshot]) => snapshot.clusters.get("od")?.endpoints !== undefined)));
    const row = (lines: string[], port: number) => lines.find((line) => line.includes(`127.0.0.1:${port} `))!;
    const fresh = renderTarget(before[0], { balancing: before[1] });
    for (const b of backends) expect(row(fresh, b.port)).to.match(/ no$/);
    // Without a balancing status, the column says nothing.
    expect(row(renderTarget(before[0]), bad.port)).to.match(/ -$/);

    const ejected = firstValueFrom(views.pipe(filter(([, status]) => status.clusters[0]?.endpoints.some((e) => e.ejection !== undefined) === true)));
    let stop = false;
    const load = (async () => {
      while (!stop) await new Promise((resolve) => client.SayHello!(hello(), new Metadata(), { deadline: Date.now() + 5000 }, resolve));
    })();
    const [snapshot, balancing] = await ejected;
    stop = true;
    await load;
    client.close();
    const lines = renderTarget(snapshot, { balancing });
    expect(row(lines, bad.port)).to.match(/ yes until \d{4}-\d\d-\d\dT[\d:.]+Z: failure percentage \d+% over \d+ calls is above the threshold 30%$/);
    for (const b of backends.filter((b) => b !== bad)) expect(row(lines, b.port)).to.match(/ no$/);
  });
});
