// gRFC A57 and A88 as a watcher sees them: an error is a value when there is nothing else to show (a first
// version rejected, a control plane never reached), and ambient (status$ and the log only) when a value is held.
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import type { ResourceUpdate } from "rxds";
import { ClusterSchema, Cluster_DiscoveryType } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { rawClusterType } from "../../src/client/resource-types.js";
import type { ClusterModel } from "../../src/resources/cluster.js";
import { edsCluster } from "../support/resources.js";
import { until } from "../support/until.js";
import { CDS, Harness, next, pack } from "../support/wire.js";

/** An EDS cluster without eds_cluster_config: rxds rejects it. */
function edsWithoutConfig(name: string) {
  return anyPack(ClusterSchema, create(ClusterSchema, { name, clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS } }));
}

describe("resource errors (gRFC A57, A88)", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("FirstVersionNacked: a watch whose first version is rejected emits the reason as an INVALID_RESOURCE error, and no does-not-exist", async () => {
    h.cp.set(CDS, { bad: edsWithoutConfig("bad") });
    const xds = h.xds({ doesNotExistTimeoutMs: 50 });
    const bad: ResourceUpdate<ClusterModel>[] = [];
    const sub = xds.cluster("bad").subscribe((u) => bad.push(u));
    // Requested with "bad", so its timer, had it run, would fire first.
    const missing = await next(xds.cluster("missing"), (u) => u.version === "" && u.resource === undefined);
    expect(missing.error).to.equal(undefined);

    expect(bad).to.have.length(1);
    expect(bad[0]!.resource).to.equal(undefined);
    expect(bad[0]!.error?.code).to.equal("INVALID_RESOURCE");
    expect(bad[0]!.error?.message).to.equal('cluster "bad": eds_cluster_config: is required for an EDS cluster');
    const status = await next(xds.status$, (s) => s.resources.some((r) => r.name === "bad" && r.state === "NACKED"));
    expect(status.resources.find((r) => r.name === "bad")).to.include({ state: "NACKED", version: "", rejectedVersion: "1", error: bad[0]!.error!.message });

    h.cp.set(CDS, { bad: edsCluster("bad") });
    const fixed = await next(xds.cluster("bad"), (u) => u.resource !== undefined);
    sub.unsubscribe();
    expect(fixed.error).to.equal(undefined);
    expect(fixed.resource?.discovery).to.deep.equal({ kind: "EDS", serviceName: "bad" });
    expect(bad.map((u) => u.error?.code ?? "value")).to.deep.equal(["INVALID_RESOURCE", "value"]);
  });

  it("NackedAfterGood: a rejected update of a held value keeps the value (an ambient error on status$ and in the log)", async () => {
    h.cp.set(CDS, { c: edsCluster("c") });
    const xds = h.xds();
    const seen: ResourceUpdate<ClusterModel>[] = [];
    const sub = xds.cluster("c").subscribe((u) => seen.push(u));
    await next(xds.cluster("c"), (u) => u.resource !== undefined);
    h.cp.set(CDS, { c: edsWithoutConfig("c") });
    const status = await next(xds.status$, (s) => s.resources.some((r) => r.name === "c" && r.state === "NACKED"));
    sub.unsubscribe();
    expect(seen).to.have.length(1);
    expect(seen[0]!.resource).to.not.equal(undefined);
    const c = status.resources.find((r) => r.name === "c")!;
    expect(c).to.include({ version: "1", rejectedVersion: "2" });
    expect(c.error).to.equal(undefined);
    expect(h.log.at("warn")).to.deep.equal([`NACK Cluster version 2: resource "c": cluster "c": eds_cluster_config: is required for an EDS cluster`]);
  });

  it("Unreachable: a watch that holds nothing gets CONTROL_PLANE_UNAVAILABLE naming the server and the cause, then the value once it is up", async () => {
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a" }) });
    const port = Number(h.address.split(":")[1]);
    await h.cp.close();
    const client = h.client();
    const seen: ResourceUpdate<unknown>[] = [];
    const sub = client.watch(rawClusterType, "a").subscribe((u) => seen.push(u));
    const failed = await next(client.watch(rawClusterType, "a"), (u) => u.error !== undefined);
    expect(failed.resource).to.equal(undefined);
    expect(failed.error?.code).to.equal("CONTROL_PLANE_UNAVAILABLE");
    expect(failed.error?.message).to.match(new RegExp(`^xDS server 127\\.0\\.0\\.1:${port} is unavailable: .*(ECONNREFUSED|No connection established)`));
    const status = await next(client.status$, (s) => s.connection === "reconnecting");
    expect(status.lastError).to.be.a("string").and.not.equal("");
    expect(status.resources[0]).to.include({ state: "REQUESTED", error: failed.error!.message });

    await h.cp.listen({ host: "127.0.0.1", port });
    const up = await next(client.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    sub.unsubscribe();
    expect(up.error).to.equal(undefined);
    expect(seen.filter((u) => u.error !== undefined).every((u) => u.error!.code === "CONTROL_PLANE_UNAVAILABLE")).to.equal(true);
    expect(seen.at(-1)).to.equal(up);
    expect(h.log.at("warn")[0]).to.match(new RegExp(`^cannot reach the control plane at 127\\.0\\.0\\.1:${port}: `));
    expect(h.log.at("warn").at(-1)).to.match(new RegExp(`^reconnected to the control plane at 127\\.0\\.0\\.1:${port} after \\d+\\.\\d s$`));
  });

  it("UnreachableWithValue: a watch holding a value keeps it through an outage and sees no error", async () => {
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "v1" }) });
    const client = h.client();
    const seen: ResourceUpdate<unknown>[] = [];
    const sub = client.watch(rawClusterType, "a").subscribe((u) => seen.push(u));
    await next(client.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    const port = Number(h.address.split(":")[1]);
    await h.cp.close();
    await next(client.status$, (s) => s.connection === "reconnecting" && s.resources[0]?.state === "ACKED");
    // Several failed attempts, not just the end of the stream that worked.
    await until(() => h.log.at("warn").some((l) => l.startsWith("cannot reach")));
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "v2" }) });
    await h.cp.listen({ host: "127.0.0.1", port });
    await next(client.watch(rawClusterType, "a"), (u) => (u.resource as { altStatName?: string } | undefined)?.altStatName === "v2");
    sub.unsubscribe();
    expect(seen.map((u) => [(u.resource as { altStatName?: string } | undefined)?.altStatName, u.error])).to.deep.equal([
      ["v1", undefined],
      ["v2", undefined],
    ]);
  });
});
