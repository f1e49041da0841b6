import { createRequire } from "node:module";
import { expect } from "chai";
import { messageType, type ResourceUpdate } from "rxds";
import { ClusterSchema, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { rawClusterType, rawListenerType } from "../../src/client/resource-types.js";
import { CDS, Harness, LDS, next, pack } from "../support/wire.js";

const rxdsVersion = (createRequire(import.meta.url)("rxds/package.json") as { version: string }).version;

describe("ADS ACK and NACK", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("sends the node with user agent rxds only on the first request of a stream", async () => {
    h.cp.set(LDS, { a: pack(ListenerSchema, { name: "a" }) });
    const client = h.client();
    const sub = client.watch(rawListenerType, "a").subscribe();
    await next(client.watch(rawListenerType, "a"), (u) => u.resource !== undefined);
    sub.add(client.watch(rawClusterType, "c").subscribe());
    const later = await h.nextRequest((r) => r.typeUrl === CDS);
    const first = await h.nextRequest(() => true);
    sub.unsubscribe();
    expect(first.request.node?.userAgentName).to.equal("rxds");
    expect(first.request.node?.userAgentVersionType).to.deep.equal({ case: "userAgentVersion", value: rxdsVersion });
    expect(first.request.node?.id).to.match(/^sidecar~/);
    expect(first.request.node?.metadata).to.deep.equal({ GENERATOR: "grpc" });
    expect(later.request.node).to.equal(undefined);
  });

  it("ACKs with the response's version and nonce", async () => {
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a" }) });
    const client = h.client();
    const sub = client.watch(rawClusterType, "a").subscribe();
    const ack = await h.nextRequest((r) => r.typeUrl === CDS && r.responseNonce !== "");
    sub.unsubscribe();
    expect(ack.request.versionInfo).to.equal("1");
    expect(ack.request.resourceNames).to.deep.equal(["a"]);
    expect(ack.request.errorDetail).to.equal(undefined);
  });

  it("applies the valid resources of a mixed response, keeps the last good value of the invalid one and NACKs naming it", async () => {
    // A validate hook that rejects clusters with a negative connect timeout.
    const strictClusters = messageType(ClusterSchema, {
      deletedByOmission: true,
      validate: (c) => {
        if ((c.connectTimeout?.seconds ?? 0n) < 0n) throw new Error("connect_timeout: must not be negative");
        return c;
      },
    });
    h.cp.set(CDS, { good: pack(ClusterSchema, { name: "good" }), bad: pack(ClusterSchema, { name: "bad" }) });
    const client = h.client({ resourceTypes: [strictClusters] });
    const good: ResourceUpdate<Cluster>[] = [];
    const bad: ResourceUpdate<Cluster>[] = [];
    const sub = client.watch(strictClusters, "good").subscribe((u) => good.push(u));
    sub.add(client.watch(strictClusters, "bad").subscribe((u) => bad.push(u)));
    await h.nextRequest((r) => r.typeUrl === CDS && r.versionInfo === "1" && r.resourceNames.length === 2);
    const before = h.requestCount();

    h.cp.set(CDS, {
      good: pack(ClusterSchema, { name: "good", altStatName: "v2" }),
      bad: pack(ClusterSchema, { name: "bad", connectTimeout: { seconds: -1n } }),
    });
    const nack = await h.nextRequest((r) => r.typeUrl === CDS, before);
    const status = await next(client.status$, (s) => s.resources.some((r) => r.name === "bad" && r.state === "NACKED"));
    sub.unsubscribe();

    expect(nack.request.versionInfo).to.equal("1");
    expect(nack.request.responseNonce).to.not.equal("");
    expect(nack.request.errorDetail?.code).to.equal(3);
    expect(nack.request.errorDetail?.message).to.equal('resource "bad": connect_timeout: must not be negative');
    expect(good.map((u) => u.resource?.altStatName)).to.deep.equal(["", "v2"]);
    expect(bad).to.have.length(1);
    expect(bad[0]!.version).to.equal("1");
    const badStatus = status.resources.find((r) => r.name === "bad")!;
    expect(badStatus).to.include({ state: "NACKED", version: "1", rejectedVersion: "2", reason: "connect_timeout: must not be negative" });
    expect(status.resources.find((r) => r.name === "good")).to.include({ state: "ACKED", version: "2" });
  });

  it("NACKs a resource of the wrong type URL and one that does not decode", async () => {
    h.cp.set(CDS, {
      a: pack(ClusterSchema, { name: "a" }),
      wrong: pack(ListenerSchema, { name: "wrong" }),
      garbage: { $typeName: "google.protobuf.Any", typeUrl: CDS, value: new Uint8Array([0xff, 0xff, 0xff]) },
    });
    const client = h.client();
    const sub = client.watch(rawClusterType, "a").subscribe();
    sub.add(client.watch(rawClusterType, "wrong").subscribe());
    sub.add(client.watch(rawClusterType, "garbage").subscribe());
    const nack = await h.nextRequest((r) => r.typeUrl === CDS && r.errorDetail !== undefined);
    const a = await next(client.watch(rawClusterType, "a"));
    sub.unsubscribe();
    expect(nack.request.versionInfo).to.equal("");
    expect(nack.request.errorDetail?.message).to.contain(`type URL ${LDS} in a response for ${CDS}`);
    expect(nack.request.errorDetail?.message).to.contain("cannot decode envoy.config.cluster.v3.Cluster");
    expect(a.resource?.name).to.equal("a");
  });

  it("emits nothing when an identical resource is re-sent, but ACKs the new version", async () => {
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "x" }) });
    const client = h.client();
    const seen: ResourceUpdate<Cluster>[] = [];
    const sub = client.watch(rawClusterType, "a").subscribe((u) => seen.push(u));
    await h.nextRequest((r) => r.typeUrl === CDS && r.versionInfo === "1");
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "x" }) });
    await h.nextRequest((r) => r.typeUrl === CDS && r.versionInfo === "2");
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "y" }) });
    await h.nextRequest((r) => r.typeUrl === CDS && r.versionInfo === "3");
    sub.unsubscribe();
    expect(seen.map((u) => [u.version, u.resource?.altStatName])).to.deep.equal([
      ["1", "x"],
      ["3", "y"],
    ]);
  });
});
