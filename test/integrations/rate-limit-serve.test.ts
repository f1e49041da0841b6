// End to end, the server half's local rate limit as kitex users configure it: `rxds serve` with kitex's EnvoyFilter
// (HTTP_FILTER INSERT_BEFORE local_ratelimit on SIDECAR_INBOUND, enabled and enforced for every call), a sidecar-mode XdsClient of the workload, and a
// grpc-js server with rxds's interceptor: the calls beyond the bucket end RESOURCE_EXHAUSTED naming the limit.
import { create } from "@bufbuild/protobuf";
import { credentials, Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import { createServer, type AddressInfo } from "node:net";
import { XdsClient } from "rxds";
import { createXdsServerInterceptor } from "rxds/grpc";
import { serveMesh } from "rxds/server";
import { HelloRequestSchema, HelloResponseSchema, type HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { ConfigDir, exampleMesh, MemoryLog } from "../fixtures/serve-mesh.js";
import { rateLimitFilter } from "../support/envoy-filters.js";
import { GreetServiceClient, greetServiceDefinition } from "../support/greet-backend.js";
import { LogRecorder, next } from "../support/wire.js";

describe("rxds serve's EnvoyFilter local rate limit, enforced by a grpc-js server", function () {
  this.timeout(15000);

  it("KitexRateLimit: with a bucket of 2, the third call ends RESOURCE_EXHAUSTED naming the limit", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const dir = await ConfigDir.create(`${await exampleMesh({ ports: [port, 18002] })}---\n${rateLimitFilter({ version: "v1" }, 2, "60s", "default", true)}`);
    const mesh = await serveMesh({ config: dir.file, port: 0, log: new MemoryLog().log });
    const xds = new XdsClient({ servers: [{ uri: mesh.address }], node: { id: "sidecar~127.0.0.1~kitex-server-v1.default~default.svc.cluster.local", metadata: {} }, logger: new LogRecorder() });
    const inbound = createXdsServerInterceptor(xds, { port });
    const server = new Server({ interceptors: [inbound.interceptor] });
    const answer = (_call: unknown, callback: sendUnaryData<HelloResponse>) => callback(null, create(HelloResponseSchema, { message: "v1" }));
    server.addService(greetServiceDefinition, { SayHello: answer, SayHello1: answer, SayHelloStream: () => undefined, Chat: () => undefined });
    const client = new GreetServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      // The server's listener, virtualInbound, is patched by the EnvoyFilter before the server serves.
      await next(inbound.inbound$, (snapshot) => snapshot.connectionManager?.httpFilters.some((filter) => filter.name === "envoy.filters.http.local_ratelimit") === true);
      await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
      const call = () =>
        new Promise<{ code: number; details: string }>((resolve) =>
          client.SayHello(create(HelloRequestSchema, { message: "hi" }), new Metadata(), (error: ServiceError | null) => resolve({ code: error?.code ?? status.OK, details: error?.details ?? "" })),
        );
      const results = [await call(), await call(), await call()];
      expect(results.map((result) => result.code)).to.deep.equal([status.OK, status.OK, status.RESOURCE_EXHAUSTED]);
      expect(results[2]!.details).to.match(/^local rate limit "envoy\.filters\.http\.local_ratelimit" refused \/proxyless\.GreetService\/SayHello: no token left/);
    } finally {
      client.close();
      inbound.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await xds.close();
      await mesh.close();
      await dir.remove();
    }
  });
});
