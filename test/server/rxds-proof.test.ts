// The same scenario as grpc-js-xds-proof.test.ts, through rxds's own client (XdsClient + rxds/grpc):
// pointed at `serveMesh`, it routes real calls exactly as grpc-js-xds does.
import { credentials, type Client } from "@grpc/grpc-js";
import { expect } from "chai";
import { XdsClient } from "rxds";
import { xdsClientOptions } from "rxds/grpc";
import { serveMesh, type MeshServer } from "rxds/server";
import { GreetServiceClient } from "../../examples/greet-service.js";
import { call, ConfigDir, exampleMesh, GreetBackend, MemoryLog, tally, target } from "../fixtures/serve-mesh.js";

describe("rxds routes by what rxds serve serves, as grpc-js-xds does", function () {
  this.timeout(15000);
  let v1: GreetBackend;
  let v2: GreetBackend;
  let dir: ConfigDir;
  let server: MeshServer;
  let xds: XdsClient;
  let client: Client;
  const log = new MemoryLog();

  before(async () => {
    [v1, v2] = await Promise.all([GreetBackend.start("v1"), GreetBackend.start("v2")]);
    dir = await ConfigDir.create(await exampleMesh({ ports: [v1.port, v2.port], weights: [80, 20] }));
    server = await serveMesh({ config: dir.file, port: 0, log: log.log });
    xds = new XdsClient({
      servers: [{ uri: server.address }],
      node: { id: "sidecar~127.0.0.1~proof.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
    });
    client = new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds));
  });

  after(async () => {
    client?.close();
    await xds?.close();
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
    // v1 ~ Binomial(200, 0.8): P(v1 < 130 or v1 > 190) = 2.5e-7; a 50/50 split would fail.
    const counts = await tally(client, "SayHello1", 200);
    expect((counts.get("v1") ?? 0) + (counts.get("v2") ?? 0)).to.equal(200);
    expect(counts.get("v1") ?? 0).to.be.within(130, 190);
  });

  it("HotReload: after the file changes to 100/0, SayHello1 goes only to v1", async () => {
    const lines = log.lines.length;
    await dir.write(await exampleMesh({ ports: [v1.port, v2.port], weights: [100, 0] }));
    await log.line("reloaded ", lines);
    const deadline = Date.now() + 3000;
    for (let streak = 0; streak < 20; ) {
      if (Date.now() > deadline) expect.fail("rxds did not follow the reload within 3 s");
      streak = (await call(client, "SayHello1")) === "v1" ? streak + 1 : 0;
    }
    expect(await tally(client, "SayHello1", 100)).to.deep.equal(new Map([["v1", 100]]));
    expect(await tally(client, "SayHello", 10)).to.deep.equal(new Map([["v2", 10]]));
  });

  it("RefusedReload: a raw route configuration clients would NACK is refused at reload with the client's reason, and traffic keeps the last good routes", async () => {
    const lines = log.lines.length;
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
    const refused = await log.line("error: reload failed", lines);
    expect(refused).to.include("document 4 (RouteConfiguration outbound|8888||kitex-server.default.svc.cluster.local): clients would NACK the RDS");
    expect(refused).to.match(/virtual_hosts\[0\]\.domains\[0\]: "\*\*" is not a domain/);
    expect(log.lines.slice(lines).some((l) => l.includes(" NACK RDS "))).to.equal(false);
    expect(await tally(client, "SayHello1", 20)).to.deep.equal(new Map([["v1", 20]]));
    expect(await tally(client, "SayHello", 5)).to.deep.equal(new Map([["v2", 5]]));
  });

});
