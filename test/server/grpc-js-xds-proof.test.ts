// The independent proof: grpc-js with @grpc/grpc-js-xds — an xDS client rxds did not write — points at
// `serveMesh` on loopback, calls real GreetService backends, and its traffic follows the served mesh
// (examples/mesh.yaml): header route, method route, weighted split, and a hot-reloaded change.
import { Client, credentials } from "@grpc/grpc-js";
import { register } from "@grpc/grpc-js-xds";
import { expect } from "chai";
import { serveMesh, type MeshServer } from "rxds/server";
import { call, ConfigDir, exampleMesh, GreetBackend, MemoryLog, tally, target } from "../fixtures/serve-mesh.js";

describe("grpc-js-xds routes by what rxds serve serves", function () {
  this.timeout(15000);
  let v1: GreetBackend;
  let v2: GreetBackend;
  let dir: ConfigDir;
  let server: MeshServer;
  let client: Client;
  const log = new MemoryLog();

  before(async () => {
    [v1, v2] = await Promise.all([GreetBackend.start("v1"), GreetBackend.start("v2")]);
    dir = await ConfigDir.create(await exampleMesh({ ports: [v1.port, v2.port], weights: [80, 20] }));
    server = await serveMesh({ config: dir.file, port: 0, log: log.log });
    // grpc-js-xds reads its bootstrap once per process, when the first xds: channel is created.
    process.env["GRPC_XDS_BOOTSTRAP_CONFIG"] = JSON.stringify({
      xds_servers: [{ server_uri: server.address, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
      node: { id: "sidecar~127.0.0.1~proof.default~default.svc.cluster.local", locality: {}, metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
    });
    register();
    client = new Client(`xds:///${target}`, credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    delete process.env["GRPC_XDS_BOOTSTRAP_CONFIG"];
    // Let grpc-js-xds end its ADS stream (its last watch goes with the channel) before the server goes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await server?.close();
    v1?.stop();
    v2?.stop();
    await dir?.remove();
  });

  it("HeaderRoute: stage=canary goes to v1, for either method", async () => {
    expect(await tally(client, "SayHello", 20, { stage: "canary" })).to.deep.equal(new Map([["v1", 20]]));
    expect(await tally(client, "SayHello1", 20, { stage: "canary" })).to.deep.equal(new Map([["v1", 20]]));
  });

  it("MethodRoute: SayHello without the header goes to v2", async () => {
    expect(await tally(client, "SayHello", 20)).to.deep.equal(new Map([["v2", 20]]));
  });

  it("WeightedSplit: SayHello1 without the header is split 80/20 between v1 and v2", async () => {
    // v1 ~ Binomial(200, 0.8): mean 160, sd 5.66. P(v1 < 130 or v1 > 190) = 2.5e-7 (exact sum); a 50/50 split (mean 100) is far outside.
    const counts = await tally(client, "SayHello1", 200);
    const n1 = counts.get("v1") ?? 0;
    expect(n1 + (counts.get("v2") ?? 0)).to.equal(200);
    expect(n1).to.be.within(130, 190);
  });

  it("HotReload: after the file changes to 100/0, SayHello1 goes only to v1", async () => {
    const lines = log.lines.length;
    await dir.write(await exampleMesh({ ports: [v1.port, v2.port], weights: [100, 0] }));
    await log.line("reloaded ", lines);
    // The change reaches the client within a moment: wait for 20 v1 answers in a row, then all must be v1.
    const deadline = Date.now() + 3000;
    for (let streak = 0; streak < 20; ) {
      if (Date.now() > deadline) expect.fail("grpc-js-xds did not follow the reload within 3 s");
      streak = (await call(client, "SayHello1")) === "v1" ? streak + 1 : 0;
    }
    expect(await tally(client, "SayHello1", 100)).to.deep.equal(new Map([["v1", 100]]));
    // The other routes are unchanged.
    expect(await tally(client, "SayHello", 10)).to.deep.equal(new Map([["v2", 10]]));
  });

  it("RefusedReload: a raw route configuration grpc-js-xds would NACK is refused at reload, and traffic keeps the last good routes", async () => {
    const lines = log.lines.length;
    // A raw RouteConfiguration replacing the generated one, with a domain grpc-js-xds refuses ("**"); rxds serve refuses it first.
    await dir.write(`${await exampleMesh({ ports: [v1.port, v2.port], weights: [100, 0] })}---
"@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
name: "outbound|8888||kitex-server.default.svc.cluster.local"
virtual_hosts:
- name: broken
  domains: ["**"]
  routes:
  - match: {prefix: ""}
    route: {cluster: "outbound|8888|v2|kitex-server.default.svc.cluster.local"}
`);
    expect(await log.line("error: reload failed", lines)).to.include("clients would NACK the RDS outbound|8888||kitex-server.default.svc.cluster.local");
    expect(await tally(client, "SayHello1", 20)).to.deep.equal(new Map([["v1", 20]]));
    expect(await tally(client, "SayHello", 5)).to.deep.equal(new Map([["v2", 5]]));
    expect(log.lines.slice(lines).filter((l) => l.includes("NACK RDS"))).to.have.length(0);
  });

});
