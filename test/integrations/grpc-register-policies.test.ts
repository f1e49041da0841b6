// register()'s per-call policies: one grpc-js program (test/fixtures/register-calls.ts) runs with @grpc/grpc-js-xds's
// register() and with its import changed to rxds's, each in a process of its own, against `rxds serve` translating a
// VirtualService's `retries` and `fault`: both retry, abort and delay alike. Then rxds's alone against a control plane
// on loopback: retries avoid the endpoints tried, and a local rate limit (which grpc-js-xds does not implement) applies.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { readFile, rm, writeFile } from "node:fs/promises";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { LocalRateLimitSchema } from "../../gen/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { FractionalPercent_DenominatorType } from "../../gen/envoy/type/v3/percent_pb.js";
import { serveMesh, type MeshServer } from "rxds/server";
import { ConfigDir, MemoryLog } from "../fixtures/serve-mesh.js";
import { echoHost, echoMesh } from "../support/echo-mesh.js";
import { GrpcGreetBackend } from "../support/greet-backend.js";
import { RunningProcess } from "../support/running-process.js";
import { apiListener, edsCluster, loopbackEndpoints, prefixRoute, routeConfiguration } from "../support/resources.js";
import { CDS, EDS, Harness, LDS, pack, RDS } from "../support/wire.js";
import { binomialBounds } from "./split-bounds.js";

/** One case of the program: `count` calls of `method` with `headers`, each with a deadline `deadlineMs` (default 5000) away. */
interface Case {
  readonly name: string;
  readonly method: "SayHello" | "SayHello1";
  readonly count: number;
  readonly headers: Record<string, string>;
  readonly deadlineMs?: number;
}

/** How a call ended, as the program prints it. */
interface Outcome {
  readonly code: number;
  readonly text: string;
  readonly ms: number;
}

const program = new URL("../fixtures/register-calls.js", import.meta.url);
const rxdsProgram = new URL(`../fixtures/register-calls-rxds-${process.pid}.js`, import.meta.url);

/** Writes the program with its one import changed to rxds/grpc. */
async function writeRxdsProgram(): Promise<void> {
  const source = await readFile(program, "utf8");
  const changed = source.replace(`from "@grpc/grpc-js-xds"`, `from "rxds/grpc"`);
  expect(changed).to.not.equal(source);
  await writeFile(rxdsProgram, changed);
}

