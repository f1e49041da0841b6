// Mesh mTLS to workloads (gRFC A29), end to end: `rxds serve`'s translation of a DestinationRule with
// `tls.mode: ISTIO_MUTUAL` gives the cluster istiod's transport socket, and both integrations reach a STRICT backend
// (mutual TLS only) with the bootstrap provider's certificates, checking its SPIFFE SAN; rotated certificates are
// used for new connections.
import { createClient } from "@connectrpc/connect";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import { writeFile } from "node:fs/promises";
import type { XdsClient } from "rxds";
import { createXdsTransport } from "rxds/connect";
import { xdsClientOptions } from "rxds/grpc";
import { GreetService, HelloRequestSchema, type HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { create } from "@bufbuild/protobuf";
import { GreetServiceClient, GrpcGreetBackend } from "../support/greet-backend.js";
import { CertificateDir, MeshCa, spiffe, type KeyPair } from "../support/mesh-certificates.js";
import { serveMesh, strictMesh } from "../support/mesh.js";
import { Harness } from "../support/wire.js";

const TARGET = "greeter.default.svc.cluster.local:8080";

describe("mesh mTLS to workloads (gRFC A29)", function () {
  this.timeout(15000);
  let ca: MeshCa;
  let client: KeyPair;
  let dir: CertificateDir;
  let h: Harness;
  let backend: GrpcGreetBackend;
  let xds: XdsClient;
  const closers: { close(): void }[] = [];

  before(async () => {
    ca = await MeshCa.create();
    client = await ca.issue({ sans: [spiffe("default", "client")] });
  });

  beforeEach(async () => {
    dir = await CertificateDir.create();
    await dir.writeMesh(ca, client);
    const server = await ca.issue({ sans: [spiffe("default", "greeter")] });
    backend = await GrpcGreetBackend.start("greeter", { ...server, clientCa: ca.certificate });
    h = await new Harness().start();
    xds = h.xds({
      certificateProviders: {
        default: { certificateFile: dir.file("cert-chain.pem"), privateKeyFile: dir.file("key.pem"), caCertificateFile: dir.file("root-cert.pem"), refreshIntervalMs: 50 },
      },
    });
  });

  afterEach(async () => {
    for (const closer of closers.splice(0)) closer.close();
    await h.stop();
    await backend.stop();
    await dir.remove();
  });

  function grpcClient(of: XdsClient = xds) {
    const greet = new GreetServiceClient(TARGET, credentials.createInsecure(), xdsClientOptions(of));
    closers.push(greet);
    return greet;
  }

  function sayHello(greet: InstanceType<typeof GreetServiceClient>): Promise<HelloResponse> {
    return new Promise((resolve, reject) =>
      greet.SayHello(create(HelloRequestSchema, { message: "hi" }), new Metadata(), (error: ServiceError | null, response?: HelloResponse) =>
        error ? reject(error) : resolve(response!),
      ),
    );
  }

  it("StrictUpstream: a grpc-js client with insecure credentials reaches the STRICT backend over mTLS, presenting its SPIFFE identity", async () => {
    serveMesh(h.cp, strictMesh(backend.port, "greeter"), "grpc");
    expect((await sayHello(grpcClient())).message).to.contain("greeter");
    expect(backend.calls[0]?.peerSans).to.equal("URI:spiffe://cluster.local/ns/default/sa/client");
  });

  it("OnlyMtls: the STRICT backend refuses a plaintext client, and a client without the mesh's certificate provider NACKs the cluster", async () => {
    serveMesh(h.cp, strictMesh(backend.port, "greeter"), "grpc");
    const direct = new GreetServiceClient(`127.0.0.1:${backend.port}`, credentials.createInsecure());
    closers.push(direct);
    const plain = await sayHello(direct).catch((error: ServiceError) => error);
    expect((plain as ServiceError).code).to.equal(14);
    const unconfigured = h.xds();
    const error = (await sayHello(grpcClient(unconfigured)).catch((e: ServiceError) => e)) as ServiceError;
    expect(error.code).to.equal(14);
    expect(error.details).to.contain('certificate provider instance "default" is not in the bootstrap\'s certificate_providers');
    expect(error.details).to.contain("[INVALID_RESOURCE]");
  });

  it("WrongSan: a backend whose certificate has another identity fails the call with UNAVAILABLE naming its SAN and the expected one", async () => {
    serveMesh(h.cp, strictMesh(backend.port, "billing"), "grpc");
    const error = (await sayHello(grpcClient()).catch((e: ServiceError) => e)) as ServiceError;
    expect(error.code).to.equal(14);
    expect(error.details).to.contain("the endpoint's certificate has SANs URI:spiffe://cluster.local/ns/default/sa/greeter, none of which matches match_subject_alt_names");
    expect(error.details).to.contain('exact "spiffe://cluster.local/ns/default/sa/billing"');
  });

  it("Rotation: once the provider's files rotate, the next call opens a new connection with the new certificate", async () => {
    serveMesh(h.cp, strictMesh(backend.port, "greeter"), "grpc");
    const greet = grpcClient();
    await sayHello(greet);
    const rotated = await ca.issue({ sans: [spiffe("default", "client-rotated")] });
    await writeFile(dir.file("cert-chain.pem"), rotated.certificate);
    await writeFile(dir.file("key.pem"), rotated.privateKey);
    await new Promise((resolve) => setTimeout(resolve, 60)); // the provider's refresh interval (50 ms) passes
    await sayHello(greet);
    expect(backend.calls.map((c) => c.peerSans)).to.deep.equal([
      "URI:spiffe://cluster.local/ns/default/sa/client",
      "URI:spiffe://cluster.local/ns/default/sa/client-rotated",
    ]);
  });

  it("Connect: rxds/connect reaches the STRICT backend over TLS HTTP/2 with the mesh's certificates", async () => {
    serveMesh(h.cp, strictMesh(backend.port, "greeter"), "grpc");
    const transport = createXdsTransport(xds, { target: TARGET, protocol: "grpc" });
    closers.push(transport);
    const response = await createClient(GreetService, transport).sayHello({ message: "hi" });
    expect(response.message).to.contain("greeter");
    expect(backend.calls[0]?.peerSans).to.equal("URI:spiffe://cluster.local/ns/default/sa/client");
  });
});
