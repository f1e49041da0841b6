// CSDS (gRFC A40) served by addCsdsService on a grpc-js server, read over loopback with a grpc-js client: what an
// XdsClient holds, per resource, with the fields grpc-go and grpc-js-xds fill.
import { create, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { anyUnpack, timestampDate } from "@bufbuild/protobuf/wkt";
import { Client, credentials, Server, ServerCredentials, status as grpcStatus, type ServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import { ClientResourceStatus } from "../../gen/envoy/admin/v3/config_dump_shared_pb.js";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { ClientStatusRequestSchema, type ClientStatusResponse } from "../../gen/envoy/service/status/v3/csds_pb.js";
import { addCsdsService } from "rxds/grpc";
import { csdsServiceDefinition } from "../../src/integrations/grpc/csds-service.js";
import type { XdsClient } from "rxds";
import { CDS, EDS, Harness, LDS, next, pack, RDS } from "../support/wire.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";

const target = `${kitexHost}:8888`;
const v1 = `outbound|8888|v1|${kitexHost}`;

/** A grpc-js server with CSDS for `clients`, on loopback. */
async function csdsServer(clients: XdsClient | XdsClient[]): Promise<{ server: Server; address: string }> {
  const server = new Server();
  addCsdsService(server, clients);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

function fetchStatus(address: string, request: MessageInitShape<typeof ClientStatusRequestSchema> = {}): Promise<ClientStatusResponse> {
  const client = new Client(address, credentials.createInsecure());
  const method = csdsServiceDefinition.FetchClientStatus;
  return new Promise<ClientStatusResponse>((resolve, reject) => {
    client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, create(ClientStatusRequestSchema, request), (error: ServiceError | null, response?: ClientStatusResponse) => {
      client.close();
      if (error) reject(error);
      else resolve(response!);
    });
  });
}

describe("CSDS (addCsdsService)", () => {
  let h: Harness;
  let csds: { server: Server; address: string } | undefined;
  beforeEach(async () => {
    h = await new Harness().start();
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
  });
  afterEach(async () => {
    csds?.server.forceShutdown();
    csds = undefined;
    await h.stop();
  });

  it("CsdsAcked: the node, and each watched resource ACKED with its version, its bytes and when it was accepted", async () => {
    const xds = h.xds();
    xds.router(target).subscribe();
    await next(xds.router(target), (r) => r.snapshot.clusters.size === 2 && [...r.snapshot.clusters.values()].every((c) => c.endpoints !== undefined));
    csds = await csdsServer(xds);
    const before = Date.now();
    const response = await fetchStatus(csds.address);
    expect(response.config).to.have.length(1);
    const config = response.config[0]!;
    expect(config.node?.id).to.equal("sidecar~127.0.0.1~test.default~default.svc.cluster.local");
    expect(config.node?.userAgentName).to.equal("rxds");
    const byName = new Map(config.genericXdsConfigs.map((c) => [c.name, c]));
    const v2 = `outbound|8888|v2|${kitexHost}`;
    expect(config.genericXdsConfigs.map((c) => `${c.typeUrl} ${c.name}`).sort()).to.deep.equal(
      [`${LDS} ${target}`, `${RDS} outbound|8888||${kitexHost}`, `${CDS} ${v1}`, `${CDS} ${v2}`, `${EDS} ${v1}`, `${EDS} ${v2}`].sort(),
    );
    const listener = byName.get(target)!;
    expect(listener.typeUrl).to.equal(LDS);
    expect(listener.clientStatus).to.equal(ClientResourceStatus.ACKED);
    expect(listener.versionInfo).to.not.equal("");
    expect(listener.errorState).to.equal(undefined);
    expect(listener.xdsConfig?.typeUrl).to.equal(LDS);
    expect(anyUnpack(listener.xdsConfig!, ListenerSchema)?.name).to.equal(target);
    expect(timestampDate(listener.lastUpdated!).getTime()).to.be.within(before - 10_000, before);
  });

  it("CsdsNacked: a rejected update is NACKED with the held version and bytes, and the error state has the reason, the rejected version and when", async () => {
    const xds = h.xds();
    xds.cluster(v1).subscribe();
    const held = (await next(xds.status$, (s) => s.resources.some((r) => r.name === v1 && r.state === "ACKED"))).resources.find((r) => r.name === v1)!;
    h.cp.set(CDS, { [v1]: pack(ClusterSchema, { name: v1, connectTimeout: { seconds: -1n } }) });
    const nacked = (await next(xds.status$, (s) => s.resources.some((r) => r.name === v1 && r.state === "NACKED"))).resources.find((r) => r.name === v1)!;
    csds = await csdsServer(xds);
    const resource = (await fetchStatus(csds.address)).config[0]!.genericXdsConfigs.find((c) => c.name === v1)!;
    expect(resource.clientStatus).to.equal(ClientResourceStatus.NACKED);
    expect(resource.versionInfo).to.equal(held.version);
    expect(fromBinary(ClusterSchema, resource.xdsConfig!.value).name).to.equal(v1);
    expect(resource.errorState?.versionInfo).to.equal(nacked.rejectedVersion);
    expect(resource.errorState?.versionInfo).to.not.equal(held.version);
    expect(resource.errorState?.details).to.match(/connect_timeout/);
    expect(timestampDate(resource.errorState!.lastUpdateAttempt!).getTime()).to.equal(nacked.updatedAt.getTime());
  });

  it("CsdsErrorStates: DOES_NOT_EXIST without bytes; a first version rejected is NACKED with nothing held; REQUESTED with the control plane's error (gRFC A88)", async () => {
    const xds = h.xds({ doesNotExistTimeoutMs: 50 });
    xds.listener("nowhere:1").subscribe();
    h.cp.set(CDS, { bad: pack(ClusterSchema, { name: "bad", connectTimeout: { seconds: -1n } }) });
    xds.cluster("bad").subscribe();
    await next(xds.status$, (s) => s.resources.some((r) => r.name === "nowhere:1" && r.state === "DOES_NOT_EXIST") && s.resources.some((r) => r.name === "bad" && r.state === "NACKED"));
    const down = h.xds({ servers: [{ uri: "127.0.0.1:1" }] });
    down.cluster("c").subscribe();
    await next(down.status$, (s) => s.resources.some((r) => r.error !== undefined));
    csds = await csdsServer([xds, down]);
    const response = await fetchStatus(csds.address);
    expect(response.config).to.have.length(2);
    const [up, unreachable] = response.config.map((c) => new Map(c.genericXdsConfigs.map((g) => [g.name, g])));
    const absent = up!.get("nowhere:1")!;
    expect(absent).to.deep.include({ clientStatus: ClientResourceStatus.DOES_NOT_EXIST, versionInfo: "" });
    expect([absent.xdsConfig, absent.errorState]).to.deep.equal([undefined, undefined]);
    const bad = up!.get("bad")!;
    expect(bad).to.deep.include({ clientStatus: ClientResourceStatus.NACKED, versionInfo: "" });
    expect(bad.xdsConfig).to.equal(undefined);
    expect(bad.errorState?.details).to.match(/^cluster "bad": connect_timeout/);
    const waiting = unreachable!.get("c")!;
    expect(waiting).to.deep.include({ clientStatus: ClientResourceStatus.REQUESTED, versionInfo: "" });
    expect(waiting.xdsConfig).to.equal(undefined);
    expect(waiting.errorState?.details).to.match(/^xDS server 127\.0\.0\.1:1 is unavailable: /);
    expect(waiting.errorState?.versionInfo).to.equal("");
  });

  it("CsdsRequestOptions: exclude_resource_contents leaves the bytes out; node_matchers fail INVALID_ARGUMENT as in grpc-go; a closed client is left out", async () => {
    const xds = h.xds();
    xds.listener(target).subscribe();
    await next(xds.listener(target), (u) => u.resource !== undefined);
    const closed = h.xds();
    await closed.close();
    csds = await csdsServer([xds, closed]);
    const excluded = await fetchStatus(csds.address, { excludeResourceContents: true });
    expect(excluded.config).to.have.length(1);
    expect(excluded.config[0]!.genericXdsConfigs[0]).to.deep.include({ name: target, clientStatus: ClientResourceStatus.ACKED });
    expect(excluded.config[0]!.genericXdsConfigs[0]!.xdsConfig).to.equal(undefined);
    expect((await fetchStatus(csds.address)).config[0]!.genericXdsConfigs[0]!.xdsConfig).to.not.equal(undefined);
    const error = await fetchStatus(csds.address, { nodeMatchers: [{}] }).then(
      () => expect.fail("node_matchers were accepted"),
      (e: ServiceError) => e,
    );
    expect(error.code).to.equal(grpcStatus.INVALID_ARGUMENT);
    expect(error.details).to.equal("CSDS: node_matchers are not supported");
  });

  it("CsdsStream: StreamClientStatus answers each request with the state at that moment", async () => {
    const xds = h.xds();
    xds.listener(target).subscribe();
    csds = await csdsServer(xds);
    const client = new Client(csds.address, credentials.createInsecure());
    const method = csdsServiceDefinition.StreamClientStatus;
    const call = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize);
    const responses: ClientStatusResponse[] = [];
    const nextResponse = () => new Promise<ClientStatusResponse>((resolve) => call.once("data", (r: ClientStatusResponse) => resolve(r)));
    try {
      await next(xds.listener(target), (u) => u.resource !== undefined);
      call.write(create(ClientStatusRequestSchema));
      responses.push(await nextResponse());
      xds.cluster(v1).subscribe();
      await next(xds.status$, (s) => s.resources.some((r) => r.name === v1 && r.state === "ACKED"));
      call.write(create(ClientStatusRequestSchema));
      responses.push(await nextResponse());
    } finally {
      call.end();
      await new Promise((resolve) => call.on("end", resolve).on("error", resolve).resume());
      client.close();
    }
    expect(responses.map((r) => r.config[0]!.genericXdsConfigs.map((c) => c.name))).to.deep.equal([[target], [target, v1]]);
  });

  it("CsdsArguments: a bad server or client throws INVALID_ARGUMENT naming it", () => {
    expect(() => addCsdsService({} as Server, [])).to.throw(/addCsdsService: server: expected a grpc-js Server/);
    expect(() => addCsdsService(new Server(), [{} as XdsClient])).to.throw(/addCsdsService: clients\[0\]: expected an XdsClient/);
  });
});
