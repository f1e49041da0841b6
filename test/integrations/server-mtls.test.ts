// The server half of mesh mTLS (gRFC A29): a grpc-js server takes its transport security from the inbound listener
// that `rxds serve` writes for it from a PeerAuthentication, with the bootstrap's certificate provider, over loopback.
// STRICT refuses plaintext clients and clients of another CA, and serves an rxds client and a @grpc/grpc-js-xds
// client whose cluster has ISTIO_MUTUAL (one `rxds serve` config for all); the server's rotated certificate is used
// for new connections; DISABLE serves plaintext; a change of mode while the server runs is logged, not applied.
import { create } from "@bufbuild/protobuf";
import { Client, credentials, Metadata, Server, ServerCredentials, type ServerUnaryCall, type ServiceError, type sendUnaryData } from "@grpc/grpc-js";
import { register, XdsChannelCredentials } from "@grpc/grpc-js-xds";
import { expect } from "chai";
import { X509Certificate } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { connect } from "node:tls";
import { setTimeout as sleep } from "node:timers/promises";
import { XdsClient, XdsError } from "rxds";
import { createXdsServerCredentials, xdsClientOptions, type XdsServerCredentials } from "rxds/grpc";
import { serveMesh, type MeshServer } from "rxds/server";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { DownstreamTlsContextSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { HelloRequestSchema, HelloResponseSchema, type HelloRequest, type HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { ConfigDir, MemoryLog } from "../fixtures/serve-mesh.js";
import { GreetServiceClient, greetServiceDefinition } from "../support/greet-backend.js";
import { CertificateDir, MeshCa, spiffe, type KeyPair } from "../support/mesh-certificates.js";
import { strictMesh } from "../support/mesh.js";
import { Harness, LDS, LogRecorder, next, pack } from "../support/wire.js";

const target = "greeter.default.svc.cluster.local:8080";
const clientNode = { id: "sidecar~10.0.0.9~client.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc", NAMESPACE: "default" } };
const serverNode = { id: "sidecar~127.0.0.1~greeter.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc", NAMESPACE: "default" } };

function peerAuthentication(mode: string): string {
  return `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: ${mode}}}
`;
}

