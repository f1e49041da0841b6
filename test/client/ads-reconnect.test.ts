// The stream's life across reconnects (gRFC A57): after any new stream, status$ reports it ready and
// does-not-exist timers run again; a stream that worked is reopened at once, one that failed waits for the backoff.
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { filter, firstValueFrom, take, toArray } from "rxjs";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { DiscoveryResponseSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { rawClusterType } from "../../src/client/resource-types.js";
import { until } from "../support/until.js";
import { CDS, Harness, next, pack } from "../support/wire.js";

describe("ADS stream restarts (gRFC A57)", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("RestartReady: after the control plane is down a while and back, status$ is ready again and does-not-exist timers run", async () => {
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a" }) });
    const client = h.client({ doesNotExistTimeoutMs: 100 });
    const sub = client.watch(rawClusterType, "a").subscribe();
    await next(client.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    const port = Number(h.address.split(":")[1]);
    await h.cp.close();
    // Down across several failed attempts (each failure is one status$ emission while reconnecting).
    await firstValueFrom(client.status$.pipe(filter((s) => s.connection === "reconnecting"), take(4), toArray()));
    await h.cp.listen({ host: "127.0.0.1", port });

    await next(client.status$, (s) => s.connection === "ready");
    sub.add(client.watch(rawClusterType, "missing").subscribe());
    const status = await next(client.status$, (s) => s.resources.some((r) => r.name === "missing" && r.state === "DOES_NOT_EXIST"));
    const missing = await next(client.watch(rawClusterType, "missing"));
    sub.unsubscribe();
    expect(status.connection).to.equal("ready");
    expect(missing).to.deep.equal({ typeUrl: CDS, name: "missing", version: "", resource: undefined });
  });

  it("ServerEndsStream: a stream the server ends after a response is reopened at once, becomes ready and runs does-not-exist timers", async () => {
    const raw = await h.raw((stream, request) => {
      if (request.typeUrl !== CDS || request.resourceNames.length === 0) return;
      if (request.responseNonce === "") {
        const resources = request.resourceNames.includes("a") ? [anyPack(ClusterSchema, create(ClusterSchema, { name: "a" }))] : [];
        stream.call.write(create(DiscoveryResponseSchema, { typeUrl: CDS, versionInfo: "1", nonce: `n${stream.number}`, resources }));
      } else if (stream.number === 1) {
        stream.call.end(); // the server ends the first stream (OK status) once its response is ACKed
      }
    });
    const client = h.client({ servers: [{ uri: raw.address }], doesNotExistTimeoutMs: 100, backoff: { initialMs: 5000, maxMs: 5000 } });
    const sub = client.watch(rawClusterType, "a").subscribe();
    await next(client.status$, (s) => s.connection === "reconnecting" && s.lastError === "the server ended the stream");
    // The backoff is 5 s: a second stream within the test's 5 s means it was reopened at once.
    await until(() => raw.requests.filter((r) => r.responseNonce === "n2").length > 0, "the second stream's ACK");
    expect((await next(client.status$)).connection).to.equal("ready");

    sub.add(client.watch(rawClusterType, "missing").subscribe());
    const status = await next(client.status$, (s) => s.resources.some((r) => r.name === "missing" && r.state === "DOES_NOT_EXIST"));
    const missing = await next(client.watch(rawClusterType, "missing"));
    sub.unsubscribe();
    expect(missing).to.deep.equal({ typeUrl: CDS, name: "missing", version: "", resource: undefined });
    expect(status.connection).to.equal("ready");
    expect(raw.streams).to.have.length(2);
    expect(h.log.at("info")).to.deep.equal([`the control plane at ${raw.address} ended the stream (the server ended the stream); reopening it`]);
    expect(h.log.at("warn")).to.deep.equal(['Cluster "missing" does not exist: not sent within 100 ms of being requested']);
  });

  it("BackoffUntilAccepted: while every stream's response is rejected and the stream dropped, the delays keep growing", async () => {
    const raw = await h.raw((stream, request) => {
      if (request.typeUrl !== CDS) return;
      if (request.errorDetail !== undefined) {
        stream.call.end(); // as a server refusing the NACK would: the stream ends, the client must back off
        return;
      }
      if (request.responseNonce !== "") return;
      const garbage = { $typeName: "google.protobuf.Any" as const, typeUrl: CDS, value: new Uint8Array([0xff, 0xff]) };
      stream.call.write(create(DiscoveryResponseSchema, { typeUrl: CDS, versionInfo: "1", nonce: "n", resources: [garbage] }));
    });
    const client = h.client({ servers: [{ uri: raw.address }], backoff: { initialMs: 20, multiplier: 2, jitter: 0, maxMs: 10000 } });
    const sub = client.watch(rawClusterType, "a").subscribe();
    await firstValueFrom(client.status$.pipe(filter(() => raw.streams.length >= 6), take(1)));
    sub.unsubscribe();
    const opened = raw.streams.map((s) => s.openedAt);
    const gaps = opened.slice(1).map((t, i) => t - opened[i]!);
    // 20, 40, 80, 160, 320 ms: had a response reset the backoff, every gap would be about 20 ms.
    expect(gaps[4]!).to.be.greaterThan(4 * gaps[0]!);
    expect(gaps[4]!).to.be.greaterThan(250);
  });
});
