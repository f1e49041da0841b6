import { expect } from "chai";
import { credentials, Metadata, status, type CallOptions, type ChannelCredentials, type ServiceError } from "@grpc/grpc-js";
import { xdsChannelOf, xdsClientOptions, type XdsChannelOptions } from "rxds/grpc";
import type { HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { GreetServiceClient, hello } from "../support/greet-backend.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { greetMeshPerTest } from "./greet-mesh.js";

const target = `${kitexHost}:8888`;
type GreetClient = InstanceType<typeof GreetServiceClient>;

/** What a failed call ended with: its status as the client's callback saw it. */
function failure(client: GreetClient, options: CallOptions = {}, method: "SayHello" | "SayHello1" = "SayHello", metadata = new Metadata()): Promise<ServiceError> {
  return new Promise((resolve, reject) =>
    client[method]!(hello(), metadata, options, (error: ServiceError | null, response?: HelloResponse) =>
      error ? resolve(error) : reject(new Error(`the call succeeded: ${response?.message}`)),
    ),
  );
}

/** Credentials as a copy of grpc-js that is not in the module cache (bundled, say) would make them. */
class BundledChannelCredentials {
  _isSecure(): boolean {
    return false;
  }
}

describe("rxds/grpc: a failing call ends with a status, and nothing escapes as an exception or a rejection", () => {
  const mesh = greetMeshPerTest();

  function meshClient(options: XdsChannelOptions = {}, creds: ChannelCredentials = credentials.createInsecure()): GreetClient {
    const client = new GreetServiceClient(target, creds, xdsClientOptions(mesh.xds, options));
    mesh.clients.push(client);
    return client;
  }

  /** Takes the control plane offline; the returned function serves the kitex mesh and brings it back. */
  async function offline(): Promise<() => Promise<void>> {
    const port = Number(mesh.h.address.split(":")[1]);
    await mesh.h.cp.close();
    return async () => {
      serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port), "grpc");
      await mesh.h.cp.listen({ host: "127.0.0.1", port });
    };
  }

  it("ends the call INTERNAL when the meta extractor throws, naming the method and the error", async () => {
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port), "grpc");
    const client = meshClient({
      metaExtractor: () => {
        throw new Error("no tenant in the context");
      },
    });
    const error = await failure(client);
    expect(error.code).to.equal(status.INTERNAL);
    expect(error.details).to.equal("the xDS meta extractor threw for /proxyless.GreetService/SayHello: no tenant in the context");
    expect(mesh.v1.calls.length + mesh.v2.calls.length).to.equal(0);
  });

  it("ends the call UNAVAILABLE with the router's reason when routing fails", async () => {
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port).split("  - name: default")[0]!, "grpc");
    const error = await failure(meshClient(), {}, "SayHello1");
    expect(error.code).to.equal(status.UNAVAILABLE);
    expect(error.details).to.match(/^xDS routing of \/proxyless\.GreetService\/SayHello1 failed: no route of virtual host .+ \[NO_ROUTE\]$/);
  });

  it("ends every call FAILED_PRECONDITION when the credentials come from no loaded copy of grpc-js, saying how to fix it", async () => {
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port), "grpc");
    const client = meshClient({}, new BundledChannelCredentials() as unknown as ChannelCredentials);
    for (const options of [{}, { deadline: Date.now() + 5000 }]) {
      const error = await failure(client, options);
      expect(error.code).to.equal(status.FAILED_PRECONDITION);
      expect(error.details)
        .to.match(/^xDS call \/proxyless\.GreetService\/SayHello to "kitex-server\.default\.svc\.cluster\.local:8888" cannot be made: /)
        .and.include("not made by any loaded copy of @grpc/grpc-js (loaded: ")
        .and.include("node_modules/@grpc/grpc-js")
        .and.include("make them with the credentials of the @grpc/grpc-js the client comes from");
    }
    expect(xdsChannelOf(client)!.openEndpoints()).to.deep.equal([]);
    expect(mesh.v1.calls.length + mesh.v2.calls.length).to.equal(0);
  });

  it("ends the call INTERNAL when grpc-js cannot open the endpoint's channel, naming the endpoint and grpc-js's error", async () => {
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port), "grpc");
    const client = meshClient({ channelOptions: { "grpc.service_config": "{not json" } });
    const error = await failure(client);
    expect(error.code).to.equal(status.INTERNAL);
    expect(error.details).to.match(
      new RegExp(`^xDS call /proxyless\\.GreetService/SayHello to endpoint 127\\.0\\.0\\.1:${mesh.v2.port} failed: grpc-js could not open a channel to it: .*JSON`),
    );
  });

  it("ends the call INTERNAL when grpc-js refuses to create the call on the endpoint's channel", async () => {
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port), "grpc");
    // A parent that is not a grpc-js server call: grpc-js's createCall throws a TypeError on it.
    const error = await failure(meshClient(), { parent: {} as unknown as NonNullable<CallOptions["parent"]> });
    expect(error.code).to.equal(status.INTERNAL);
    expect(error.details).to.match(
      new RegExp(`^xDS call /proxyless\\.GreetService/SayHello to endpoint 127\\.0\\.0\\.1:${mesh.v2.port} failed: grpc-js could not start it: .+`),
    );
    expect(mesh.v2.calls).to.have.length(0);
  });

  it("ends a wait-for-ready call that waited for the control plane with a status when its dispatch then fails: no unhandled rejection", async () => {
    const online = await offline();
    const client = meshClient({ channelOptions: { "grpc.service_config": "{not json" } });
    const waiting = failure(client, { deadline: Date.now() + 5000 }, "SayHello", new Metadata({ waitForReady: true }));
    await online();
    const error = await waiting;
    expect(error.code).to.equal(status.INTERNAL);
    expect(error.details).to.include("grpc-js could not open a channel to it");
  });

  it("ends a wait-for-ready call that waited for the control plane UNAVAILABLE when no route then matches it", async () => {
    const port = Number(mesh.h.address.split(":")[1]);
    await mesh.h.cp.close();
    const waiting = failure(meshClient(), { deadline: Date.now() + 5000 }, "SayHello1", new Metadata({ waitForReady: true }));
    serveMesh(mesh.h.cp, kitexMesh(mesh.v1.port, mesh.v2.port).split("  - name: default")[0]!, "grpc");
    await mesh.h.cp.listen({ host: "127.0.0.1", port });
    const error = await waiting;
    expect(error.code).to.equal(status.UNAVAILABLE);
    expect(error.details).to.include("[NO_ROUTE]");
  });

  it("ends wait-for-ready calls waiting for the control plane UNAVAILABLE [CLOSED] when the client or the xDS client closes", async () => {
    await offline();
    const closedClient = meshClient();
    const first = failure(closedClient, {}, "SayHello", new Metadata({ waitForReady: true }));
    closedClient.close();
    const second = failure(meshClient(), {}, "SayHello", new Metadata({ waitForReady: true }));
    await mesh.xds.close();
    for (const error of await Promise.all([first, second])) {
      expect(error.code).to.equal(status.UNAVAILABLE);
      expect(error.details).to.match(/^xDS routing of \/proxyless\.GreetService\/SayHello failed: .* \[CLOSED\]$/);
    }
  });
});
