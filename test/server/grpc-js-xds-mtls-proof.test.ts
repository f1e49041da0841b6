// The cross-check of mesh mTLS (gRFC A29): grpc-js with @grpc/grpc-js-xds's XdsChannelCredentials — an
// implementation rxds did not write — and a grpc-js client routed by rxds, side by side against one `rxds serve`
// (a DestinationRule with tls.mode ISTIO_MUTUAL) and one STRICT backend that takes mutual TLS only. Both take the
// mesh certificates from a file_watcher certificate provider named "default", as Istio's agent writes it; both
// present their SPIFFE identity and check the backend's; both refuse a backend with another identity.
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { register, XdsChannelCredentials } from "@grpc/grpc-js-xds";
import { create } from "@bufbuild/protobuf";
import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import { XdsClient } from "rxds";
import { xdsClientOptions } from "rxds/grpc";
import { serveMesh, type MeshServer } from "rxds/server";
import { HelloRequestSchema, type HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { ConfigDir, MemoryLog } from "../fixtures/serve-mesh.js";
import { GreetServiceClient, GrpcGreetBackend } from "../support/greet-backend.js";
import { CertificateDir, MeshCa, spiffe, type KeyPair } from "../support/mesh-certificates.js";
import { strictMesh } from "../support/mesh.js";
import { LogRecorder } from "../support/wire.js";

const target = "greeter.default.svc.cluster.local:8080";
const node = { id: "sidecar~127.0.0.1~client.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc", NAMESPACE: "default" } };

function sayHello(greet: Client): Promise<HelloResponse> {
  return new Promise((resolve, reject) =>
    (greet as InstanceType<typeof GreetServiceClient>).SayHello(create(HelloRequestSchema, { message: "hi" }), new Metadata(), (error: ServiceError | null, response?: HelloResponse) =>
      error ? reject(error) : resolve(response!),
    ),
  );
}

describe("grpc-js-xds and rxds reach a STRICT backend alike, from one rxds serve", function () {
  this.timeout(20000);
  let ca: MeshCa;
  let clientIdentity: KeyPair;
  let certificates: CertificateDir;
  let backend: GrpcGreetBackend;
  let dir: ConfigDir;
  let server: MeshServer;
  let xds: XdsClient | undefined;
  const clients: Client[] = [];

  before(async () => {
    register();
    ca = await MeshCa.create();
    clientIdentity = await ca.issue({ sans: [spiffe("default", "client")] });
    certificates = await CertificateDir.create();
    await certificates.writeMesh(ca, clientIdentity);
    backend = await GrpcGreetBackend.start("greeter", { ...(await ca.issue({ sans: [spiffe("default", "greeter")] })), clientCa: ca.certificate });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await xds?.close();
    xds = undefined;
    // Let grpc-js-xds end its ADS stream (its last watch goes with the channel) before the server goes.
    await sleep(100);
    await server?.close();
    await dir?.remove();
  });

  after(async () => {
    await backend?.stop();
    await certificates?.remove();
  });

  async function serve(serviceAccount: string): Promise<void> {
    dir = await ConfigDir.create(strictMesh(backend.port, serviceAccount));
    server = await serveMesh({ config: dir.file, port: 0, log: new MemoryLog().log });
  }

  /** A grpc-js-xds client with its own bootstrap: the server, the node, and the mesh's file_watcher provider "default". */
  function peerClient(): Client {
    const bootstrap = {
      xds_servers: [{ server_uri: server.address, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
      node: { ...node, locality: {} },
      certificate_providers: {
        default: {
          plugin_name: "file_watcher",
          config: {
            certificate_file: certificates.file("cert-chain.pem"),
            private_key_file: certificates.file("key.pem"),
            ca_certificate_file: certificates.file("root-cert.pem"),
            refresh_interval: "1s",
          },
        },
      },
    };
    const client = new GreetServiceClient(`xds:///${target}`, new XdsChannelCredentials(credentials.createInsecure()), {
      "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config": JSON.stringify(bootstrap),
    });
    clients.push(client);
    return client;
  }

  /** A grpc-js client routed by rxds, with the same provider given as the XdsClient's certificateProviders. */
  function ourClient(): Client {
    xds = new XdsClient({
      servers: [{ uri: server.address }],
      node,
      logger: new LogRecorder(),
      certificateProviders: {
        default: { certificateFile: certificates.file("cert-chain.pem"), privateKeyFile: certificates.file("key.pem"), caCertificateFile: certificates.file("root-cert.pem") },
      },
    });
    const client = new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds));
    clients.push(client);
    return client;
  }

  it("StrictUpstream: both clients reach the backend over mutual TLS, each presenting the mesh identity it was given", async () => {
    await serve("greeter");
    const before = backend.calls.length;
    expect((await sayHello(peerClient())).message).to.contain("greeter");
    expect((await sayHello(ourClient())).message).to.contain("greeter");
    const calls = backend.calls.slice(before);
    expect(calls).to.have.length(2);
    for (const call of calls) expect(call.peerSans).to.equal("URI:spiffe://cluster.local/ns/default/sa/client");
  });

  it("WrongSan: both clients refuse a backend whose identity is not the one the DestinationRule's service account names", async () => {
    await serve("billing");
    const before = backend.calls.length;
    const peer = (await sayHello(peerClient()).catch((error: ServiceError) => error)) as ServiceError;
    const ours = (await sayHello(ourClient()).catch((error: ServiceError) => error)) as ServiceError;
    expect(peer.code, `grpc-js-xds: ${peer.details}`).to.equal(14);
    expect(peer.details).to.contain("No matching subject alternative name");
    expect(ours.code, `rxds: ${ours.details}`).to.equal(14);
    expect(ours.details).to.contain("spiffe://cluster.local/ns/default/sa/billing");
    expect(backend.calls.length).to.equal(before);
  });
});
