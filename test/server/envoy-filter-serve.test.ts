// Through rxds serve, over loopback, to rxds clients: the inbound listener a server in the mesh finds (by the names
// issue 14's server half looks for) with kitex's EnvoyFilter local rate limit in it, following edits live; and the
// gRFC A36 listener a GENERATOR=grpc server gets, which no EnvoyFilter patches; a patch clients would NACK refused.
import { fromBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { XdsClient, type ResourceUpdate } from "rxds";
import { serveMesh, type MeshServer } from "rxds/server";
import { LocalRateLimitSchema } from "../../gen/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import type { ListenerModel } from "../../src/resources/listener.js";
import { ConfigDir, exampleMesh, MemoryLog } from "../fixtures/serve-mesh.js";
import { rateLimitFilter, thriftProxyFilter } from "../support/envoy-filters.js";
import { next } from "../support/wire.js";

const present = (u: ResourceUpdate<ListenerModel>) => u.resource !== undefined;

/** The max_tokens of the local rate limit in the connection manager of `listener`'s chain for `port`; undefined without one. */
function maxTokens(listener: ListenerModel, port: number): number | undefined {
  const manager = listener.httpConnectionManagers.find((each) => each.destinationPort === port) ?? listener.httpConnectionManagers.find((each) => each.destinationPort === undefined);
  const limit = manager?.httpFilters.find((filter) => filter.typeName === LocalRateLimitSchema.typeName);
  return limit?.config === undefined ? undefined : fromBinary(LocalRateLimitSchema, limit.config.value).tokenBucket?.maxTokens;
}

describe("rxds serve: EnvoyFilter patches, served over ADS", function () {
  this.timeout(15000);
  let dir: ConfigDir;
  let server: MeshServer;
  const clients: XdsClient[] = [];
  const log = new MemoryLog();
  const ports: [number, number] = [18001, 18002];

  function node(generator: "grpc" | "sidecar"): XdsClient {
    const metadata = generator === "grpc" ? { GENERATOR: "grpc" } : {};
    const xds = new XdsClient({ servers: [{ uri: server.address }], node: { id: "sidecar~127.0.0.1~kitex-server-v1.default~default.svc.cluster.local", metadata } });
    clients.push(xds);
    return xds;
  }

  beforeEach(async () => {
    dir = await ConfigDir.create(`${await exampleMesh({ ports })}---\n${rateLimitFilter({ version: "v1" }, 4)}`);
    server = await serveMesh({ config: dir.file, port: 0, log: log.log });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server?.close();
    await dir?.remove();
  });

  it("SidecarServer: virtualInbound's chain for the server's port holds kitex's local rate limit, and an edit of the bucket reaches it", async () => {
    const xds = node("sidecar");
    const inbound = await next(xds.listener("virtualInbound"), present);
    // PERMISSIVE: an mTLS chain and a plaintext chain per port.
    expect(inbound.resource!.httpConnectionManagers.map((each) => each.destinationPort)).to.deep.equal(ports.flatMap((port) => [port, port]));
    expect(maxTokens(inbound.resource!, ports[0])).to.equal(4);
    // The outbound listener of the service's port is not patched.
    const outbound = await next(xds.listener("0.0.0.0_8888"), present);
    expect(outbound.resource!.httpConnectionManagers[0]?.httpFilters.map((each) => each.name)).to.deep.equal(["envoy.filters.http.fault", "envoy.filters.http.router"]);
    const lines = log.lines.length;
    await dir.write(`${await exampleMesh({ ports })}---\n${rateLimitFilter({ version: "v1" }, 9)}`);
    const edited = await next(xds.listener("virtualInbound"), (u) => u.resource !== undefined && maxTokens(u.resource, ports[0]) === 9);
    expect(edited.version).to.not.equal(inbound.version);
    expect(await log.line("reloaded ", lines)).to.match(/: 1 changed: LDS virtualInbound \(sidecar\/default~127\.0\.0\.1\)$/);
  });

  it("GrpcServer: a GENERATOR=grpc server gets its gRFC A36 listener, which no EnvoyFilter patches, and the log says so", async () => {
    const xds = node("grpc");
    const listener = await next(xds.listener(`grpc/server?xds.resource.listening_address=0.0.0.0:${ports[0]}`), present);
    expect(listener.resource!.httpConnectionManagers[0]?.httpFilters.map((each) => each.name)).to.deep.equal(["envoy.filters.http.router"]);
    expect(maxTokens(listener.resource!, ports[0])).to.equal(undefined);
    expect(await log.line("(EnvoyFilter filter-local-ratelimit-svc)")).to.include(
      "applied to sidecar-mode clients only: GENERATOR=grpc clients get no EnvoyFilter patch, as istiod's gRPC generator ignores EnvoyFilter",
    );
  });

  it("RefusedPatch: a reload whose EnvoyFilter gives a listener clients would NACK is refused naming the EnvoyFilter; the last good listener keeps serving", async () => {
    const xds = node("sidecar");
    const before = await next(xds.listener("0.0.0.0_8888"), present);
    const broken = thriftProxyFilter("0.0.0.0_8888", "\n                - {match: {method_name: SayHello}, route: {weighted_clusters: {clusters: [{name: c, weight: 0}]}}}").replace(
      "name: envoy.filters.network.tcp_proxy",
      "name: envoy.filters.network.http_connection_manager",
    );
    const lines = log.lines.length;
    await dir.write(`${await exampleMesh({ ports })}---\n${broken}`);
    expect(await log.line("error: reload failed", lines)).to.match(
      /still serving the last good config: .*mesh\.yaml: document 4 \(EnvoyFilter thrift-proxy\): clients would NACK the LDS 0\.0\.0\.0_8888 served to sidecar\/default~127\.0\.0\.1 clients: .*weight.*must be at least 1/,
    );
    const late = node("sidecar");
    expect((await next(late.listener("0.0.0.0_8888"), present)).version).to.equal(before.version);
  });
});
