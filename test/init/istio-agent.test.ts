// The istio-agent path: the bootstrap that Istio's `grpc-agent` injection template has the agent write
// (test/fixtures/istio-agent/grpc-bootstrap.json: the agent's plaintext xDS proxy on a Unix socket, and the
// `default` file-watcher certificate provider over the certificates it writes) works as it is. The test moves its two
// directories (/etc/istio/proxy, /var/lib/istio/data) into a temporary one and calls a STRICT workload through it.
import { create } from "@bufbuild/protobuf";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { init } from "rxds";
import { ControlPlane } from "rxds/server";
import { xdsClientOptions } from "rxds/grpc";
import { HelloRequestSchema, type HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { GreetServiceClient, GrpcGreetBackend } from "../support/greet-backend.js";
import { CertificateDir, MeshCa, spiffe } from "../support/mesh-certificates.js";
import { serveMesh, strictMesh } from "../support/mesh.js";

const fixture = readFileSync(new URL("../../../test/fixtures/istio-agent/grpc-bootstrap.json", import.meta.url), "utf8");

describe("the istio-agent path (inject.istio.io/templates: grpc-agent)", function () {
  this.timeout(15000);

  it("AgentBootstrap: init() reads the agent's bootstrap as written, talks xDS over its Unix socket and calls a STRICT workload with its certificates", async () => {
    const dir = await CertificateDir.create();
    const ca = await MeshCa.create();
    await dir.writeMesh(ca, await ca.issue({ sans: [spiffe("default", "client")] }));
    const backend = await GrpcGreetBackend.start("greeter", { ...(await ca.issue({ sans: [spiffe("default", "greeter")] })), clientCa: ca.certificate });
    const agent = new ControlPlane();
    await agent.listen({ path: dir.file("XDS") });
    serveMesh(agent, strictMesh(backend.port, "greeter"), "grpc");
    const bootstrap = fixture.replaceAll("/etc/istio/proxy/XDS", dir.file("XDS")).replaceAll("/var/lib/istio/data", dir.path);
    const xds = init({ env: { GRPC_XDS_BOOTSTRAP: "/etc/istio/proxy/grpc-bootstrap.json" }, readFile: () => bootstrap });
    const greet = new GreetServiceClient("greeter:8080", credentials.createInsecure(), xdsClientOptions(xds));
    try {
      const response = await new Promise<HelloResponse>((resolve, reject) =>
        greet.SayHello(create(HelloRequestSchema, { message: "hi" }), new Metadata(), (error: ServiceError | null, value?: HelloResponse) =>
          error ? reject(error) : resolve(value!),
        ),
      );
      expect(response.message).to.contain("greeter");
      expect(backend.calls[0]?.peerSans).to.equal("URI:spiffe://cluster.local/ns/default/sa/client");
    } finally {
      greet.close();
      await xds.close();
      await agent.close();
      await backend.stop();
      await dir.remove();
    }
  });
});
