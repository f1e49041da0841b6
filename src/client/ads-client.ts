import { create, type JsonObject } from "@bufbuild/protobuf";
import { createRequire } from "node:module";
import type { BehaviorSubject, Observable, Subject, Subscription } from "rxjs";
import { BehaviorSubject as BehaviorSubjectClass, defer, first, from, Observable as ObservableClass, repeat, retry, Subject as SubjectClass, timer } from "../rx.js";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { DiscoveryRequest, DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { CallCredentialsConfig, ChannelCredentialsConfig } from "../bootstrap/credentials-config.js";
import type { AdsEvent, AdsTransport } from "../transport/ads-transport.js";
import { Backoff, type BackoffOptions } from "../transport/backoff.js";
import { GrpcAdsTransport } from "../transport/grpc-ads-transport.js";
import { generated } from "../lazy-schema.js";
import { defaultLogger, LogThrottle, type Logger } from "../logger.js";
import { XdsError } from "../xds-error.js";
import { MAX_REASON_BYTES, nackMessage, truncateUtf8 } from "./error-detail.js";
import { metricsMeter, type MetricsMeter, type MetricsMeterProvider } from "./metrics-meter.js";
import type { ResourceType } from "./resource-type.js";
import { rawResourceTypes } from "./resource-types.js";
import type { ResourceUpdate } from "./resource-update.js";
import { ResourceWatch, TypeSubscription } from "./type-subscription.js";
import { XdsClientMetrics } from "./xds-client-metrics.js";
import type { ConnectionState, XdsDump, XdsStatus } from "./xds-status.js";

const { version: rxdsVersion } = createRequire(import.meta.url)("rxds/package.json") as { version: string };
const invalidArgument = 3; // google.rpc.Code.INVALID_ARGUMENT

const base = generated<typeof import("../../gen/envoy/config/core/v3/base_pb.js")>("envoy/config/core/v3/base");
const discovery = generated<typeof import("../../gen/envoy/service/discovery/v3/discovery_pb.js")>("envoy/service/discovery/v3/discovery");
const status = generated<typeof import("../../gen/google/rpc/status_pb.js")>("google/rpc/status");

/** One xDS server to talk to; structurally the bootstrap's `xds_servers` entry. */
export interface XdsServerOptions {
  /** Its address: `host:port`, or any grpc-js target (`dns:///host:port`, `unix:///path`). */
  readonly uri: string;
  /** How the channel is secured: `{ type: "insecure" }` (the default) or TLS from certificate files (gRFC A65). */
  readonly channelCreds?: ChannelCredentialsConfig;
  /** Call credentials: a JWT token file sent as a bearer token (gRFC A97); only over TLS. */
  readonly callCreds?: readonly CallCredentialsConfig[];
  /** `ignore_resource_deletion` (gRFC A53) keeps what this server's SotW responses omit; `xds_v3` is what rxds speaks anyway; others are ignored. */
  readonly serverFeatures?: readonly string[];
}

/** Who this client is, as sent to the control plane in the Node proto. */
export interface XdsNodeOptions {
  /** The node id, e.g. `sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local` for istiod. */
  readonly id: string;
  /** The node's cluster. Default "". */
  readonly cluster?: string;
  /** Node metadata (a protobuf Struct), e.g. `{ GENERATOR: "grpc", NAMESPACE: "default" }`. */
  readonly metadata?: JsonObject;
  /** Where the node runs. */
  readonly locality?: { readonly region?: string; readonly zone?: string; readonly subZone?: string };
}

/** How an XdsClient connects and behaves. */
export interface XdsClientOptions {
  /**
   * The control plane: the first server, then the others in order as fallbacks (gRFC A71), used while the ones
   * before cannot be reached and a watched resource has not been received; the client goes back to the first
   * server once it answers again.
   */
  readonly servers: readonly XdsServerOptions[];
  /** Makes the transport to one server (the core's only view of the wire). Default: grpc-js, with the server's credentials. */
  readonly transport?: (server: XdsServerOptions) => AdsTransport;
  /** This client's identity. */
  readonly node: XdsNodeOptions;
  /** Resource types beyond (or replacing, by type URL) the built-in listener, route, cluster, endpoint and name-table types. */
  readonly resourceTypes?: readonly ResourceType[];
  /** How long a requested resource may go unanswered on a connected stream before it is reported absent. Default 15000 ms. */
  readonly doesNotExistTimeoutMs?: number;
  /** Keep listeners and clusters that a SotW response omits instead of reporting them absent. Default false. */
  readonly ignoreResourceDeletion?: boolean;
  /** Reconnection backoff. Defaults: 1 s initial, ×1.6, 30 s max, ±20% jitter. */
  readonly backoff?: BackoffOptions;
  /** The largest ADS response accepted, in bytes; a larger one fails the stream (and is logged). Default: no limit, as in Envoy. */
  readonly maxResponseBytes?: number;
  /** Where the client logs. Default: stderr, at the level of the RXDS_LOG environment variable (warn when unset). */
  readonly logger?: Logger;
  /**
   * Where metrics go (gRFC A78's xDS client metrics; per-call metrics of its Routers): an OpenTelemetry MeterProvider.
   * Default: the global one registered with @opentelemetry/api; with none, nothing is recorded.
   */
  readonly meterProvider?: MetricsMeterProvider;
}

/** What one ADS stream has seen; a new stream starts a new record. */
interface StreamRecord {
  readonly requests: Subject<DiscoveryRequest>;
  /** The transport reported the connection ready. */
  ready: boolean;
  /** A response arrived: ending now is not a connectivity failure (gRFC A57). */
  responded: boolean;
  /** A response was accepted whole: the backoff starts over and the next stream opens at once. */
  accepted: boolean;
  /** The node still has to be sent (it goes in the first request of a stream). */
  sendNode: boolean;
}

/**
 * The ADS core: one stream to the control plane shared by every watch, with ACK/NACK, reconnect and
 * status. It knows resource types only through their descriptors; XdsClient adds Envoy's semantics.
 *
 * A stream's life: it opens with the first watch (requests for every watched name are queued first, so
 * that whatever the transport reports next finds the stream's bookkeeping done), becomes ready when the
 * connection is up (does-not-exist timers run only from then on, gRFC A57), and ends when the server ends
 * it or the connection fails. A stream that ended before any response is a connectivity failure: watches
 * that hold nothing yet see it as an error, the next attempt waits for the backoff. One whose response was
 * accepted is reopened at once with the backoff reset. It closes after the last watch is dropped.
 *
 * With several servers (gRFC A71), a connectivity failure while some watch holds nothing yet opens the next stream
 * on the next server at once instead (only the last server's failure reaches the watches); cached values keep
 * serving. While on a fallback, a probe stream asks the primary for the watched names until it answers; then the
 * fallback's stream ends and the next opens on the primary.
 */
export class AdsClient {
  /** The connection's state and every watched resource's status; replays the latest. */
  readonly status$: Observable<XdsStatus>;

  private readonly types = new Map<string, ResourceType>();
  private readonly subscriptions = new Map<string, TypeSubscription<unknown>>();
  private readonly observables = new Map<string, Observable<ResourceUpdate<unknown>>>();
  private readonly statusSubject: BehaviorSubject<XdsStatus>;
  private readonly servers: readonly XdsServerOptions[];
  /** The transport of each server, made on first use. */
  private readonly transports: (AdsTransport | undefined)[];
  private readonly makeTransport: (server: XdsServerOptions) => AdsTransport;
  /** The server streams are opened to: 0, the primary, or a fallback (gRFC A71). */
  private active = 0;
  /** While on a fallback: the stream that waits for the primary to answer again. */
  private probe: Subscription | undefined;
  private readonly backoffOptions: BackoffOptions | undefined;
  private readonly backoff: Backoff;
  private readonly node: Node;
  private readonly doesNotExistMs: number;
  private readonly ignoreDeletionOption: boolean;
  /** Where the client logs. */
  protected readonly log: Logger;
  /** Where metrics go; undefined when nothing is recorded. */
  protected readonly meter: MetricsMeter | undefined;
  private readonly metrics: XdsClientMetrics | undefined;
  private readonly throttle = new LogThrottle();
  private connection: Subscription | undefined;
  private stream: StreamRecord | undefined;
  private state: ConnectionState = "idle";
  private lastError: string | undefined;
  /** When the control plane was first found unreachable in the current outage (ms since the epoch). */
  private outageSince: number | undefined;
  private closed = false;
  private statusScheduled = false;
  private readonly pendingTypes = new Set<string>();

  /** `types` are the built-in resource types; `options.resourceTypes` add to or replace them by type URL. */
  constructor(options: XdsClientOptions, types: readonly ResourceType[] = rawResourceTypes) {
    const servers = options?.servers;
    if (!Array.isArray(servers) || servers.length === 0) throw new XdsError("INVALID_ARGUMENT", "xDS client: options.servers must name at least one server uri");
    servers.forEach((server: XdsServerOptions, i) => {
      if (typeof server?.uri !== "string" || server.uri === "") throw new XdsError("INVALID_ARGUMENT", `xDS client: options.servers[${i}].uri: expected a non-empty string`);
    });
    if (!options.node?.id) throw new XdsError("INVALID_ARGUMENT", "xDS client: options.node.id is required");
    checkPositive(options.doesNotExistTimeoutMs, "doesNotExistTimeoutMs");
    checkPositive(options.maxResponseBytes, "maxResponseBytes");
    this.servers = [...servers];
    this.transports = servers.map(() => undefined);
    const maxResponseBytes = options.maxResponseBytes;
    this.makeTransport =
      options.transport ??
      ((server) =>
        new GrpcAdsTransport({
          ...server,
          ...(maxResponseBytes === undefined ? {} : { maxResponseBytes }),
          ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
        }));
    this.backoffOptions = options.backoff;
    this.backoff = new Backoff(options.backoff);
    this.doesNotExistMs = options.doesNotExistTimeoutMs ?? 15000;
    this.ignoreDeletionOption = options.ignoreResourceDeletion ?? false;
    this.log = options.logger ?? defaultLogger();
    for (const type of [...types, ...(options.resourceTypes ?? [])]) {
      this.types.set(type.typeUrl, type as ResourceType);
    }
    this.node = create(base().NodeSchema, {
      id: options.node.id,
      cluster: options.node.cluster ?? "",
      ...(options.node.metadata ? { metadata: options.node.metadata } : {}),
      ...(options.node.locality ? { locality: options.node.locality } : {}),
      userAgentName: "rxds",
      userAgentVersionType: { case: "userAgentVersion", value: rxdsVersion },
      clientFeatures: ["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"],
    });
    this.meter = metricsMeter(options.meterProvider, rxdsVersion);
    this.metrics = this.meter === undefined ? undefined : new XdsClientMetrics(this.meter, () => this.snapshotStatus().resources);
    this.statusSubject = new BehaviorSubjectClass<XdsStatus>(this.snapshotStatus());
    this.status$ = this.statusSubject.asObservable();
  }

  /**
   * Watches one resource of any type: the first subscriber requests it, the last unsubscribe drops it,
   * a late subscriber gets the latest value at once. Only `close()` completes it; absence is a value.
   */
  watch<V>(type: ResourceType<V>, name: string): Observable<ResourceUpdate<V>>;
  watch(typeUrl: string, name: string): Observable<ResourceUpdate<unknown>>;
  watch(type: ResourceType | string, name: string): Observable<ResourceUpdate<unknown>> {
    if (typeof name !== "string") throw new XdsError("INVALID_ARGUMENT", `watch: name: expected a string, got ${typeof name}`);
    const typeUrl = this.register(type);
    const key = `${typeUrl}\n${name}`;
    let observable = this.observables.get(key);
    if (!observable) {
      observable = new ObservableClass<ResourceUpdate<unknown>>((subscriber) => {
        if (this.closed) {
          subscriber.complete();
          return undefined;
        }
        const watch = this.acquire(typeUrl, name);
        const inner = watch.subject.subscribe(subscriber);
        return () => {
          inner.unsubscribe();
          this.release(typeUrl, watch);
        };
      });
      this.observables.set(key, observable);
    }
    return observable;
  }

  /** What the client holds now, as CSDS (gRFC A40) reports it: its node, and each watched resource's status and value. */
  dump(): XdsDump {
    const resources = [];
    for (const subscription of this.subscriptions.values()) {
      for (const watch of subscription.watches.values()) {
        const held = watch.raw !== undefined;
        resources.push({ ...watch.status, raw: watch.raw, acceptedAt: held ? watch.acceptedAt : undefined });
      }
    }
    return { node: this.node, resources };
  }

  /** Whether close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends the stream, completes every observable and clears every timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.disconnect();
    for (const subscription of this.subscriptions.values()) {
      for (const watch of subscription.watches.values()) {
        watch.stopTimer();
        watch.subject.complete();
      }
    }
    this.subscriptions.clear();
    this.observables.clear();
    this.state = "closed";
    this.metrics?.close();
    this.statusSubject.next(this.snapshotStatus());
    this.statusSubject.complete();
  }

  private register(type: ResourceType | string): string {
    if (typeof type === "string") {
      if (!this.types.has(type)) throw new XdsError("INVALID_ARGUMENT", `watch: unknown resource type ${type}; pass a ResourceType or register it in options.resourceTypes`);
      return type;
    }
    const known = this.types.get(type.typeUrl);
    if (known && known !== type) throw new XdsError("INVALID_ARGUMENT", `watch: another ResourceType is registered for ${type.typeUrl}`);
    this.types.set(type.typeUrl, type);
    return type.typeUrl;
  }

  private acquire(typeUrl: string, name: string): ResourceWatch<unknown> {
    let subscription = this.subscriptions.get(typeUrl);
    if (!subscription) {
      subscription = new TypeSubscription(this.types.get(typeUrl)!);
      this.subscriptions.set(typeUrl, subscription);
    }
    let watch = subscription.watches.get(name);
    if (!watch) {
      watch = new ResourceWatch(typeUrl, name);
      subscription.watches.set(name, watch);
      this.scheduleRequest(typeUrl);
      this.scheduleStatus();
    }
    watch.refs++;
    if (!this.connection) this.connect();
    return watch;
  }

  private release(typeUrl: string, watch: ResourceWatch<unknown>): void {
    if (--watch.refs > 0 || this.closed) return;
    // Dropped a turn later, so that a derived stream switching from one watch of a name to another
    // (unsubscribe, then subscribe) keeps the subscription and its value instead of churning the wire.
    queueMicrotask(() => {
      if (watch.refs === 0 && !this.closed) this.drop(typeUrl, watch);
    });
  }

  private drop(typeUrl: string, watch: ResourceWatch<unknown>): void {
    const subscription = this.subscriptions.get(typeUrl);
    if (subscription?.watches.get(watch.name) !== watch) return;
    watch.stopTimer();
    watch.subject.complete();
    subscription.watches.delete(watch.name);
    // Forget the observable too, so that names watched once and dropped do not accumulate.
    this.observables.delete(`${typeUrl}\n${watch.name}`);
    this.scheduleStatus();
    if ([...this.subscriptions.values()].every((s) => s.watches.size === 0)) {
      this.disconnect();
      this.subscriptions.clear();
      this.state = "idle";
      this.lastError = undefined;
      this.outageSince = undefined;
      return;
    }
    this.scheduleRequest(typeUrl);
  }

  private connect(): void {
    this.state = "connecting";
    this.connection = defer(() => this.openStream())
      .pipe(
        repeat({ delay: () => this.streamEnded(undefined) }),
        retry({ delay: (error: unknown) => this.streamEnded(error) }),
      )
      .subscribe((event) => this.onEvent(event));
  }

  /** Starts a stream's bookkeeping (fresh nonces, every watched name queued for request), then opens it on the active server. */
  private openStream(): Observable<AdsEvent> {
    const requests = new SubjectClass<DiscoveryRequest>();
    this.stream = { requests, ready: false, responded: false, accepted: false, sendNode: true };
    for (const [typeUrl, subscription] of this.subscriptions) {
      subscription.resetStream();
      this.scheduleRequest(typeUrl);
    }
    this.scheduleStatus();
    this.metrics?.streamCreated(this.server);
    return this.transportOf(this.active).stream(requests);
  }

  private disconnect(): void {
    this.connection?.unsubscribe();
    this.connection = undefined;
    this.stream = undefined;
    this.stopProbe();
    for (const subscription of this.subscriptions.values()) subscription.resetStream();
    for (const transport of this.transports) transport?.close();
    this.active = 0;
    this.backoff.reset();
  }

  /** Handles the end of a stream (`error` undefined when the server ended it with OK); returns the delay before the next one. */
  private streamEnded(error: unknown): Observable<number> {
    const ended = this.stream;
    this.stream = undefined;
    for (const subscription of this.subscriptions.values()) subscription.resetStream();
    const reason = error === undefined ? "the server ended the stream" : error instanceof Error ? error.message : String(error);
    this.state = "reconnecting";
    this.lastError = reason;
    let delay: number;
    if (ended?.responded) {
      // A stream that worked ends for ordinary reasons (istiod closes every stream after 30 minutes): reopen it at once.
      delay = ended.accepted ? 0 : Math.round(this.backoff.next());
      this.log.info(`the control plane at ${this.server} ended the stream (${reason}); reopening it${delay === 0 ? "" : ` in ${delay} ms`}`);
    } else if (this.active < this.servers.length - 1 && this.hasUncached()) {
      this.metrics?.serverFailed(this.server);
      delay = 0;
      this.fallBack(reason);
    } else {
      delay = Math.round(this.backoff.next());
      this.unreachable(reason, delay);
    }
    this.scheduleStatus();
    return timer(delay);
  }

  /** A stream ended before any response: a connectivity failure (gRFC A57), told to the watches that hold nothing yet. */
  private unreachable(reason: string, delay: number): void {
    this.outageSince ??= Date.now();
    this.metrics?.serverFailed(this.server);
    const error = new XdsError("CONTROL_PLANE_UNAVAILABLE", `xDS server ${this.server} is unavailable: ${truncateUtf8(reason, MAX_REASON_BYTES)}`);
    let told = 0;
    for (const subscription of this.subscriptions.values()) told += subscription.failWaiting(error);
    const waiting = told === 0 ? "" : `; ${told} watched resource${told === 1 ? "" : "s"} with nothing received yet fail until it is back`;
    this.throttle.write(`unreachable\n${reason}`, `cannot reach the control plane at ${this.server}: ${reason}; retrying in ${delay} ms${waiting}`, (line) =>
      this.log.warn(line),
    );
  }

  /** Whether a watched resource has nothing from the control plane yet (gRFC A71: "does not exist" counts as received). */
  private hasUncached(): boolean {
    for (const subscription of this.subscriptions.values()) {
      for (const watch of subscription.watches.values()) if (watch.waiting) return true;
    }
    return false;
  }

  /**
   * gRFC A71: the active server cannot be reached and a watched resource has nothing yet, so the next stream opens on
   * the next server at once, and the primary is tried in the background until it answers.
   */
  private fallBack(reason: string): void {
    const from = this.server;
    this.transports[this.active]?.close();
    this.active++;
    for (const subscription of this.subscriptions.values()) subscription.acceptedVersion = "";
    this.log.warn(`cannot reach the control plane at ${from}: ${reason}; falling back to ${this.server} for the resources not received yet`);
    this.startProbe();
  }

  /** While on a fallback: a stream to the primary that asks for every watched name, until its first response (then the client goes back). */
  private startProbe(): void {
    if (this.probe !== undefined || this.active === 0) return;
    const backoff = new Backoff(this.backoffOptions);
    this.probe = defer(() => this.transportOf(0).stream(from(this.probeRequests())))
      .pipe(
        first((event) => event.kind === "response"),
        retry({ delay: () => timer(backoff.next()) }),
      )
      .subscribe(() => this.returnToPrimary());
  }

  private stopProbe(): void {
    this.probe?.unsubscribe();
    this.probe = undefined;
  }

  /** One request per watched type, naming every watched resource; the node goes in the first. */
  private probeRequests(): DiscoveryRequest[] {
    const requests: DiscoveryRequest[] = [];
    for (const [typeUrl, subscription] of this.subscriptions) {
      if (subscription.watches.size === 0) continue;
      requests.push(create(discovery().DiscoveryRequestSchema, { typeUrl, resourceNames: [...subscription.watches.keys()], ...(requests.length === 0 ? { node: this.node } : {}) }));
    }
    return requests;
  }

  /** The primary answered the probe: the fallback's stream ends and one opens on the primary, with what subscribers hold kept. */
  private returnToPrimary(): void {
    this.probe = undefined;
    this.log.warn(`the control plane at ${this.servers[0]!.uri} answers again; leaving the fallback ${this.server} for it`);
    this.connection?.unsubscribe();
    this.connection = undefined;
    this.stream = undefined;
    this.transports[this.active]?.close();
    this.active = 0;
    for (const subscription of this.subscriptions.values()) {
      subscription.resetStream();
      subscription.acceptedVersion = "";
    }
    this.backoff.reset();
    this.connect();
  }

  /** The transport to server `index`, made on first use. */
  private transportOf(index: number): AdsTransport {
    return (this.transports[index] ??= this.makeTransport(this.servers[index]!));
  }

  /** The address of the server streams are opened to. */
  private get server(): string {
    return this.servers[this.active]!.uri;
  }

  /** Whether SotW omission keeps resources: the option, or the active server's `ignore_resource_deletion` feature (gRFC A53). */
  private get ignoreDeletion(): boolean {
    return this.ignoreDeletionOption || (this.servers[this.active]!.serverFeatures ?? []).includes("ignore_resource_deletion");
  }

  private onEvent(event: AdsEvent): void {
    const stream = this.stream;
    if (stream === undefined) return;
    if (event.kind === "ready") {
      stream.ready = true;
      this.state = "ready";
      this.lastError = undefined;
      for (const subscription of this.subscriptions.values()) {
        for (const watch of subscription.watches.values()) if (watch.requested) this.startTimer(watch);
      }
      this.scheduleStatus();
      return;
    }
    stream.responded = true;
    this.onResponse(stream, event.response);
  }

  private onResponse(stream: StreamRecord, response: DiscoveryResponse): void {
    const subscription = this.subscriptions.get(response.typeUrl);
    if (!subscription) return;
    const label = typeLabel(response.typeUrl);
    const { errors, ignored, deleted } = subscription.apply(response, this.ignoreDeletion);
    if (this.metrics !== undefined) {
      const invalid = errors.length + ignored.length;
      this.metrics.responded(this.server, response.typeUrl, Math.max(0, response.resources.length - invalid), invalid);
    }
    if (ignored.length > 0) this.log.debug(`ignored ${ignored.length} invalid ${label} resource(s) nobody watches (version ${response.versionInfo}): ${ignored.join("; ")}`);
    for (const name of deleted) this.log.warn(`${label} ${JSON.stringify(name)} does not exist: the control plane removed it (version ${response.versionInfo})`);
    if (errors.length > 0) {
      const message = nackMessage(errors);
      this.throttle.write(`nack\n${response.typeUrl}\n${message}`, `NACK ${label} version ${response.versionInfo}: ${message}`, (line) => this.log.warn(line));
      this.sendRequest(response.typeUrl, message);
    } else {
      stream.accepted = true;
      this.backoff.reset();
      this.sendRequest(response.typeUrl);
    }
    if (this.outageSince !== undefined) {
      this.log.warn(`reconnected to the control plane at ${this.server} after ${((Date.now() - this.outageSince) / 1000).toFixed(1)} s`);
      this.outageSince = undefined;
    }
    this.scheduleStatus();
  }

  private scheduleRequest(typeUrl: string): void {
    if (this.pendingTypes.size === 0) {
      queueMicrotask(() => {
        const types = [...this.pendingTypes];
        this.pendingTypes.clear();
        for (const t of types) this.sendRequest(t);
      });
    }
    this.pendingTypes.add(typeUrl);
  }

  /** Sends the type's full subscription: an ACK (or, with `nack`, a NACK) of the last response on this stream. */
  private sendRequest(typeUrl: string, nack?: string): void {
    const subscription = this.subscriptions.get(typeUrl);
    const stream = this.stream;
    if (!subscription || !stream) return;
    const names = [...subscription.watches.keys()];
    // An empty first request for LDS/CDS would mean wildcard: send nothing until a name is watched.
    if (names.length === 0 && !subscription.namedOnStream) return;
    if (names.length > 0) subscription.namedOnStream = true;
    const request = create(discovery().DiscoveryRequestSchema, {
      versionInfo: subscription.acceptedVersion,
      responseNonce: subscription.nonce,
      typeUrl,
      resourceNames: names,
      ...(nack === undefined ? {} : { errorDetail: create(status().StatusSchema, { code: invalidArgument, message: nack }) }),
      ...(stream.sendNode ? { node: this.node } : {}),
    });
    stream.sendNode = false;
    for (const watch of subscription.watches.values()) {
      if (!watch.requested) {
        watch.requested = true;
        if (stream.ready) this.startTimer(watch);
      }
    }
    stream.requests.next(request);
  }

  /** Starts the does-not-exist timer of a watch that holds nothing yet (gRFC A57: requested on a ready stream). */
  private startTimer(watch: ResourceWatch<unknown>): void {
    if (watch.timer || !watch.waiting || watch.status.state !== "REQUESTED") return;
    watch.timer = setTimeout(() => {
      watch.timer = undefined;
      if (watch.markAbsent("")) {
        this.log.warn(`${typeLabel(watch.typeUrl)} ${JSON.stringify(watch.name)} does not exist: not sent within ${this.doesNotExistMs} ms of being requested`);
      }
      this.scheduleStatus();
    }, this.doesNotExistMs);
    watch.timer.unref();
  }

  private scheduleStatus(): void {
    if (this.statusScheduled) return;
    this.statusScheduled = true;
    queueMicrotask(() => {
      this.statusScheduled = false;
      if (!this.closed) this.statusSubject.next(this.snapshotStatus());
    });
  }

  private snapshotStatus(): XdsStatus {
    const resources = [];
    for (const subscription of this.subscriptions.values()) {
      for (const watch of subscription.watches.values()) resources.push(watch.status);
    }
    return {
      connection: this.state,
      server: this.server,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
      resources,
    };
  }
}

/** The message name of a type URL, for log lines: `Listener`, `Cluster`, `ClusterLoadAssignment`… */
function typeLabel(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf(".") + 1);
}

function checkPositive(value: number | undefined, name: string): void {
  if (value !== undefined && !(typeof value === "number" && value > 0)) {
    throw new XdsError("INVALID_ARGUMENT", `xDS client: options.${name}: expected a positive number, got ${String(value)}`);
  }
}
