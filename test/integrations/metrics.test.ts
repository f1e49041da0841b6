// OpenTelemetry metrics, read with the SDK's in-memory exporter: gRFC A78's xDS client metrics from a client of a
// control plane on loopback (and of a port nothing listens on), and A66-style per-call metrics from calls through
// rxds/grpc to real backends, one of which fails every other call. Without a MeterProvider, nothing is recorded.
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { metrics } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram } from "@opentelemetry/sdk-metrics";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import { GrpcAdsTransport, type XdsClient } from "rxds";
import { xdsClientOptions } from "rxds/grpc";
import { BehaviorSubject, filter, firstValueFrom } from "rxjs";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { GreetServiceClient, GrpcGreetBackend, hello } from "../support/greet-backend.js";
import { apiListener, edsCluster, loopbackEndpoints, prefixRoute, routeConfiguration } from "../support/resources.js";
import { CDS, EDS, Harness, LDS, RDS } from "../support/wire.js";

const target = "metered.default.svc.cluster.local:8080";

/** A MeterProvider whose metrics a test reads on demand. */
class Metrics {
  readonly exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  readonly reader = new PeriodicExportingMetricReader({ exporter: this.exporter, exportIntervalMillis: 3_600_000 });
  readonly provider = new MeterProvider({ readers: [this.reader] });

  /** The data points of metric `name` at this moment. */
  async points(name: string): Promise<DataPoint<unknown>[]> {
    this.exporter.reset();
    await this.reader.forceFlush();
    const found = this.exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).filter((m) => m.descriptor.name === name);
    return found.flatMap((m) => m.dataPoints as DataPoint<unknown>[]);
  }

  /** The value of the point of `name` whose attributes include `attributes`; undefined when there is none. */
  async value(name: string, attributes: Record<string, string>): Promise<unknown> {
    const point = (await this.points(name)).find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
    return point?.value;
  }

  stop(): Promise<void> {
    return this.provider.shutdown();
  }
}

function call(client: InstanceType<typeof GreetServiceClient>): Promise<number> {
  return new Promise((resolve) => client.SayHello!(hello(), new Metadata(), { deadline: Date.now() + 5000 }, (error: ServiceError | null) => resolve(error?.code ?? 0)));
}

