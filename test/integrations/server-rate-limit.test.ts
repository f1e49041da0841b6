// The server half (kitex's NewServerSuite): a grpc-js Server and a Connect Node handler find their inbound listener on a
// control plane over loopback and apply its local_ratelimit to the calls they receive, following updates live.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { credentials, Metadata, Server, ServerCredentials, status, type ServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { XdsClient } from "rxds";
import { createXdsServerInterceptor as connectServerInterceptor } from "rxds/connect";
import { createXdsServerInterceptor as grpcServerInterceptor } from "rxds/grpc";
import { TrafficDirection } from "../../gen/envoy/config/core/v3/base_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { LocalRateLimitSchema } from "../../gen/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { FractionalPercent_DenominatorType } from "../../gen/envoy/type/v3/percent_pb.js";
import { GreetService, type HelloRequest, type HelloResponse } from "../../gen/proxyless/greet_pb.js";
import { GreetServiceClient, greetServiceDefinition, hello } from "../support/greet-backend.js";
import { Harness, LDS, next, pack } from "../support/wire.js";

const PORT = 8888;
const every = { defaultValue: { numerator: 100, denominator: FractionalPercent_DenominatorType.HUNDRED } };
const ms = (n: number) => ({ seconds: BigInt(Math.floor(n / 1000)), nanos: (n % 1000) * 1e6 });

/** An HttpConnectionManager as istiod writes an inbound one: inline routes, the given local rate limit (if any), the router. */
function inboundHcm(tokens: number | undefined, fillMs = 60_000, extraFilters: MessageInitShape<typeof HttpConnectionManagerSchema>["httpFilters"] = []) {
  const limit =
    tokens === undefined
      ? []
      : [{ name: "envoy.filters.http.local_ratelimit", configType: { case: "typedConfig" as const, value: pack(LocalRateLimitSchema, { statPrefix: "http_local_rate_limiter", tokenBucket: { maxTokens: tokens, tokensPerFill: tokens, fillInterval: ms(fillMs) }, filterEnabled: every, filterEnforced: every }) } }];
  return anyPack(
    HttpConnectionManagerSchema,
    create(HttpConnectionManagerSchema, {
      routeSpecifier: { case: "routeConfig", value: { name: "inbound", virtualHosts: [{ name: "inbound", domains: ["*"], routes: [{ match: { pathSpecifier: { case: "prefix", value: "/" } }, action: { case: "nonForwardingAction", value: {} } }] }] } },
      httpFilters: [...(extraFilters ?? []), ...limit, { name: "envoy.filters.http.router", configType: { case: "typedConfig", value: pack(RouterSchema, {}) } }],
    }),
  );
}

/** A listener with one filter chain per entry: `[destination port or undefined, tokens or undefined]`. */
function inboundListener(
  name: string,
  chains: [number | undefined, number | undefined][],
  direction = TrafficDirection.INBOUND,
  fillMs?: number,
  extraFilters: MessageInitShape<typeof HttpConnectionManagerSchema>["httpFilters"] = [],
) {
  return anyPack(
    ListenerSchema,
    create(ListenerSchema, {
      name,
      trafficDirection: direction,
      filterChains: chains.map(([port, tokens]) => ({
        ...(port === undefined ? {} : { filterChainMatch: { destinationPort: port } }),
        filters: [{ name: "envoy.filters.network.http_connection_manager", configType: { case: "typedConfig" as const, value: inboundHcm(tokens, fillMs, extraFilters) } }],
      })),
    }),
  );
}

/** A GreetService server of one kind with rxds's interceptor for `PORT`: `call()` makes one call, giving its status code and details. */
interface ServerUnderTest {
  call(): Promise<{ code: number; details: string }>;
  stop(): Promise<void>;
}