/** A port free on 127.0.0.1 now (the config must name the server's port before the server binds it). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function sayHello(client: Client): Promise<HelloResponse> {
  return new Promise((resolve, reject) =>
    (client as InstanceType<typeof GreetServiceClient>).SayHello(create(HelloRequestSchema, { message: "hi" }), new Metadata(), (error: ServiceError | null, response?: HelloResponse) =>
      error ? reject(error) : resolve(response!),
    ),
  );
}

function failure(client: Client): Promise<ServiceError> {
  return sayHello(client).then(
    () => expect.fail("the call succeeded"),
    (error: ServiceError) => error,
  );
}

describe("rxds/grpc server mTLS from the inbound listener (PeerAuthentication through rxds serve)", function () {
  this.timeout(20000);
  let ca: MeshCa;
  let serverIdentity: KeyPair;
  let serverFiles: CertificateDir;
  let clientFiles: CertificateDir;
  let port: number;
  let dir: ConfigDir;
  let mesh: MeshServer;
  let meshLog: MemoryLog;
  let serverXds: XdsClient;
  let secured: XdsServerCredentials;
  let server: Server;
  /** The SANs of each caller's certificate, as the server saw them ("" for none). */
  let peers: string[];
  const log = new LogRecorder();
  const xdsClients: XdsClient[] = [];
  const clients: Client[] = [];

  before(async () => {
    register();
    ca = await MeshCa.create();
    serverIdentity = await ca.issue({ sans: [spiffe("default", "greeter")] });
    serverFiles = await CertificateDir.create();
    await serverFiles.writeMesh(ca, serverIdentity);
    clientFiles = await CertificateDir.create();
    await clientFiles.writeMesh(ca, await ca.issue({ sans: [spiffe("default", "client")] }));
  });

  after(async () => {
    await serverFiles?.remove();
    await clientFiles?.remove();
  });

  /** rxds serve with greeter (ISTIO_MUTUAL) and a PeerAuthentication in `mode`, and the server, bound with the credentials. */
  async function start(mode: string): Promise<void> {
    port = await freePort();
    dir = await ConfigDir.create(strictMesh(port, "greeter") + peerAuthentication(mode));
    meshLog = new MemoryLog();
    mesh = await serveMesh({ config: dir.file, port: 0, log: meshLog.log });
    serverXds = xdsClient(serverNode, serverFiles);
    secured = await createXdsServerCredentials(serverXds, { port, host: "127.0.0.1", fallback: ServerCredentials.createInsecure(), logger: log });
    peers = [];
    server = new Server();
    const answer = (call: ServerUnaryCall<HelloRequest, HelloResponse>, callback: sendUnaryData<HelloResponse>) => {
      peers.push(call.getAuthContext().sslPeerCertificate?.subjectaltname ?? "");
      callback(null, create(HelloResponseSchema, { message: "greeter" }));
    };
    server.addService(greetServiceDefinition, { SayHello: answer, SayHello1: answer, SayHelloStream: () => undefined, Chat: () => undefined });
    await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, secured.credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
  }

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    secured?.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await Promise.all(xdsClients.splice(0).map((xds) => xds.close()));
    // Let grpc-js-xds end its ADS stream (its last watch goes with the channel) before the control plane goes.
    await sleep(100);
    await mesh?.close();
    await dir?.remove();
  });

  function xdsClient(node: typeof clientNode, files: CertificateDir): XdsClient {
    const xds = new XdsClient({
      servers: [{ uri: mesh.address }],
      node,
      logger: log,
      certificateProviders: {
        default: { certificateFile: files.file("cert-chain.pem"), privateKeyFile: files.file("key.pem"), caCertificateFile: files.file("root-cert.pem"), refreshIntervalMs: 50 },
      },
    });
    xdsClients.push(xds);
    return xds;
  }

  function track<T extends Client>(client: T): T {
    clients.push(client);
    return client;
  }

  /** A grpc-js client of the server's address, with TLS from `identity` (trusting the mesh CA), or plaintext. */
  function directClient(identity?: KeyPair): Client {
    const secure =
      identity === undefined
        ? credentials.createInsecure()
        : credentials.createSsl(Buffer.from(ca.certificate), Buffer.from(identity.privateKey), Buffer.from(identity.certificate), { checkServerIdentity: () => undefined });
    // An SNI name, as grpc-js would otherwise send the IP (which TLS does not allow).
    return track(new GreetServiceClient(`127.0.0.1:${port}`, secure, { "grpc.ssl_target_name_override": "greeter.default.svc.cluster.local" }));
  }

  /** The fingerprint of the certificate the server presents to a new TLS connection. */
  async function servedFingerprint(): Promise<string> {
    const socket = connect({ host: "127.0.0.1", port, ca: ca.certificate, cert: serverIdentity.certificate, key: serverIdentity.privateKey, ALPNProtocols: ["h2"], checkServerIdentity: () => undefined });
    try {
      await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
      return socket.getPeerCertificate().fingerprint256;
    } finally {
      socket.destroy();
    }
  }

  it("Strict: the server serves mutual TLS with the provider's certificate, and refuses plaintext clients and clients of another CA", async () => {
    await start("STRICT");
    expect(secured.transport.kind).to.equal("tls");
    expect(secured.transport.kind === "tls" && secured.transport.tls.requireClientCertificate).to.equal(true);
    const plaintext = await failure(directClient());
    expect(plaintext.code).to.equal(14);
    const stranger = await failure(directClient(await (await MeshCa.create("another CA")).issue({ sans: [spiffe("default", "client")] })));
    expect(stranger.code).to.equal(14);
    expect(peers).to.deep.equal([]);
    expect(await servedFingerprint()).to.equal(new X509Certificate(serverIdentity.certificate).fingerprint256);
  });

  it("StrictMeshClients: an rxds client and a @grpc/grpc-js-xds client of the ISTIO_MUTUAL cluster both reach the STRICT server with their mesh identity", async () => {
    await start("STRICT");
    const ours = track(new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xdsClient(clientNode, clientFiles))));
    expect((await sayHello(ours)).message).to.equal("greeter");
    const bootstrap = {
      xds_servers: [{ server_uri: mesh.address, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
      node: { ...clientNode, locality: {} },
      certificate_providers: {
        default: {
          plugin_name: "file_watcher",
          config: { certificate_file: clientFiles.file("cert-chain.pem"), private_key_file: clientFiles.file("key.pem"), ca_certificate_file: clientFiles.file("root-cert.pem"), refresh_interval: "1s" },
        },
      },
    };
    const peer = track(
      new GreetServiceClient(`xds:///${target}`, new XdsChannelCredentials(credentials.createInsecure()), { "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config": JSON.stringify(bootstrap) }),
    );
    expect((await sayHello(peer)).message).to.equal("greeter");
    expect(peers).to.deep.equal(["URI:spiffe://cluster.local/ns/default/sa/client", "URI:spiffe://cluster.local/ns/default/sa/client"]);
  });

  it("Rotation: once the provider's files change, new connections get the new server certificate and calls go on", async () => {
    await start("STRICT");
    const rotated = await ca.issue({ sans: [spiffe("default", "greeter")] });
    const fingerprint = new X509Certificate(rotated.certificate).fingerprint256;
    expect(await servedFingerprint()).to.not.equal(fingerprint);
    await serverFiles.writeMesh(ca, rotated);
    // The provider re-reads its files every refresh interval (50 ms): wait for a connection that shows the new ones.
    let seen = "";
    for (let i = 0; i < 100 && seen !== fingerprint; i++) {
      seen = await servedFingerprint();
      if (seen !== fingerprint) await sleep(20);
    }
    expect(seen).to.equal(fingerprint);
    const ours = track(new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xdsClient(clientNode, clientFiles))));
    expect((await sayHello(ours)).message).to.equal("greeter");
    await serverFiles.writeMesh(ca, serverIdentity);
  });

  it("Disable: the server serves its fallback (plaintext) credentials, and a plaintext client reaches it", async () => {
    await start("DISABLE");
    expect(secured.transport.kind).to.equal("fallback");
    expect((await sayHello(directClient())).message).to.equal("greeter");
    expect(peers).to.deep.equal([""]);
  });

  it("ModeChange: a PeerAuthentication edited while the server runs changes only the inbound listeners; the server logs it at warn and keeps its transport", async () => {
    await start("STRICT");
    const warned = log.at("warn").length;
    const lines = meshLog.lines.length;
    await dir.write(strictMesh(port, "greeter") + peerAuthentication("DISABLE"));
    // The server's view: its port's A36 listeners, for 0.0.0.0, [::] and 127.0.0.1 under both name templates, and nothing else.
    const reloaded = await meshLog.line("reloaded", lines);
    const changed = reloaded.slice(reloaded.indexOf("changed: ") + "changed: ".length).split(", ");
    expect(reloaded).to.contain(": 6 changed: ");
    for (const each of changed) expect(each).to.match(/^LDS (grpc\/server\?xds\.resource\.listening_address=|xds\.istio\.io\/grpc\/lds\/inbound\/)/);
    for (let i = 0; i < 250 && log.at("warn").length === warned; i++) await sleep(20);
    expect(log.at("warn").slice(warned)).to.deep.equal([
      `inbound listener "grpc/server?xds.resource.listening_address=127.0.0.1:${port}" for port ${port} now asks for plaintext (the fallback credentials); the server keeps serving mutual TLS until it binds again`,
    ]);
    expect((await failure(directClient())).code).to.equal(14);
  });
});

