// Fallback servers (gRFC A71), with two embedded control planes: the client moves to the second server only when
// the first cannot be reached and a watched resource has nothing yet, keeps what it holds throughout, and goes back
// to the first once it answers again.
import { expect } from "chai";
import { ControlPlane } from "rxds/server";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { rawClusterType } from "../../src/client/resource-types.js";
import { until } from "../support/until.js";
import { CDS, Harness, next, pack } from "../support/wire.js";

describe("fallback xDS servers (gRFC A71)", function () {
  this.timeout(15000);
  let h: Harness;
  let fallback: ControlPlane;
  let fallbackAddress: string;
  let primaryPort: number;

  beforeEach(async () => {
    h = await new Harness().start();
    primaryPort = Number(h.address.split(":")[1]);
    fallback = new ControlPlane();
    fallbackAddress = await fallback.listen();
  });

  afterEach(async () => {
    await h.stop();
    await fallback.close();
  });

  function client() {
    return h.client({ servers: [{ uri: h.address }, { uri: fallbackAddress }] });
  }

  it("FallbackAndBack: with the primary down and nothing cached, the fallback serves; once the primary is back, the client returns to it", async () => {
    await h.cp.close();
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "primary" }) });
    fallback.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "fallback" }) });
    const xds = client();
    const sub = xds.watch(rawClusterType, "a").subscribe();
    const fromFallback = await next(xds.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    expect(fromFallback.resource?.altStatName).to.equal("fallback");
    expect((await next(xds.status$, (s) => s.connection === "ready")).server).to.equal(fallbackAddress);
    expect(h.log.at("warn").some((l) => l.includes(`falling back to ${fallbackAddress}`))).to.equal(true);

    await h.cp.listen({ port: primaryPort });
    const fromPrimary = await next(xds.watch(rawClusterType, "a"), (u) => u.resource?.altStatName === "primary");
    expect(fromPrimary.resource?.name).to.equal("a");
    await until(() => fallback.openStreams === 0, "the fallback's stream to end");
    expect((await next(xds.status$, (s) => s.connection === "ready" && s.server === h.address)).server).to.equal(h.address);
    sub.unsubscribe();
  });

  it("CachedKeepsServing: losing the primary with everything cached does not fall back; a new uncached watch does, and the cached value stays", async () => {
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "primary" }) });
    fallback.set(CDS, { b: pack(ClusterSchema, { name: "b", altStatName: "fallback" }), a: pack(ClusterSchema, { name: "a", altStatName: "primary" }) });
    const xds = client();
    const seen: (string | undefined)[] = [];
    const sub = xds.watch(rawClusterType, "a").subscribe((u) => seen.push(u.resource?.altStatName));
    await next(xds.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    await h.cp.close();
    await next(xds.status$, (s) => s.connection === "reconnecting" && s.lastError?.includes("No connection established") === true);
    expect(fallback.openStreams).to.equal(0);

    sub.add(xds.watch(rawClusterType, "b").subscribe());
    const b = await next(xds.watch(rawClusterType, "b"), (u) => u.resource !== undefined);
    expect(b.resource?.altStatName).to.equal("fallback");
    sub.unsubscribe();
    // "a" never went away: one value, from the primary (the fallback's identical copy emits nothing).
    expect(seen).to.deep.equal(["primary"]);
  });

  it("LastServerFails: when every server is down, watches with nothing get the last server's error", async () => {
    await h.cp.close();
    await fallback.close();
    const xds = client();
    const update = await next(xds.watch(rawClusterType, "a"), (u) => u.error !== undefined);
    expect(update.error?.code).to.equal("CONTROL_PLANE_UNAVAILABLE");
    expect(update.error?.message).to.contain(`xDS server ${fallbackAddress} is unavailable`);
  });
});