describe("OpenTelemetry metrics", function () {
  this.timeout(15000);
  let h: Harness;
  let m: Metrics;
  let backend: GrpcGreetBackend;

  beforeEach(async () => {
    h = await new Harness().start();
    m = new Metrics();
    backend = await GrpcGreetBackend.start("b0");
    h.cp.set(LDS, { [target]: apiListener(target, "rc") });
    h.cp.set(RDS, { rc: routeConfiguration("rc", ["*"], [prefixRoute("/", "metered")]) });
    h.cp.set(CDS, { metered: edsCluster("metered") });
    h.cp.set(EDS, { metered: loopbackEndpoints("metered", [backend.port]) });
  });

  afterEach(async () => {
    await h.stop();
    await backend.stop();
    await m.stop();
    metrics.disable();
  });

  async function routedBy(xds: XdsClient): Promise<void> {
    await firstValueFrom(xds.router(target).pipe(filter((r) => r.snapshot.clusters.get("metered")?.endpoints !== undefined)));
  }

  it("XdsClient_A78: connected, valid and invalid resource updates, and resources by cache state", async () => {
    const xds = h.xds({ meterProvider: m.provider });
    const held = xds.router(target).subscribe();
    await routedBy(xds);
    const server = { "grpc.target": "#rxds", "grpc.xds.server": h.address };
    expect(await m.value("grpc.xds_client.connected", server)).to.equal(1);
    for (const type of ["envoy.config.listener.v3.Listener", "envoy.config.route.v3.RouteConfiguration", "envoy.config.cluster.v3.Cluster"]) {
      expect(await m.value("grpc.xds_client.resource_updates_valid", { ...server, "grpc.xds.resource_type": type }), type).to.equal(1);
    }
    // An invalid version of the cluster (an lrs_server that is not `self`) is NACKed; the good one keeps serving.
    const broken = create(ClusterSchema, { name: "metered", lrsServer: { configSourceSpecifier: { case: "ads", value: {} } } });
    h.cp.set(CDS, { metered: anyPack(ClusterSchema, broken) });
    await firstValueFrom(xds.status$.pipe(filter((s) => s.resources.some((r) => r.state === "NACKED"))));
    const cluster = { ...server, "grpc.xds.resource_type": "envoy.config.cluster.v3.Cluster" };
    expect(await m.value("grpc.xds_client.resource_updates_invalid", cluster)).to.equal(1);
    expect(await m.value("grpc.xds_client.resource_updates_valid", cluster)).to.equal(1);
    const resources = { "grpc.target": "#rxds", "grpc.xds.authority": "#old" };
    expect(await m.value("grpc.xds_client.resources", { ...resources, "grpc.xds.resource_type": "envoy.config.cluster.v3.Cluster", "grpc.xds.cache_state": "nacked_but_cached" })).to.equal(1);
    expect(await m.value("grpc.xds_client.resources", { ...resources, "grpc.xds.resource_type": "envoy.config.listener.v3.Listener", "grpc.xds.cache_state": "acked" })).to.equal(1);
    expect(await m.value("grpc.xds_client.server_failure", server)).to.equal(undefined);
    held.unsubscribe();
  });

  it("XdsClient_A78_ServerFailure: a server that refuses the stream is not connected, and counts one failure per outage", async () => {
    const unreachable = "127.0.0.1:1";
    // Counts the streams the client opens, so that the test can wait for a third attempt.
    const attempts = new BehaviorSubject(0);
    const xds = h.xds({
      meterProvider: m.provider,
      servers: [{ uri: unreachable }],
      transport: (server) => {
        const grpc = new GrpcAdsTransport(server);
        return {
          stream: (requests) => {
            attempts.next(attempts.value + 1);
            return grpc.stream(requests);
          },
          close: () => grpc.close(),
        };
      },
    });
    const subscription = xds.listener(target).subscribe();
    await firstValueFrom(attempts.pipe(filter((n) => n >= 3)));
    const server = { "grpc.target": "#rxds", "grpc.xds.server": unreachable };
    expect(await m.value("grpc.xds_client.connected", server)).to.equal(0);
    expect(await m.value("grpc.xds_client.server_failure", server)).to.equal(1);
    expect(await m.value("grpc.xds_client.resources", { "grpc.xds.resource_type": "envoy.config.listener.v3.Listener", "grpc.xds.cache_state": "requested" })).to.equal(1);
    subscription.unsubscribe();
  });

  it("Calls_A66: attempts started, and their durations by target, cluster, locality and status", async () => {
    backend.failEvery = 2;
    const xds = h.xds({ meterProvider: m.provider });
    const client = new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds));
    try {
      const codes = [];
      for (let i = 0; i < 10; i++) codes.push(await call(client));
      expect(codes.filter((c) => c === 0)).to.have.length(5);
    } finally {
      client.close();
    }
    const labels = { "grpc.target": target, "grpc.lb.backend_service": "metered", "grpc.lb.locality": '{region="local", zone="", sub_zone=""}' };
    expect(await m.value("grpc.client.attempt.started", labels)).to.equal(10);
    const ok = (await m.value("grpc.client.attempt.duration", { ...labels, "grpc.status": "OK" })) as Histogram;
    const failed = (await m.value("grpc.client.attempt.duration", { ...labels, "grpc.status": "UNAVAILABLE" })) as Histogram;
    expect(ok.count).to.equal(5);
    expect(failed.count).to.equal(5);
    // Each call took some time over loopback, and less than its 5 s deadline.
    expect(ok.min).to.be.above(0);
    expect(ok.max).to.be.below(5);
  });

  it("Calls_A66_Retries: each attempt of a retried call is recorded as its own, the failed one and the retry", async () => {
    const retried = { case: "route", value: { clusterSpecifier: { case: "cluster", value: "metered" }, retryPolicy: { retryOn: "unavailable", numRetries: 1 } } } as const;
    h.cp.set(RDS, { rc: routeConfiguration("rc", ["*"], [{ match: { pathSpecifier: { case: "prefix", value: "/" } }, action: retried }]) });
    // Every odd call the backend sees fails: each client call's first attempt fails, and its retry succeeds.
    backend.failWith = (_call, n) => (n % 2 === 1 ? { code: status.UNAVAILABLE, details: `attempt ${n} refused` } : undefined);
    const xds = h.xds({ meterProvider: m.provider });
    await routedBy(xds);
    const client = new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds));
    try {
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push(await call(client));
      expect(codes).to.deep.equal([0, 0, 0, 0, 0]);
    } finally {
      client.close();
    }
    expect(backend.calls).to.have.length(10);
    const labels = { "grpc.target": target, "grpc.lb.backend_service": "metered", "grpc.lb.locality": '{region="local", zone="", sub_zone=""}' };
    expect(await m.value("grpc.client.attempt.started", labels)).to.equal(10);
    expect(((await m.value("grpc.client.attempt.duration", { ...labels, "grpc.status": "OK" })) as Histogram).count).to.equal(5);
    expect(((await m.value("grpc.client.attempt.duration", { ...labels, "grpc.status": "UNAVAILABLE" })) as Histogram).count).to.equal(5);
  });

  it("Global_MeterProvider: used when no meterProvider is given; without one, a client records nothing", async () => {
    metrics.setGlobalMeterProvider(m.provider);
    const metered = h.xds();
    await routedBy(metered);
    expect(await m.value("grpc.xds_client.connected", { "grpc.xds.server": h.address })).to.equal(1);
    metrics.disable();
    m.exporter.reset();
    const silent = h.xds();
    const client = new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(silent));
    try {
      expect(await call(client)).to.equal(0);
    } finally {
      client.close();
    }
    await metered.close();
    expect(await m.points("grpc.client.attempt.started")).to.deep.equal([]);
  });
});