describe("rxds/grpc server credentials refuse a DownstreamTlsContext they cannot serve", () => {
  it("SdsLater: a listener update that asks for SDS is logged at warn, and the server keeps its transport", async () => {
    const harness = await new Harness().start();
    try {
      const name = "grpc/server?xds.resource.listening_address=0.0.0.0:9444";
      const hcm = pack(HttpConnectionManagerSchema, { routeSpecifier: { case: "routeConfig", value: { name: "inbound" } }, httpFilters: [{ name: "router", configType: { case: "typedConfig", value: pack(RouterSchema, {}) } }] });
      const listener = (transportSocket?: { name: string; configType: { case: "typedConfig"; value: ReturnType<typeof pack> } }) =>
        pack(ListenerSchema, { name, filterChains: [{ name: "sds", filters: [{ name: "hcm", configType: { case: "typedConfig", value: hcm } }], ...(transportSocket === undefined ? {} : { transportSocket }) }] });
      harness.cp.set(LDS, { [name]: listener() });
      const logger = new LogRecorder();
      const served = await createXdsServerCredentials(harness.xds(), { port: 9444, fallback: ServerCredentials.createInsecure(), logger });
      expect(served.transport.kind).to.equal("fallback");
      const context = pack(DownstreamTlsContextSchema, { commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: "default" }] }, requireClientCertificate: false });
      harness.cp.set(LDS, { [name]: listener({ name: "envoy.transport_sockets.tls", configType: { case: "typedConfig", value: context } }) });
      await next(served.inbound$, (snapshot) => snapshot.chains.some((chain) => chain.tls !== undefined)); // after the server's own look at it
      expect(logger.at("warn")).to.deep.equal([
        `inbound listener "${name}" for port 9444 now asks for TLS it cannot serve (inbound listener "${name}", filter chain "sds": filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs: SDS is not supported; use tls_certificate_provider_instance); the server keeps serving plaintext (the fallback credentials) until it binds again`,
      ]);
      served.close();
    } finally {
      await harness.stop();
    }
  });

  it("Sds: a listener whose chain takes its certificate over SDS rejects with INVALID_CONFIG naming the field", async () => {
    const harness = await new Harness().start();
    try {
      const context = pack(DownstreamTlsContextSchema, { commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: "default" }] }, requireClientCertificate: false });
      harness.cp.set(LDS, {
        "grpc/server?xds.resource.listening_address=0.0.0.0:9443": pack(ListenerSchema, {
          name: "grpc/server?xds.resource.listening_address=0.0.0.0:9443",
          filterChains: [{ name: "sds", filters: [{ name: "hcm", configType: { case: "typedConfig", value: pack(HttpConnectionManagerSchema, { routeSpecifier: { case: "routeConfig", value: { name: "inbound" } }, httpFilters: [{ name: "router", configType: { case: "typedConfig", value: pack(RouterSchema, {}) } }] }) } }], transportSocket: { name: "envoy.transport_sockets.tls", configType: { case: "typedConfig", value: context } } }],
        }),
      });
      const xds = harness.xds({ certificateProviders: { default: { certificateFile: "/nonexistent/cert.pem", privateKeyFile: "/nonexistent/key.pem" } } });
      const error = await createXdsServerCredentials(xds, { port: 9443, fallback: ServerCredentials.createInsecure(), logger: new LogRecorder() }).then(
        () => expect.fail("credentials were made"),
        (reason: unknown) => reason,
      );
      expect(error).to.be.instanceOf(XdsError);
      expect((error as XdsError).code).to.equal("INVALID_CONFIG");
      expect((error as XdsError).message).to.equal(
        'inbound listener "grpc/server?xds.resource.listening_address=0.0.0.0:9443", filter chain "sds": filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs: SDS is not supported; use tls_certificate_provider_instance',
      );
    } finally {
      await harness.stop();
    }
  });
});
