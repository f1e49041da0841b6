import { create } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import type { AddressInfo, Server } from "node:net";
import { XdsClient } from "rxds";
import { createXdsThriftClient, metainfo } from "rxds/thrift";
import thrift from "thrift";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { ThriftProxySchema } from "../../gen/envoy/extensions/filters/network/thrift_proxy/v3/thrift_proxy_pb.js";
import { GreetService, HelloRequest, HelloResponse } from "../../gen/thrift/proxyless/index.js";
import { encodeTTHeaderInfo, TTHEADER_INT_KEYS, TTHEADER_PROTOCOL_IDS } from "../../src/integrations/thrift/ttheader-frame.js";
import { ttheaderTransport, type TTHeaderWriting } from "../../src/integrations/thrift/ttheader-transport.js";
import { compareCallRates, type StartCall } from "../support/call-rate.js";
import { withLoopback } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { CDS, clusterResource, EDS, istioNames, LDS, singleEndpointAssignment } from "../support/xds-fixtures.js";

/** Parameters of the Thrift overhead scenario. */
export interface ThriftOverheadParams {
  /** The framing both clients and the backend speak: framed, or Kitex's TTHeader (the routed calls then carry metainfo). */
  readonly transport: "framed" | "ttheader";
  /** With TTHeader, where the routed calls' two key-values come from: metainfo (`metainfo.withValues` per call) or the call's headers (`with({ headers })`). */
  readonly keyValuesFrom?: "metainfo" | "headers";
  /** Calls kept in flight. */
  readonly concurrency: number;
  /** How long each client runs calls, untimed, before the timed part. */
  readonly warmUpMs: number;
  /** How long each client is timed, in all (in four slices, interleaved with the other client's). */
  readonly durationMs: number;
}

/** The xDS target the routed client dials; its one endpoint is the backend on 127.0.0.1. */
const host = "greet.default.svc.cluster.local";
const names = istioNames(host, 8888);

/** The part of the package used here (absent from or wrongly typed in @types/thrift). */
const lib = thrift as unknown as {
  createServer(processor: unknown, handler: unknown, options: object): Server;
  createConnection(host: string, port: number, options: object): { destroy(): void; on(event: "error", listener: () => void): void };
  createClient<T>(Client: unknown, connection: unknown): T;
  TFramedTransport: unknown;
  TBinaryProtocol: unknown;
};

/** The listener, named as the target (istiod's gRPC generator naming), with a ThriftProxy whose one route matches every method. */
function thriftListener(): Any {
  const proxy = create(ThriftProxySchema, {
    statPrefix: names.cluster,
    routeConfig: { name: "greet-thrift", routes: [{ match: { matchSpecifier: { case: "methodName", value: "" } }, route: { clusterSpecifier: { case: "cluster", value: names.cluster } } }] },
  });
  return anyPack(
    ListenerSchema,
    create(ListenerSchema, {
      name: names.listener,
      filterChains: [{ filters: [{ name: "envoy.filters.network.thrift_proxy", configType: { case: "typedConfig", value: anyPack(ThriftProxySchema, proxy) } }] }],
    }),
  );
}

/** Starts SayHello calls with `sayHello`. */
function calls(sayHello: (request: HelloRequest) => Promise<HelloResponse>): StartCall {
  const request = new HelloRequest({ Message: "hi" });
  return (done) => void sayHello(request).then(() => done(), done);
}

/** SayHello on a direct TTHeader client, each call's frame carrying what a routed call inside `metainfo.withValues({ tenant, lane })` carries. */
function withKeyValues(direct: GreetService.Client): (request: HelloRequest) => Promise<HelloResponse> {
  const output = (direct as unknown as { output: TTHeaderWriting }).output;
  return (request) => {
    const strings = { isn: "GreetService", RPC_TRANSIT_tenant: "acme", RPC_TRANSIT_lane: "blue" };
    output.setNextHeader(encodeTTHeaderInfo({ protocolId: TTHEADER_PROTOCOL_IDS.binary, strings, ints: [[TTHEADER_INT_KEYS.toMethod, "SayHello"]] }));
    return direct.SayHello(request);
  };
}

/** The warm-up and timed durations of a mode. */
function timing(mode: "quick" | "full"): Omit<ThriftOverheadParams, "transport"> {
  return mode === "quick" ? { concurrency: 16, warmUpMs: 150, durationMs: 400 } : { concurrency: 16, warmUpMs: 500, durationMs: 2000 };
}

