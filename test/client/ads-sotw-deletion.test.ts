// SotW deletion by omission (LDS, CDS): only what the client holds is deleted, as Envoy and gRPC do.
import { expect } from "chai";
import type { ResourceUpdate } from "rxds";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { rawClusterType, rawListenerType } from "../../src/client/resource-types.js";
import { CDS, Harness, LDS, next, pack } from "../support/wire.js";

describe("SotW deletion by omission", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("NeverReceived: a response that omits a name the client never received leaves it requested; only the timer reports it absent", async () => {
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a" }) });
    const client = h.client({ doesNotExistTimeoutMs: 300 });
    const b: ResourceUpdate<unknown>[] = [];
    const sub = client.watch(rawClusterType, "a").subscribe();
    await next(client.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    const n = h.requestCount();
    sub.add(client.watch(rawClusterType, "b").subscribe((u) => b.push(u)));
    // The control plane answers [a, b] with a alone (CDS is full state): b is omitted.
    const ack = await h.nextRequest((r) => r.typeUrl === CDS && r.resourceNames.length === 2 && r.responseNonce !== "" && r.versionInfo === "1", n);
    expect(ack.request.errorDetail).to.equal(undefined);
    expect(b).to.deep.equal([]);
    expect((await next(client.status$)).resources.find((r) => r.name === "b")?.state).to.equal("REQUESTED");

    const absent = await next(client.watch(rawClusterType, "b"));
    sub.unsubscribe();
    expect(absent).to.deep.equal({ typeUrl: CDS, name: "b", version: "", resource: undefined });
    expect(h.log.at("warn")).to.deep.equal(['Cluster "b" does not exist: not sent within 300 ms of being requested']);
  });

  it("Held: a listener the client holds is reported absent as soon as a response omits it", async () => {
    h.cp.set(LDS, { a: pack(ListenerSchema, { name: "a" }), b: pack(ListenerSchema, { name: "b" }) });
    const client = h.client();
    const a: ResourceUpdate<unknown>[] = [];
    const sub = client.watch(rawListenerType, "a").subscribe((u) => a.push(u));
    sub.add(client.watch(rawListenerType, "b").subscribe());
    await next(client.watch(rawListenerType, "a"), (u) => u.resource !== undefined);
    h.cp.remove(LDS, ["a"]);
    const gone = await next(client.watch(rawListenerType, "a"), (u) => u.resource === undefined);
    sub.unsubscribe();
    expect(gone).to.deep.equal({ typeUrl: LDS, name: "a", version: "2", resource: undefined });
    expect(a.map((u) => u.version)).to.deep.equal(["1", "2"]);
    expect(h.log.at("warn")).to.deep.equal(['Listener "a" does not exist: the control plane removed it (version 2)']);
  });

  it("IgnoreResourceDeletion: with the option, an omitted listener keeps its value", async () => {
    h.cp.set(LDS, { a: pack(ListenerSchema, { name: "a" }), b: pack(ListenerSchema, { name: "b" }) });
    const client = h.client({ ignoreResourceDeletion: true });
    const a: ResourceUpdate<unknown>[] = [];
    const sub = client.watch(rawListenerType, "a").subscribe((u) => a.push(u));
    sub.add(client.watch(rawListenerType, "b").subscribe());
    await next(client.watch(rawListenerType, "a"), (u) => u.resource !== undefined);
    const n = h.requestCount();
    h.cp.remove(LDS, ["a"]);
    await h.nextRequest((r) => r.typeUrl === LDS && r.versionInfo === "2", n);
    sub.unsubscribe();
    expect(a).to.have.length(1);
    expect(a[0]!.resource).to.not.equal(undefined);
  });
});
