// What a long-lived client keeps is what it is using now: targets routed once and dropped, and thousands of
// endpoint updates, leave no cache entry, watch or timer behind. (The heap figure is a bench row: bench/scenarios/soak.ts.)
import { expect } from "chai";
import { filter, firstValueFrom } from "rxjs";
import { clientTables as tables } from "../support/client-tables.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { loopbackEndpoints } from "../support/resources.js";
import { EDS, Harness, LDS } from "../support/wire.js";

function timers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
}

describe("bounded client state", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("Soak: 10,000 targets subscribed and dropped and 5,000 EDS updates leave no entry, watch or timer; close() leaves nothing", async function () {
    this.timeout(60000);
    await new Promise((resolve) => setImmediate(resolve)); // mocha re-arms its own test timer
    const before = timers();
    const v1 = `outbound|8888|v1|${kitexHost}`;
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const xds = h.xds();
    // One target kept all along, as a service keeps its upstreams.
    const kept = xds.router(`${kitexHost}:8888`).subscribe();
    await firstValueFrom(xds.router(`${kitexHost}:8888`).pipe(filter((r) => r.snapshot.clusters.get(v1)?.endpoints !== undefined)));

    for (let batch = 0; batch < 10; batch++) {
      const n = h.requestCount();
      const subscriptions = Array.from({ length: 1000 }, (_, i) => xds.router(`svc-${batch}-${i}.default.svc.cluster.local:8080`).subscribe());
      await h.nextRequest((r) => r.typeUrl === LDS && r.resourceNames.length === 1001, n);
      const m = h.requestCount();
      for (const subscription of subscriptions) subscription.unsubscribe();
      await h.nextRequest((r) => r.typeUrl === LDS && r.resourceNames.length === 1, m);
    }
    expect(tables(xds)).to.deep.equal({ snapshots: 1, routers: 1, balancers: 1, observables: 6, watches: 6 });

    const routers: number[] = [];
    const counting = xds.router(`${kitexHost}:8888`).subscribe(() => routers.push(1));
    for (let update = 1; update <= 5000; update++) h.cp.set(EDS, { [v1]: loopbackEndpoints(v1, [9001, 10000 + update]) });
    await firstValueFrom(
      xds.router(`${kitexHost}:8888`).pipe(filter((r) => r.snapshot.clusters.get(v1)?.endpoints?.priorities[0]?.[0]?.endpoints[1]?.port === 15000)),
    );
    counting.unsubscribe();
    expect(routers.length).to.be.greaterThan(1);
    expect(tables(xds)).to.deep.equal({ snapshots: 1, routers: 1, balancers: 1, observables: 6, watches: 6 });

    kept.unsubscribe();
    await firstValueFrom(xds.status$.pipe(filter((s) => s.connection === "idle")));
    expect(tables(xds)).to.deep.equal({ snapshots: 0, routers: 0, balancers: 0, observables: 0, watches: 0 });
    await xds.close();
    expect(tables(xds)).to.deep.equal({ snapshots: 0, routers: 0, balancers: 0, observables: 0, watches: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(timers()).to.equal(before);
  });
});
