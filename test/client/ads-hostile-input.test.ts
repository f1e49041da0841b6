// What a broken or hostile control plane can make the client pay is bounded: NACK text, message size, empty
// resources, invalid resources the client never asked for.
import { create } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { ClusterSchema, Cluster_DiscoveryType } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { MAX_ERROR_DETAIL_BYTES } from "../../src/client/error-detail.js";
import { rawClusterType, rawListenerType } from "../../src/client/resource-types.js";
import { adsChannelOptions } from "../../src/transport/grpc-ads-transport.js";
import { DiscoveryResponseSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { apiListener, edsCluster } from "../support/resources.js";
import { until } from "../support/until.js";
import { CDS, Harness, LDS, next, pack } from "../support/wire.js";

/** An api_listener whose one HTTP filter has a type URL of `length` characters: its rejection echoes it. */
function listenerWithHugeFilterType(name: string, length: number): Any {
  const hcm = create(HttpConnectionManagerSchema, {
    routeSpecifier: { case: "rds", value: { configSource: { configSourceSpecifier: { case: "ads", value: {} } }, routeConfigName: "r" } },
    httpFilters: [
      { name: "huge", configType: { case: "typedConfig", value: { $typeName: "google.protobuf.Any", typeUrl: `type.googleapis.com/x.${"y".repeat(length)}`, value: new Uint8Array() } } },
      { name: "router", configType: { case: "typedConfig", value: anyPack(RouterSchema, create(RouterSchema)) } },
    ],
  });
  return anyPack(ListenerSchema, create(ListenerSchema, { name, apiListener: { apiListener: anyPack(HttpConnectionManagerSchema, hcm) } }));
}

describe("hostile or broken control-plane input", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("BoundedNack: a rejection echoing 2.2 MB is NACKed in at most 4,096 bytes, and the stream is not reset", async () => {
    h.cp.set(LDS, { L: listenerWithHugeFilterType("L", 2_200_000) });
    const xds = h.xds();
    const sub = xds.listener("L").subscribe();
    const nack = await h.nextRequest((r) => r.typeUrl === LDS && r.errorDetail !== undefined);
    const message = nack.request.errorDetail!.message;
    expect(Buffer.byteLength(message)).to.be.at.most(MAX_ERROR_DETAIL_BYTES);
    expect(message).to.match(/^resource "L": listener "L": api_listener\.api_listener\.http_filters\[0\]\.typed_config: rxds does not apply filter type x\.yyy/);
    expect(message).to.match(/…\(truncated\)$/);
    const update = await next(xds.listener("L"));
    expect(update.error?.code).to.equal("INVALID_RESOURCE");
    expect(Buffer.byteLength(update.error!.message)).to.be.at.most(1024);

    const n = h.requestCount();
    h.cp.set(LDS, { L: apiListener("L", "r") });
    const ack = await h.nextRequest((r) => r.typeUrl === LDS && r.versionInfo === "2", n);
    sub.unsubscribe();
    expect(ack.stream).to.equal(nack.stream);
  });

  it("LargeResponse: a response over grpc-js's default 4 MB receive limit is accepted", async () => {
    h.cp.set(CDS, { big: pack(ClusterSchema, { name: "big", altStatName: "z".repeat(5_000_000) }) });
    const client = h.client();
    const update = await next(client.watch(rawClusterType, "big"), (u) => u.resource !== undefined);
    expect((update.resource as { altStatName: string }).altStatName).to.have.length(5_000_000);
  });

  it("MaxResponseBytes: a response over the option's limit fails the stream, and watches that hold nothing say why", async () => {
    h.cp.set(CDS, { big: pack(ClusterSchema, { name: "big", altStatName: "z".repeat(2_000_000) }) });
    const client = h.client({ maxResponseBytes: 1 << 20 });
    const failed = await next(client.watch(rawClusterType, "big"), (u) => u.error !== undefined);
    expect(failed.error?.code).to.equal("CONTROL_PLANE_UNAVAILABLE");
    expect(failed.error?.message).to.match(/larger than max/);
    expect(() => h.client({ maxResponseBytes: -1 })).to.throw(/options\.maxResponseBytes: expected a positive number, got -1/);
  });

  it("ChannelOptions: the ADS channel pings every 5 minutes (20 s to answer), as grpc-go's xDS client, and takes any response size unless bounded", () => {
    expect(adsChannelOptions(Infinity)).to.deep.equal({
      "grpc.keepalive_time_ms": 300_000,
      "grpc.keepalive_timeout_ms": 20_000,
      "grpc.max_receive_message_length": -1,
    });
    expect(adsChannelOptions(1 << 20)["grpc.max_receive_message_length"]).to.equal(1 << 20);
    // The client's backoff paces the channel's own reconnection attempts too.
    expect(adsChannelOptions(Infinity, { initialMs: 20, maxMs: 200 })).to.include({ "grpc.initial_reconnect_backoff_ms": 20, "grpc.max_reconnect_backoff_ms": 200 });
  });

  it("EmptyResource: an Any without bytes is NACKed, not ACKed as a resource named \"\"", async () => {
    h.cp.set(LDS, { a: { $typeName: "google.protobuf.Any", typeUrl: LDS, value: new Uint8Array() } });
    const client = h.client({ doesNotExistTimeoutMs: 100 });
    const sub = client.watch(rawListenerType, "a").subscribe();
    const nack = await h.nextRequest((r) => r.typeUrl === LDS && r.responseNonce !== "");
    const a = await next(client.watch(rawListenerType, "a"));
    sub.unsubscribe();
    expect(nack.request.errorDetail?.message).to.equal("resource [0]: empty envoy.config.listener.v3.Listener (the resource has no bytes)");
    expect(nack.request.versionInfo).to.equal("");
    expect(a).to.deep.equal({ typeUrl: LDS, name: "a", version: "", resource: undefined });
  });

  it("UnwatchedInvalid: an invalid resource nobody watches is ignored with a debug line, and the response ACKed", async () => {
    const bad = anyPack(ClusterSchema, create(ClusterSchema, { name: "bad", clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS } }));
    // As istiod answers a sidecar: the whole set of clusters, whatever names were asked.
    const raw = await h.raw((stream, request) => {
      if (request.typeUrl === CDS && request.responseNonce === "") {
        stream.call.write(create(DiscoveryResponseSchema, { typeUrl: CDS, versionInfo: "1", nonce: "1", resources: [edsCluster("a"), bad] }));
      }
    });
    const xds = h.xds({ servers: [{ uri: raw.address }] });
    const sub = xds.cluster("a").subscribe();
    await next(xds.cluster("a"), (u) => u.resource !== undefined);
    await until(() => raw.requests.some((r) => r.responseNonce === "1"), "the ACK");
    sub.unsubscribe();
    const ack = raw.requests.find((r) => r.responseNonce === "1")!;
    expect(ack.errorDetail).to.equal(undefined);
    expect(ack.versionInfo).to.equal("1");
    expect(h.log.at("debug")).to.deep.equal([
      'ignored 1 invalid Cluster resource(s) nobody watches (version 1): resource "bad": cluster "bad": eds_cluster_config: is required for an EDS cluster',
    ]);
    expect(h.log.at("warn")).to.deep.equal([]);
  });
});