const servers: Record<string, (xds: XdsClient, options?: { port: number; host?: string }) => Promise<ServerUnderTest>> = {
  "grpc-js Server": async (xds, options = { port: PORT }) => {
    const inbound = grpcServerInterceptor(xds, options);
    const server = new Server({ interceptors: [inbound.interceptor] });
    const answer = (_call: unknown, callback: (error: null, reply: HelloResponse) => void) => callback(null, { $typeName: "proxyless.HelloResponse", message: "ok" });
    server.addService(greetServiceDefinition, { SayHello: answer, SayHello1: answer, SayHelloStream: () => undefined, Chat: () => undefined });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const client = new GreetServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    return {
      call: () =>
        new Promise((resolve) => client.SayHello!(hello(), new Metadata(), (error: ServiceError | null) => resolve({ code: error?.code ?? 0, details: error?.details ?? "" }))),
      stop: async () => {
        client.close();
        inbound.close();
        await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      },
    };
  },
  "Connect Node handler": async (xds, options = { port: PORT }) => {
    const inbound = connectServerInterceptor(xds, options);
    const handler = connectNodeAdapter({
      routes: (router) => router.service(GreetService, { sayHello: (_r: HelloRequest) => ({ message: "ok" }), sayHello1: (_r: HelloRequest) => ({ message: "ok" }) }),
      interceptors: [inbound.interceptor],
    });
    const server = http2.createServer(handler);
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on("session", (s) => sessions.add(s));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const client = createClient(GreetService, transport);
    return {
      call: async () => {
        try {
          await client.sayHello({ message: "hi" });
          return { code: 0, details: "" };
        } catch (error) {
          const e = ConnectError.from(error);
          return { code: e.code === Code.ResourceExhausted ? status.RESOURCE_EXHAUSTED : e.code, details: e.rawMessage };
        }
      },
      stop: async () => {
        inbound.close();
        for (const s of sessions) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  },
};

async function codes(server: ServerUnderTest, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await server.call()).code);
  return out;
}