/** Thrift calls per second at fixed concurrency: a plain `thrift` client vs the same generated class routed by rxds/thrift. */
export const thriftOverhead: Scenario<ThriftOverheadParams> = {
  id: "thrift-overhead",
  title: "Thrift overhead",
  description:
    "A Thrift GreetService backend (the `thrift` package's server, framed transport, binary protocol) on 127.0.0.1 answers SayHello; target `greet.default.svc.cluster.local:8888` is served as a listener holding a ThriftProxy (one route matching every method) → CDS → EDS with that one endpoint. " +
    "Each run makes two clients of the same generated class (gen/thrift, @creditkarma/thrift-typescript's apache target): a **direct** one, `thrift.createClient(GreetService.Client, thrift.createConnection(\"127.0.0.1\", port, framed binary))`, and one routed by **rxds**: `createXdsThriftClient(xds, GreetService.Client, { target, service })`. " +
    "In the TTHeader cases the backend and the direct client use rxds/thrift's TTHeader transport class; the routed client has `transport: \"ttheader\"` and makes each call either inside `metainfo.withValues({ tenant, lane })` (an AsyncLocalStorage context per call, whose cost is part of the figure) or through `with({ headers: { tenant, lane } })`, and the direct client sends the same key-values (isn, the two metainfo keys, TO_METHOD), encoded for each call with the same encoder. " +
    "Both are warmed up, then each keeps a fixed number of calls in flight for a fixed time, in eight interleaved slices as in the RPC overhead row (bench/support/call-rate.ts): calls answered ÷ time, and the routed figure ÷ the direct one of the same run. Client, backend and control plane share one process.",
  metrics: [
    { key: "callsPerSecond", label: "calls/s through the library", unit: "1/s" },
    { key: "directCallsPerSecond", label: "calls/s direct thrift, same runs", unit: "1/s" },
    { key: "ratioToDirect", label: "÷ direct thrift", unit: "ratio" },
  ],
  cases: (mode) => [
    {
      label: "SayHello, 16 in flight",
      params: { transport: "framed", ...timing(mode) },
      skip: { "grpc-js-xds": "It routes grpc-js calls only; it has no Thrift client." },
    },
    {
      label: "SayHello over TTHeader with 2 metainfo values, 16 in flight",
      params: { transport: "ttheader", keyValuesFrom: "metainfo", ...timing(mode) },
      skip: { "grpc-js-xds": "It routes grpc-js calls only; it has no Thrift client." },
    },
    {
      label: "SayHello over TTHeader with 2 call headers, 16 in flight",
      params: { transport: "ttheader", keyValuesFrom: "headers", ...timing(mode) },
      skip: { "grpc-js-xds": "It routes grpc-js calls only; it has no Thrift client." },
    },
  ],
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: async (subject, { transport: framing, keyValuesFrom, concurrency, warmUpMs, durationMs }) => {
    const reply = new HelloResponse({ Message: "hello" });
    const transport = { transport: framing === "framed" ? lib.TFramedTransport : ttheaderTransport(TTHEADER_PROTOCOL_IDS.binary), protocol: lib.TBinaryProtocol };
    const backend = lib.createServer(GreetService.Processor, { SayHello: () => reply, SayHello1: () => reply }, transport);
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", () => resolve()));
    const port = (backend.address() as AddressInfo).port;
    try {
      return await withLoopback(subject, async (plane) => {
        plane.set(LDS, { [names.listener]: thriftListener() });
        plane.set(CDS, { [names.cluster]: clusterResource(names.cluster) });
        plane.set(EDS, { [names.cluster]: singleEndpointAssignment(names.cluster, "127.0.0.1", port) });
        const xds = new XdsClient({ servers: [{ uri: plane.address! }], node: { id: "bench", metadata: { GENERATOR: "grpc" } } });
        const connection = lib.createConnection("127.0.0.1", port, transport);
        connection.on("error", () => {});
        const direct = lib.createClient<GreetService.Client>(GreetService.Client, connection);
        const directCall = framing === "framed" ? (r: HelloRequest) => direct.SayHello(r) : withKeyValues(direct);
        const routed = createXdsThriftClient(xds, GreetService.Client, { target: names.listener, service: "proxyless.GreetService", transport: framing });
        const sayHello = (r: HelloRequest) => routed.client.SayHello(r);
        const withHeaders = routed.with({ headers: { tenant: "acme", lane: "blue" } });
        const routedCall =
          framing === "framed"
            ? sayHello
            : keyValuesFrom === "headers"
              ? (r: HelloRequest) => withHeaders.SayHello(r)
              : (r: HelloRequest) => metainfo.withValues({ tenant: "acme", lane: "blue" }, () => sayHello(r));
        try {
          return await compareCallRates(
            { direct: calls(directCall), routed: calls(routedCall) },
            { concurrency, warmUpMs, durationMs },
          );
        } finally {
          routed.close();
          connection.destroy();
          await xds.close();
        }
      });
    } finally {
      await new Promise<void>((resolve) => backend.close(() => resolve()));
    }
  },
};
