import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { filter, firstValueFrom, skip, take, timeout, type Observable } from "rxjs";
import { ControlPlane, type ReceivedRequest } from "rxds/server";
import { XdsClient, type XdsClientOptions, type XdsOptions } from "rxds";
import type { Logger, LogLevel } from "../../src/logger.js";
import { RawAdsServer, type StreamScript } from "./raw-ads-server.js";
import { AdsClient } from "../../src/client/ads-client.js";
import type { DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";

/** Type URLs used across tests. */
export const LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
export const RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
export const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
export const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

/** Packs a message built from `init` into an Any. */
export function pack<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Any {
  return anyPack(schema, create(schema, init));
}

/** A logger that keeps every line, `level: message`, for tests to read. */
export class LogRecorder implements Logger {
  readonly lines: string[] = [];
  debug = (message: string) => this.record("debug", message);
  info = (message: string) => this.record("info", message);
  warn = (message: string) => this.record("warn", message);
  error = (message: string) => this.record("error", message);

  /** The messages logged at `level`. */
  at(level: LogLevel): string[] {
    return this.lines.filter((l) => l.startsWith(`${level}: `)).map((l) => l.slice(level.length + 2));
  }

  private record(level: LogLevel, message: string): void {
    this.lines.push(`${level}: ${message}`);
  }
}

/** A control plane on loopback and clients pointed at it, all stopped by `stop()`. */
export class Harness {
  readonly cp = new ControlPlane();
  readonly clients: AdsClient[] = [];
  /** What the clients made here log (unless a test gives its own logger). */
  readonly log = new LogRecorder();
  private readonly rawServers: RawAdsServer[] = [];
  address = "";

  async start(): Promise<this> {
    this.address = await this.cp.listen({ host: "127.0.0.1", port: 0 });
    return this;
  }

  /** An ADS core client (resources decoded only) pointed at the control plane. */
  client(options: Partial<XdsClientOptions> = {}): AdsClient {
    return this.track(new AdsClient(this.options(options)));
  }

  /** A full XdsClient (validated resources, resolve, router) pointed at the control plane. */
  xds(options: Partial<XdsOptions> = {}): XdsClient {
    return this.track(new XdsClient({ ...options, ...this.options(options) }));
  }

  private track<C extends AdsClient>(client: C): C {
    this.clients.push(client);
    return client;
  }

  private options(options: Partial<XdsClientOptions>): XdsClientOptions {
    return {
      servers: [{ uri: this.address }],
      node: { id: "sidecar~127.0.0.1~test.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc" } },
      backoff: { initialMs: 20, maxMs: 200 },
      logger: this.log,
      ...options,
    };
  }

  /** How many requests the control plane has received so far. */
  requestCount(): number {
    let n = 0;
    this.cp.requests$.subscribe(() => n++).unsubscribe();
    return n;
  }

  /** The next request (after the first `after` received) that satisfies `predicate`. */
  nextRequest(predicate: (r: DiscoveryRequest, stream: number) => boolean, after = 0): Promise<ReceivedRequest> {
    return firstValueFrom(
      this.cp.requests$.pipe(
        skip(after),
        filter((r) => predicate(r.request, r.stream)),
        take(1),
        timeout({ first: 5000, with: () => { throw new Error("no matching request within 5 s"); } }),
      ),
    );
  }

  /** An ADS server on loopback whose streams `script` plays, for failure modes the control plane does not produce; stopped by `stop()`. */
  async raw(script: StreamScript): Promise<RawAdsServer> {
    const server = new RawAdsServer(script);
    this.rawServers.push(server);
    return server.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    await this.cp.close();
    await Promise.all(this.rawServers.map((s) => s.stop()));
  }
}

/** The first value of `source` that satisfies `predicate`, failing after 5 s. */
export function next<T>(source: Observable<T>, predicate: (value: T) => boolean = () => true): Promise<T> {
  return firstValueFrom(
    source.pipe(
      filter(predicate),
      take(1),
      timeout({ first: 5000, with: () => { throw new Error("no matching value within 5 s"); } }),
    ),
  );
}