for (const [kind, start] of Object.entries(servers)) {
  describe(`the server half through a ${kind}: the inbound listener's local_ratelimit, over loopback`, function () {
    this.timeout(20000);
    let h: Harness;
    let started: ServerUnderTest[];

    beforeEach(async () => {
      h = await new Harness().start();
      started = [];
    });

    afterEach(async () => {
      await Promise.all(started.map((s) => s.stop()));
      await h.stop();
    });

    /** An XdsClient in sidecar mode (no GENERATOR=grpc), as kitex-contrib/xds runs. */
    const sidecar = () => h.xds({ node: { id: "sidecar~127.0.0.1~server.default~default.svc.cluster.local", metadata: {} } });

    async function serverFor(xds: XdsClient, options?: { port: number; host?: string }): Promise<ServerUnderTest> {
      const server = await start(xds, options);
      started.push(server);
      return server;
    }

    it("lets N calls through per fill from virtualInbound's chain for its port, refuses the rest RESOURCE_EXHAUSTED, and follows a new bucket live", async () => {
      h.cp.set(LDS, { virtualInbound: inboundListener("virtualInbound", [[PORT, 3], [9999, 1]]) });
      const xds = sidecar();
      const server = await serverFor(xds);
      await next(xds.inbound({ port: PORT }), (s) => s.connectionManager !== undefined);
      const first = await codes(server, 5);
      expect(first).to.deep.equal([0, 0, 0, status.RESOURCE_EXHAUSTED, status.RESOURCE_EXHAUSTED]);
      const refused = await server.call();
      expect(refused.details).to.equal('local rate limit "envoy.filters.http.local_ratelimit" refused /proxyless.GreetService/SayHello: no token left (3 per 60000 ms, at most 3)');
      h.cp.set(LDS, { virtualInbound: inboundListener("virtualInbound", [[PORT, 5]]) });
      await next(xds.inbound({ port: PORT }), (s) => s.connectionManager?.httpFilters[0]?.applied?.kind === "local_ratelimit" && s.connectionManager.httpFilters[0].applied.config.tokenBucket?.maxTokens === 5);
      expect(await codes(server, 6)).to.deep.equal([0, 0, 0, 0, 0, status.RESOURCE_EXHAUSTED]);
    });

    it("refills the bucket every fill_interval", async () => {
      h.cp.set(LDS, { virtualInbound: inboundListener("virtualInbound", [[PORT, 2]], TrafficDirection.INBOUND, 400) });
      const xds = sidecar();
      const server = await serverFor(xds);
      await next(xds.inbound({ port: PORT }), (s) => s.connectionManager !== undefined);
      const before = await codes(server, 3);
      // The bucket fills by time: waiting out its interval is the event.
      await new Promise((resolve) => setTimeout(resolve, 450));
      expect([...before, ...(await codes(server, 3))]).to.deep.equal([0, 0, status.RESOURCE_EXHAUSTED, 0, 0, status.RESOURCE_EXHAUSTED]);
    });

    it("takes the chain without destination_port when none is for its port, and admits everything without a listener", async () => {
      h.cp.set(LDS, { virtualInbound: inboundListener("virtualInbound", [[9999, 1], [undefined, 1]]) });
      const xds = sidecar();
      const server = await serverFor(xds);
      await next(xds.inbound({ port: PORT }), (s) => s.connectionManager !== undefined);
      expect(await codes(server, 2)).to.deep.equal([0, status.RESOURCE_EXHAUSTED]);
      h.cp.remove(LDS, ["virtualInbound"]);
      await next(xds.inbound({ port: PORT }), (s) => s.listener === undefined);
      expect(await codes(server, 3)).to.deep.equal([0, 0, 0]);
    });

    it("uses an INBOUND 0.0.0.0_<port> listener, never an OUTBOUND one (istiod's outbound listeners share that name)", async () => {
      h.cp.set(LDS, { [`0.0.0.0_${PORT}`]: inboundListener(`0.0.0.0_${PORT}`, [[undefined, 1]], TrafficDirection.OUTBOUND) });
      const xds = h.xds({ node: { id: "sidecar~127.0.0.1~server.default~default.svc.cluster.local", metadata: {} }, doesNotExistTimeoutMs: 200 });
      const server = await serverFor(xds);
      const none = await next(xds.inbound({ port: PORT }));
      expect([none.listenerName, none.listener]).to.deep.equal(["virtualInbound", undefined]);
      expect(await codes(server, 2)).to.deep.equal([0, 0]);
      h.cp.set(LDS, { [`0.0.0.0_${PORT}`]: inboundListener(`0.0.0.0_${PORT}`, [[undefined, 1]]) });
      await next(xds.inbound({ port: PORT }), (s) => s.listenerName === `0.0.0.0_${PORT}`);
      expect(await codes(server, 2)).to.deep.equal([0, status.RESOURCE_EXHAUSTED]);
    });

    it("warns that the chain's RBAC filter is not applied, and refuses a port outside 1..65535", async () => {
      const rbac = { name: "envoy.filters.http.rbac", configType: { case: "typedConfig" as const, value: { $typeName: "google.protobuf.Any" as const, typeUrl: "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC", value: new Uint8Array() } } };
      h.cp.set(LDS, { virtualInbound: inboundListener("virtualInbound", [[PORT, 1]], TrafficDirection.INBOUND, undefined, [rbac]) });
      const xds = sidecar();
      await serverFor(xds);
      await next(xds.inbound({ port: PORT }), (s) => s.connectionManager !== undefined);
      expect(h.log.at("warn")).to.include('inbound listener "virtualInbound": HTTP filter "envoy.filters.http.rbac" (RBAC) is not applied: rxds servers apply only local_ratelimit');
      const refused = await start(xds, { port: 0 }).then(
        () => expect.fail("a server for port 0 started"),
        (error: Error) => error,
      );
      expect(refused.message).to.equal("inbound: port: expected an integer in 1..65535, got 0");
    });

    it("finds a gRPC-style inbound listener by gRFC A36's name, or by the bootstrap's template (istio-agent's)", async () => {
      h.cp.set(LDS, {
        [`grpc/server?xds.resource.listening_address=0.0.0.0:${PORT}`]: inboundListener(`grpc/server?xds.resource.listening_address=0.0.0.0:${PORT}`, [[undefined, 1]]),
        [`xds.istio.io/grpc/lds/inbound/[::]:${PORT}`]: inboundListener(`xds.istio.io/grpc/lds/inbound/[::]:${PORT}`, [[undefined, 2]]),
      });
      const grpcStyle = h.xds();
      const a36 = await serverFor(grpcStyle);
      await next(grpcStyle.inbound({ port: PORT }), (s) => s.connectionManager !== undefined);
      expect(await codes(a36, 2)).to.deep.equal([0, status.RESOURCE_EXHAUSTED]);
      const agent = h.xds({ serverListenerResourceNameTemplate: "xds.istio.io/grpc/lds/inbound/%s" });
      const istio = await serverFor(agent, { port: PORT, host: "::" });
      await next(agent.inbound({ port: PORT, host: "::" }), (s) => s.connectionManager !== undefined);
      expect(await codes(istio, 3)).to.deep.equal([0, 0, status.RESOURCE_EXHAUSTED]);
    });
  });
}
