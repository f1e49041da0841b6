// A DestinationRule's trafficPolicy, served by `rxds serve` and applied by an rxds client to real calls over
// loopback: Istio's consistentHash keys (httpHeaderName through ringHash, useSourceIp, maglev), outlierDetection,
// connectionPool.http.http2MaxRequests, and localityLbSetting for the client's own locality.
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import { XdsClient, type XdsNodeOptions } from "rxds";
import { xdsClientOptions } from "rxds/grpc";
import { serveMesh, type MeshServer } from "rxds/server";
import { call, ConfigDir, greetMethods, MemoryLog } from "../fixtures/serve-mesh.js";
import { eventually } from "../integrations/eventually.js";
import { echoHost, echoMesh } from "../support/echo-mesh.js";
import { GrpcGreetBackend, hello } from "../support/greet-backend.js";
import { LogRecorder } from "../support/wire.js";

const target = `${echoHost}:8080`;

describe("rxds serve's trafficPolicy, applied by rxds clients to real calls", function () {
  this.timeout(20000);
  let backends: GrpcGreetBackend[];
  let dir: ConfigDir | undefined;
  let server: MeshServer | undefined;
  let xds: XdsClient | undefined;
  let clients: Client[];

  beforeEach(async () => {
    backends = await Promise.all(["b0", "b1", "b2"].map((name) => GrpcGreetBackend.start(name)));
    clients = [];
  });

  afterEach(async () => {
    for (const client of clients) client.close();
    await xds?.close();
    await server?.close();
    await dir?.remove();
    await Promise.all(backends.map((b) => b.stop()));
    [xds, server, dir] = [undefined, undefined, undefined];
  });

  /** Serves the echo service on the three backends (b0 in us-east/a/x, the others in eu-west/c/z) with `trafficPolicy`. */
  async function serve(trafficPolicy: string, node: Partial<XdsNodeOptions> = {}): Promise<Client> {
    dir = await ConfigDir.create(echoMesh(backends.map((b) => b.port), trafficPolicy, ["us-east/a/x", "eu-west/c/z", "eu-west/c/z"]));
    server = await serveMesh({ config: dir.file, port: 0, log: new MemoryLog().log });
    xds = new XdsClient({
      servers: [{ uri: server.address }],
      node: { id: "sidecar~10.1.2.3~client.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc", NAMESPACE: "default", INSTANCE_IPS: "10.1.2.3" }, ...node },
      logger: new LogRecorder(),
    });
    const client = new Client(target, credentials.createInsecure(), xdsClientOptions(xds));
    clients.push(client);
    return client;
  }

  async function tally(client: Client, n: number, headers: Record<string, string> = {}): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const name = await call(client, "SayHello", headers);
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return counts;
  }

  for (const [label, consistentHash] of [
    ["httpHeaderName through ringHash.minimumRingSize", "{httpHeaderName: x-user, ringHash: {minimumRingSize: 2048}}"],
    ["httpHeaderName through maglev", "{httpHeaderName: x-user, maglev: {tableSize: 65537}}"],
  ] as const) {
    it(`consistentHash ${label}: each user's calls stay on one backend, and users spread`, async () => {
      const client = await serve(`{loadBalancer: {consistentHash: ${consistentHash}}}`);
      const homes = new Set<string>();
      for (let user = 0; user < 20; user++) {
        const counts = await tally(client, 3, { "x-user": `u${user}` });
        expect(counts.size).to.equal(1);
        homes.add([...counts.keys()][0]!);
      }
      expect(homes.size).to.be.above(1);
    });
  }

  it("consistentHash useSourceIp: every call of this client (its INSTANCE_IPS) goes to one backend", async () => {
    const client = await serve("{loadBalancer: {consistentHash: {useSourceIp: true}}}");
    expect((await tally(client, 30)).size).to.equal(1);
  });

  it("outlierDetection consecutive5xxErrors: a backend failing every call is ejected after that many, and gets no more", async () => {
    const client = await serve("{outlierDetection: {consecutive5xxErrors: 3, interval: 0.1s, baseEjectionTime: 10s, maxEjectionPercent: 50}}");
    const bad = backends[2]!;
    bad.failEvery = 1;
    for (let i = 0; i < 30; i++) await call(client, "SayHello").catch(() => undefined);
    expect(bad.calls.length).to.equal(3);
  });

  it("connectionPool.http.http2MaxRequests: the call over the limit fails at once with UNAVAILABLE [CIRCUIT_BREAKER_OPEN]", async () => {
    const client = await serve("{connectionPool: {http: {http2MaxRequests: 1}}}");
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    for (const b of backends) b.gate = gate;
    const held = call(client, "SayHello");
    await eventually(() => backends.some((b) => b.inFlight === 1), "the first call held by a backend");
    const error = await new Promise<ServiceError>((resolve) =>
      client.makeUnaryRequest(greetMethods.SayHello.path, greetMethods.SayHello.requestSerialize, greetMethods.SayHello.responseDeserialize, hello(), new Metadata(), (e) => resolve(e!)),
    );
    expect(error.details).to.match(/cluster "outbound\|8080\|\|echo\.default\.svc\.cluster\.local" has 1 calls in flight, the most its circuit breaker allows \(max_requests\).*\[CIRCUIT_BREAKER_OPEN\]$/);
    open();
    await held;
  });

  it("localityLbSetting distribute: a client in us-east sends what the rule says to each locality", async () => {
    const client = await serve(`{loadBalancer: {localityLbSetting: {distribute: [{from: "us-east/*", to: {"eu-west/*": 100}}]}}}`, { locality: { region: "us-east", zone: "a", subZone: "x" } });
    const counts = await tally(client, 40);
    expect(counts.has("b0")).to.equal(false);
    expect([...counts.keys()].sort()).to.deep.equal(["b1", "b2"]);
  });

  it("localityLbSetting failover: a client in us-east/a/x stays in its locality, and fails over to eu-west when its backend is ejected", async () => {
    const client = await serve("{outlierDetection: {consecutive5xxErrors: 1, interval: 0.1s, baseEjectionTime: 10s, maxEjectionPercent: 100}, loadBalancer: {localityLbSetting: {enabled: true}}}", {
      locality: { region: "us-east", zone: "a", subZone: "x" },
    });
    expect(await tally(client, 20)).to.deep.equal(new Map([["b0", 20]]));
    backends[0]!.failEvery = 1;
    await call(client, "SayHello").catch(() => undefined);
    const after = await tally(client, 20);
    expect(after.has("b0")).to.equal(false);
  });
});
