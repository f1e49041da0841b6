import { expect } from "chai";
import type { ResourceUpdate } from "rxds";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { rawClusterType, rawEndpointsType, rawListenerType } from "../../src/client/resource-types.js";
import { until } from "../support/until.js";
import { CDS, EDS, Harness, LDS, next, pack } from "../support/wire.js";

describe("ADS subscriptions", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("requests the full name set as names are watched and dropped, with an explicit empty list for EDS", async () => {
    const client = h.client();
    const a = client.watch(rawEndpointsType, "a").subscribe();
    const b = client.watch(rawEndpointsType, "b").subscribe();
    const both = await h.nextRequest((r) => r.typeUrl === EDS);
    expect(both.request.resourceNames).to.deep.equal(["a", "b"]);
    const keep = client.watch(rawClusterType, "keep-stream-open").subscribe();
    let n = h.requestCount();
    a.unsubscribe();
    expect((await h.nextRequest((r) => r.typeUrl === EDS, n)).request.resourceNames).to.deep.equal(["b"]);
    n = h.requestCount();
    b.unsubscribe();
    const none = await h.nextRequest((r) => r.typeUrl === EDS, n);
    expect(none.request.resourceNames).to.deep.equal([]);
    expect(none.stream).to.equal(both.stream);
    keep.unsubscribe();
  });

  it("never opens LDS with an empty (wildcard) request, and removing the last name sends an empty list the server reads as none", async () => {
    h.cp.set(LDS, { a: pack(ListenerSchema, { name: "a" }), other: pack(ListenerSchema, { name: "other" }) });
    const client = h.client();
    const keep = client.watch(rawEndpointsType, "e").subscribe();
    const a = client.watch(rawListenerType, "a").subscribe();
    const opening = await h.nextRequest((r) => r.typeUrl === LDS);
    expect(opening.request.resourceNames).to.deep.equal(["a"]);
    await h.nextRequest((r) => r.typeUrl === LDS && r.responseNonce !== "");
    const n = h.requestCount();
    a.unsubscribe();
    const last = await h.nextRequest((r) => r.typeUrl === LDS, n);
    expect(last.request.resourceNames).to.deep.equal([]);
    // Had the server read that as wildcard, this change would reach the client (and be ACKed) before the EDS one.
    const m = h.requestCount();
    h.cp.set(LDS, { other: pack(ListenerSchema, { name: "other", statPrefix: "changed" }) });
    h.cp.set(EDS, { e: pack(ClusterLoadAssignmentSchema, { clusterName: "e" }) });
    const ack = await h.nextRequest((r) => r.responseNonce !== "", m);
    expect(ack.request.typeUrl).to.equal(EDS);
    keep.unsubscribe();
  });

  it("opens the stream on the first watch and closes it after the last", async () => {
    const client = h.client();
    const sub = client.watch(rawClusterType, "a").subscribe();
    await h.nextRequest((r) => r.typeUrl === CDS);
    expect(h.cp.openStreams).to.equal(1);
    sub.unsubscribe();
    await next(client.status$, (s) => s.connection === "idle");
    await until(() => h.cp.openStreams === 0);
    const again = client.watch(rawClusterType, "a").subscribe();
    const second = await h.nextRequest((r, stream) => r.typeUrl === CDS && stream === 2);
    expect(second.request.node?.userAgentName).to.equal("rxds");
    again.unsubscribe();
  });

  it("replays the latest value to a late subscriber at once", async () => {
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "x" }) });
    const client = h.client();
    const first = client.watch(rawClusterType, "a").subscribe();
    await next(client.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    let late: ResourceUpdate<unknown> | undefined;
    const second = client.watch(rawClusterType, "a").subscribe((u) => (late = u));
    expect(late).to.include({ name: "a", version: "1" });
    expect((late!.resource as { altStatName: string }).altStatName).to.equal("x");
    first.unsubscribe();
    second.unsubscribe();
  });

  it("returns the same observable for the same type and name", () => {
    const client = h.client();
    expect(client.watch(rawClusterType, "a")).to.equal(client.watch(rawClusterType, "a"));
    expect(client.watch(rawClusterType, "a")).to.not.equal(client.watch(rawClusterType, "b"));
    expect(() => client.watch("type.googleapis.com/unknown.Type", "x")).to.throw(/unknown resource type type.googleapis.com\/unknown.Type/);
  });
});

