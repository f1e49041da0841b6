import { create } from "@bufbuild/protobuf";
import { credentials, Server, ServerCredentials, type Client, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { GreetServiceClient, greetService } from "../../examples/greet-service.js";
import { HelloRequestSchema, HelloResponseSchema, type HelloRequest, type HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { compareCallRates, type StartCall } from "../support/call-rate.js";
import { withLoopback } from "../support/loopback.js";
import type { BenchMode, Scenario } from "../support/scenario.js";
import { CDS, clusterResource, EDS, istioNames, LDS, listenerResource, RDS, routeConfigurationResource, singleEndpointAssignment } from "../support/xds-fixtures.js";

/** Parameters of the RPC overhead scenario. */
export interface RpcOverheadParams {
  /** Calls kept in flight. */
  readonly concurrency: number;
  /** How long each client runs calls, untimed, before the timed part. */
  readonly warmUpMs: number;
  /** How long each client is timed, in all (in four slices, interleaved with the other client's). */
  readonly durationMs: number;
}

/** The xDS target the routed clients dial; its one endpoint is the backend on 127.0.0.1. */
const host = "greet.default.svc.cluster.local";
const names = istioNames(host, 8888);

/** The GreetService backend: answers every SayHello at once. */
export async function startBackend(): Promise<{ readonly port: number; close(): Promise<void> }> {
  const server = new Server();
  const reply = create(HelloResponseSchema, { message: "hello" });
  const sayHello = (_: ServerUnaryCall<HelloRequest, HelloResponse>, done: sendUnaryData<HelloResponse>) => done(null, reply);
  server.addService(greetService, { SayHello: sayHello, SayHello1: sayHello });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Every client is closed first; forceShutdown ends whatever connection is left.
        server.tryShutdown(() => resolve());
        server.forceShutdown();
      }),
  };
}

type SayHello = (request: HelloRequest, callback: (error: Error | null, reply?: HelloResponse) => void) => unknown;

/** Starts unary SayHello calls on `client`. */
export function sayHelloOn(client: Client): StartCall {
  const sayHello = (client as unknown as { SayHello: SayHello }).SayHello.bind(client);
  const request = create(HelloRequestSchema, { message: "hi" });
  return (done) => sayHello(request, (error) => done(error ?? undefined));
}

/** Unary calls per second at fixed concurrency: a plain grpc-js client vs the same client class routed by the library. */
export const rpcOverhead: Scenario<RpcOverheadParams> = {
  id: "rpc-overhead",
  title: "RPC overhead",
  description:
    "A GreetService backend (grpc-js Server) on 127.0.0.1 answers unary SayHello calls; its one endpoint is served as target `greet.default.svc.cluster.local:8888`'s LDS → RDS → CDS → EDS chain (one catch-all route, one cluster). " +
    "Each run makes two clients of the same generated class (examples/greet-service.ts): a **direct** grpc-js client to `127.0.0.1:port`, and one routed by the library — **rxds**: `new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds))` with `xds` an `XdsClient` of the plane; **grpc-js-xds**: `new GreetServiceClient(\"xds:///\" + target, credentials.createInsecure(), { bootstrap channel option })` after its `register()`. " +
    "Both are warmed up (routing resolved, connections open, JIT warm), then each keeps a fixed number of calls in flight (a loop per slot starts its next call when the previous one answers) for a fixed time, in eight slices ordered direct, routed, routed, direct, routed, direct, direct, routed, so drift on a shared machine affects both alike: calls answered ÷ time. " +
    "The direct figure is measured in the same runs as each library's (so there is one per column) and `÷ direct grpc-js` is the routed figure ÷ that run's direct figure; for these rows higher is better. Client, backend and control plane share one process and event loop.",
  metrics: [
    { key: "callsPerSecond", label: "calls/s through the library", unit: "1/s" },
    { key: "directCallsPerSecond", label: "calls/s direct grpc-js, same runs", unit: "1/s" },
    { key: "ratioToDirect", label: "÷ direct grpc-js", unit: "ratio" },
  ],
  cases: (mode: BenchMode) => [
    {
      label: "unary SayHello, 16 in flight",
      params: mode === "quick" ? { concurrency: 16, warmUpMs: 150, durationMs: 400 } : { concurrency: 16, warmUpMs: 500, durationMs: 2000 },
    },
  ],
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: async (subject, { concurrency, warmUpMs, durationMs }) => {
    const backend = await startBackend();
    try {
      return await withLoopback(subject, async (plane, connect) => {
        plane.set(LDS, { [names.listener]: listenerResource(names.listener, names.route) });
        plane.set(RDS, { [names.route]: routeConfigurationResource(names.route, names.listener, [names.cluster]) });
        plane.set(CDS, { [names.cluster]: clusterResource(names.cluster) });
        plane.set(EDS, { [names.cluster]: singleEndpointAssignment(names.cluster, "127.0.0.1", backend.port) });

        const direct = new GreetServiceClient(`127.0.0.1:${backend.port}`, credentials.createInsecure());
        try {
          const routed = connect().grpcClient(names.listener, (address, options) => new GreetServiceClient(address, credentials.createInsecure(), options));
          const rates = await compareCallRates({ direct: sayHelloOn(direct), routed: sayHelloOn(routed) }, { concurrency, warmUpMs, durationMs });
          routed.close();
          return rates;
        } finally {
          direct.close();
        }
      });
    } finally {
      await backend.close();
    }
  },
};