/** Runs `which` against the control plane at `server` for `target`; resolves with each case's outcomes. */
async function run(which: URL, server: string, target: string, cases: readonly Case[]): Promise<Map<string, Outcome[]>> {
  const bootstrap = {
    xds_servers: [{ server_uri: server, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
    node: { id: "sidecar~127.0.0.1~policies.default~default.svc.cluster.local", locality: {}, metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
  };
  const child = RunningProcess.node(which, [target, JSON.stringify(cases)], { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap), RXDS_LOG: "none" });
  const code = await child.exit();
  expect(code, child.output).to.equal(0);
  const outcomes = new Map<string, Outcome[]>();
  for (const line of child.output.split("\n")) {
    if (!line.startsWith("{")) continue;
    const parsed = JSON.parse(line) as { case: string; outcomes: Outcome[] };
    outcomes.set(parsed.case, parsed.outcomes);
  }
  return outcomes;
}

describe("register() from rxds/grpc: retries, fault injection and local rate limits", function () {
  this.timeout(60000);

  before(writeRxdsProgram);
  after(() => rm(rxdsProgram, { force: true }));

  describe("side by side with grpc-js-xds's register(), against rxds serve", () => {
    let backends: GrpcGreetBackend[];
    let dir: ConfigDir;
    let server: MeshServer;

    before(async () => {
      backends = await Promise.all(["b0", "b1"].map((name) => GrpcGreetBackend.start(name)));
      // Header-matched routes with a fault each; the rest retried on UNAVAILABLE, twice at most.
      const virtualService = `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - match: [{headers: {x-case: {exact: abort}}}]
    route: [{destination: {host: echo}}]
    fault: {abort: {grpcStatus: PERMISSION_DENIED, percentage: {value: 40}}}
  - match: [{headers: {x-case: {exact: delay}}}]
    route: [{destination: {host: echo}}]
    fault: {delay: {fixedDelay: 0.15s, percentage: {value: 100}}}
  - route: [{destination: {host: echo}}]
    retries: {attempts: 2, retryOn: unavailable}
`;
      dir = await ConfigDir.create(echoMesh(backends.map((b) => b.port), "{loadBalancer: {simple: ROUND_ROBIN}}") + virtualService);
      server = await serveMesh({ config: dir.file, port: 0, log: new MemoryLog().log });
    });

    after(async () => {
      await server?.close();
      await Promise.all((backends ?? []).map((b) => b.stop()));
      await dir?.remove();
    });

    it("Policies_SideBySide: both retry an UNAVAILABLE attempt on the other backend, not INTERNAL, and abort and delay alike (up to the deadline)", async () => {
      const [b0, b1] = backends as [GrpcGreetBackend, GrpcGreetBackend];
      // b0 fails the retried route's calls: UNAVAILABLE, or INTERNAL when asked to.
      b0.failWith = (call) => {
        if (call.headers["x-case"] !== undefined) return undefined;
        return call.headers["x-fail"] === "internal" ? { code: status.INTERNAL, details: "b0 broke" } : { code: status.UNAVAILABLE, details: "b0 is down" };
      };
      const cases: Case[] = [
        { name: "retried", method: "SayHello", count: 10, headers: {} },
        { name: "not retried", method: "SayHello", count: 6, headers: { "x-fail": "internal" } },
        { name: "aborted", method: "SayHello1", count: 200, headers: { "x-case": "abort" } },
        { name: "delayed", method: "SayHello", count: 1, headers: { "x-case": "delay" } },
        { name: "delayed past its deadline", method: "SayHello", count: 1, headers: { "x-case": "delay" }, deadlineMs: 60 },
      ];
      const retries = () => [...b0.calls, ...b1.calls].filter((c) => c.headers["grpc-previous-rpc-attempts"] !== undefined).length;
      const [lo, hi] = binomialBounds(200, 0.4);
      for (const [name, which] of [
        ["grpc-js-xds", program],
        ["rxds", rxdsProgram],
      ] as const) {
        const retriedBefore = retries();
        const failedBefore = b0.calls.filter((c) => c.headers["x-case"] === undefined && c.headers["x-fail"] === undefined).length;
        const outcomes = await run(which, server.address, `${echoHost}:8080`, cases);
        expect(outcomes.get("retried")!.map((o) => [o.code, o.text]), name).to.deep.equal(Array(10).fill([0, "b1"]));
        const failed = b0.calls.filter((c) => c.headers["x-case"] === undefined && c.headers["x-fail"] === undefined).length - failedBefore;
        // Each failed attempt of the retried case was followed by one retry, which told the backend so.
        expect(failed, `${name}: attempts b0 failed`).to.be.at.least(1);
        expect(retries() - retriedBefore, `${name}: retries, one per failed attempt`).to.equal(failed);
        const codes = new Set(outcomes.get("not retried")!.map((o) => o.code));
        expect([...codes].sort(), `${name}: INTERNAL is not retried`).to.deep.equal([0, status.INTERNAL]);
        const aborted = outcomes.get("aborted")!.filter((o) => o.code === status.PERMISSION_DENIED).length;
        expect(aborted, `${name}: aborted of 200`).to.be.within(lo, hi);
        expect(outcomes.get("aborted")!.filter((o) => o.code === 0).length, name).to.equal(200 - aborted);
        const [delayed] = outcomes.get("delayed")!;
        expect(delayed!.code, name).to.equal(0);
        expect(delayed!.ms, `${name}: delayed`).to.be.at.least(145);
        expect(outcomes.get("delayed past its deadline")!.map((o) => o.code), name).to.deep.equal([status.DEADLINE_EXCEEDED]);
      }
    });
  });

  describe("rxds's alone, against a control plane on loopback", () => {
    const target = "limited.default.svc.cluster.local:8080";
    let h: Harness;
    let backends: GrpcGreetBackend[];

    beforeEach(async () => {
      h = await new Harness().start();
      backends = await Promise.all(["b0", "b1", "b2"].map((name) => GrpcGreetBackend.start(name)));
    });

    afterEach(async () => {
      await h.stop();
      await Promise.all(backends.map((b) => b.stop()));
    });

    it("PreviousHosts: a retry goes to an endpoint not tried yet where there is one, even with random picks", async () => {
      h.cp.set(LDS, { [target]: apiListener(target, "rc") });
      const action = { clusterSpecifier: { case: "cluster", value: "c" }, retryPolicy: { retryOn: "unavailable", numRetries: 1, retryBackOff: { baseInterval: { nanos: 1_000_000 } } } } as const;
      h.cp.set(RDS, { rc: routeConfiguration("rc", ["*"], [{ match: { pathSpecifier: { case: "prefix", value: "/" } }, action: { case: "route", value: action } }]) });
      const cluster = { name: "c", lbPolicy: Cluster_LbPolicy.RANDOM, clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { edsConfig: { configSourceSpecifier: { case: "ads", value: {} } } } } as const;
      h.cp.set(CDS, { c: anyPack(ClusterSchema, create(ClusterSchema, cluster)) });
      h.cp.set(EDS, { c: loopbackEndpoints("c", backends.map((b) => b.port)) });
      backends[0]!.failWith = () => ({ code: status.UNAVAILABLE, details: "b0 is down" });
      const n = 150;
      const outcomes = (await run(rxdsProgram, h.address, target, [{ name: "random", method: "SayHello", count: n, headers: {} }])).get("random")!;
      // A call fails only if its first attempt and all five picks of its retry land on b0: 1/3 × (1/3)^5. Without the
      // avoidance it would be 1/3 × 1/3, some 17 calls of 150.
      const [, hi] = binomialBounds(n, 1 / 729);
      expect(outcomes.filter((o) => o.code !== 0).length).to.be.at.most(hi);
      expect(backends[0]!.calls.length, "b0 was tried first some of the time").to.be.above(10);
      // Each first attempt b0 failed was followed by one retry, which told its backend so.
      const retries = backends.flatMap((b) => b.calls).filter((c) => c.headers["grpc-previous-rpc-attempts"] === "1");
      expect(retries.length).to.equal(backends[0]!.calls.filter((c) => c.headers["grpc-previous-rpc-attempts"] === undefined).length);
    });

    it("RateLimit: the listener's local rate limit lets its bucket's calls through and fails the rest UNAVAILABLE, naming the limit", async () => {
      const every = { defaultValue: { numerator: 100, denominator: FractionalPercent_DenominatorType.HUNDRED } };
      const limit: MessageInitShape<typeof LocalRateLimitSchema> = {
        statPrefix: "test",
        tokenBucket: { maxTokens: 3, tokensPerFill: 3, fillInterval: { seconds: 60n } },
        filterEnabled: every,
        filterEnforced: every,
      };
      const manager = create(HttpConnectionManagerSchema, {
        routeSpecifier: { case: "rds", value: { configSource: { configSourceSpecifier: { case: "ads", value: {} } }, routeConfigName: "rc" } },
        httpFilters: [
          { name: "envoy.filters.http.local_ratelimit", configType: { case: "typedConfig", value: pack(LocalRateLimitSchema, limit) } },
          { name: "envoy.filters.http.router", configType: { case: "typedConfig", value: pack(RouterSchema, {}) } },
        ],
      });
      h.cp.set(LDS, { [target]: anyPack(ListenerSchema, create(ListenerSchema, { name: target, apiListener: { apiListener: anyPack(HttpConnectionManagerSchema, manager) } })) });
      h.cp.set(RDS, { rc: routeConfiguration("rc", ["*"], [prefixRoute("/", "c")]) });
      h.cp.set(CDS, { c: edsCluster("c") });
      h.cp.set(EDS, { c: loopbackEndpoints("c", [backends[0]!.port]) });
      const outcomes = (await run(rxdsProgram, h.address, target, [{ name: "limited", method: "SayHello", count: 5, headers: {} }])).get("limited")!;
      expect(outcomes.map((o) => o.code)).to.deep.equal([0, 0, 0, status.UNAVAILABLE, status.UNAVAILABLE]);
      expect(outcomes[3]!.text).to.equal(`local rate limit "envoy.filters.http.local_ratelimit" refused /proxyless.GreetService/SayHello: no token left (3 per 60000 ms, at most 3)`);
      expect(backends[0]!.calls).to.have.length(3);
    });
  });
});
