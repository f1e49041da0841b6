// The core talks to a small transport interface (AdsTransport); the `transport` option replaces the grpc-js one.
import { expect } from "chai";
import { tap, type Observable } from "rxjs";
import { GrpcAdsTransport, type AdsEvent, type AdsTransport, type XdsServerOptions } from "rxds";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { rawClusterType } from "../../src/client/resource-types.js";
import { CDS, Harness, next, pack } from "../support/wire.js";

describe("a pluggable ADS transport", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("TransportOption: the client streams through the transport the option makes for each server", async () => {
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a" }) });
    const made: string[] = [];
    const sent: string[] = [];
    const transport = (server: XdsServerOptions): AdsTransport => {
      made.push(server.uri);
      const inner = new GrpcAdsTransport({ uri: server.uri });
      return {
        stream: (requests: Observable<DiscoveryRequest>): Observable<AdsEvent> => inner.stream(requests.pipe(tap((r) => sent.push(r.typeUrl)))),
        close: () => inner.close(),
      };
    };
    const client = h.client({ transport });
    const update = await next(client.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    expect(update.resource?.name).to.equal("a");
    expect(made).to.deep.equal([h.address]);
    expect(sent[0]).to.equal(CDS);
  });
});