describe("SotW deletion and does-not-exist", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("reports a listener or cluster missing from a response as absent", async () => {
    h.cp.set(LDS, { a: pack(ListenerSchema, { name: "a" }) });
    h.cp.set(CDS, { c: pack(ClusterSchema, { name: "c" }) });
    const client = h.client();
    const seen: string[] = [];
    const sub = client.watch(rawListenerType, "a").subscribe((u) => seen.push(`L:${u.resource ? "present" : "absent"}`));
    sub.add(client.watch(rawClusterType, "c").subscribe((u) => seen.push(`C:${u.resource ? "present" : "absent"}`)));
    await next(client.watch(rawClusterType, "c"), (u) => u.resource !== undefined);
    await next(client.watch(rawListenerType, "a"), (u) => u.resource !== undefined);
    h.cp.remove(LDS, ["a"]);
    h.cp.remove(CDS, ["c"]);
    await next(client.watch(rawClusterType, "c"), (u) => u.resource === undefined);
    await next(client.watch(rawListenerType, "a"), (u) => u.resource === undefined);
    const status = await next(client.status$, (s) => s.resources.every((r) => r.state === "DOES_NOT_EXIST"));
    sub.unsubscribe();
    expect(seen.sort()).to.deep.equal(["C:absent", "C:present", "L:absent", "L:present"]);
    expect(status.resources.map((r) => r.name).sort()).to.deep.equal(["a", "c"]);
  });

  it("keeps route configurations and endpoints that a response omits", async () => {
    h.cp.set(EDS, { a: pack(ClusterLoadAssignmentSchema, { clusterName: "a" }), b: pack(ClusterLoadAssignmentSchema, { clusterName: "b" }) });
    const client = h.client();
    const seen: string[] = [];
    const sub = client.watch(rawEndpointsType, "a").subscribe((u) => seen.push(`${u.version}:${u.resource ? "present" : "absent"}`));
    sub.add(client.watch(rawEndpointsType, "b").subscribe());
    await next(client.watch(rawEndpointsType, "b"), (u) => u.resource !== undefined);
    h.cp.remove(EDS, ["a"]);
    h.cp.set(EDS, { b: pack(ClusterLoadAssignmentSchema, { clusterName: "b", endpoints: [{}] }) });
    await next(client.watch(rawEndpointsType, "b"), (u) => u.version === "3");
    sub.unsubscribe();
    expect(seen).to.deep.equal(["1:present"]);
  });

  it("keeps omitted listeners when ignoreResourceDeletion is set", async () => {
    h.cp.set(LDS, { a: pack(ListenerSchema, { name: "a" }), b: pack(ListenerSchema, { name: "b" }) });
    const client = h.client({ ignoreResourceDeletion: true });
    const seen: boolean[] = [];
    const sub = client.watch(rawListenerType, "a").subscribe((u) => seen.push(u.resource !== undefined));
    sub.add(client.watch(rawListenerType, "b").subscribe());
    await next(client.watch(rawListenerType, "a"), (u) => u.resource !== undefined);
    h.cp.remove(LDS, ["a"]);
    h.cp.set(LDS, { b: pack(ListenerSchema, { name: "b", statPrefix: "v3" }) });
    await next(client.watch(rawListenerType, "b"), (u) => u.resource?.statPrefix === "v3");
    sub.unsubscribe();
    expect(seen).to.deep.equal([true]);
  });

  it("reports a name nobody answers as absent after the configured timeout, then present when it appears", async () => {
    const client = h.client({ doesNotExistTimeoutMs: 100 });
    const seen: (string | undefined)[] = [];
    const sub = client.watch(rawEndpointsType, "ghost").subscribe((u) => seen.push(u.resource?.clusterName));
    const status = await next(client.status$, (s) => s.resources.some((r) => r.name === "ghost" && r.state === "DOES_NOT_EXIST"));
    expect(status.connection).to.equal("ready");
    h.cp.set(EDS, { ghost: pack(ClusterLoadAssignmentSchema, { clusterName: "ghost" }) });
    await next(client.watch(rawEndpointsType, "ghost"), (u) => u.resource !== undefined);
    sub.unsubscribe();
    expect(seen).to.deep.equal([undefined, "ghost"]);
  });
});
