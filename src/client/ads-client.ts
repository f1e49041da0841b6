import { createRequire } from "node:module";
import type { BehaviorSubject, Observable, Subject, Subscription } from "rxjs";
import { BehaviorSubject as BehaviorSubjectClass, defer, Observable as ObservableClass, repeat, retry, Subject as SubjectClass, timer } from "../rx.js";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { DiscoveryRequest, DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { AdsEvent } from "../transport/ads-transport.js";
import { Backoff } from "../transport/backoff.js";
import { GrpcAdsTransport } from "../transport/grpc-ads-transport.js";
import { defaultLogger, LogThrottle, type Logger } from "../logger.js";
import { XdsError } from "../xds-error.js";
import { MAX_REASON_BYTES, nackMessage, truncateUtf8 } from "./error-detail.js";
import { metricsMeter, type MetricsMeter } from "./metrics-meter.js";
import type { ResourceType } from "./resource-type.js";
import { rawResourceTypes } from "./resource-types.js";
import type { ResourceUpdate } from "./resource-update.js";
import { ServerFallback } from "./server-fallback.js";
import type { ResourceWatch } from "./type-subscription.js";
import { WatchedResources } from "./watched-resources.js";
import { checkClientOptions, nodeOf, type XdsClientOptions } from "./xds-client-options.js";
import { XdsClientMetrics } from "./xds-client-metrics.js";
import type { ConnectionState, XdsDump, XdsStatus } from "./xds-status.js";

const { version: rxdsVersion } = createRequire(import.meta.url)("rxds/package.json") as { version: string };

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

  private readonly watched: WatchedResources;
  private readonly observables = new Map<string, Observable<ResourceUpdate<unknown>>>();
  private readonly statusSubject: BehaviorSubject<XdsStatus>;
  private readonly servers: ServerFallback;
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
    checkClientOptions(options);
    const maxResponseBytes = options.maxResponseBytes;
    this.servers = new ServerFallback([...options.servers], {
      transport:
        options.transport ??
        ((server) =>
          new GrpcAdsTransport({
            ...server,
            ...(maxResponseBytes === undefined ? {} : { maxResponseBytes }),
            ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
          })),
      backoff: options.backoff,
      probeRequests: () => this.watched.requests(this.node),
      primaryAnswered: () => this.returnToPrimary(),
    });
    this.backoff = new Backoff(options.backoff);
    this.doesNotExistMs = options.doesNotExistTimeoutMs ?? 15000;
    this.ignoreDeletionOption = options.ignoreResourceDeletion ?? false;
    this.log = options.logger ?? defaultLogger();
    this.watched = new WatchedResources([...types, ...(options.resourceTypes ?? [])] as readonly ResourceType[]);
    this.node = nodeOf(options.node, rxdsVersion);
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
    const typeUrl = this.watched.register(type);
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
    return { node: this.node, resources: this.watched.dump() };
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
    this.watched.complete();
    this.observables.clear();
    this.state = "closed";
    this.metrics?.close();
    this.statusSubject.next(this.snapshotStatus());
    this.statusSubject.complete();
  }

  private acquire(typeUrl: string, name: string): ResourceWatch<unknown> {
    let watch = this.watched.get(typeUrl, name);
    if (!watch) {
      watch = this.watched.add(typeUrl, name);
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
    if (!this.watched.remove(watch)) return;
    // Forget the observable too, so that names watched once and dropped do not accumulate.
    this.observables.delete(`${typeUrl}\n${watch.name}`);
    this.scheduleStatus();
    if (this.watched.isEmpty) {
      this.disconnect();
      this.watched.clear();
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
    for (const [typeUrl, subscription] of this.watched.subscriptions) {
      subscription.resetStream();
      this.scheduleRequest(typeUrl);
    }
    this.scheduleStatus();
    this.metrics?.streamCreated(this.servers.uri);
    return this.servers.stream(requests);
  }

  private disconnect(): void {
    this.connection?.unsubscribe();
    this.connection = undefined;
    this.stream = undefined;
    this.servers.reset();
    this.watched.resetStreams();
    this.backoff.reset();
  }

  /** Handles the end of a stream (`error` undefined when the server ended it with OK); returns the delay before the next one. */
  private streamEnded(error: unknown): Observable<number> {
    const ended = this.stream;
    this.stream = undefined;
    this.watched.resetStreams();
    const reason = error === undefined ? "the server ended the stream" : error instanceof Error ? error.message : String(error);
    this.state = "reconnecting";
    this.lastError = reason;
    let delay: number;
    if (ended?.responded) {
      // A stream that worked ends for ordinary reasons (istiod closes every stream after 30 minutes): reopen it at once.
      delay = ended.accepted ? 0 : Math.round(this.backoff.next());
      this.log.info(`the control plane at ${this.servers.uri} ended the stream (${reason}); reopening it${delay === 0 ? "" : ` in ${delay} ms`}`);
    } else if (this.servers.hasNext && this.watched.hasUncached()) {
      this.metrics?.serverFailed(this.servers.uri);
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
    this.metrics?.serverFailed(this.servers.uri);
    const error = new XdsError("CONTROL_PLANE_UNAVAILABLE", `xDS server ${this.servers.uri} is unavailable: ${truncateUtf8(reason, MAX_REASON_BYTES)}`);
    const told = this.watched.failWaiting(error);
    const waiting = told === 0 ? "" : `; ${told} watched resource${told === 1 ? "" : "s"} with nothing received yet fail until it is back`;
    this.throttle.write(`unreachable\n${reason}`, `cannot reach the control plane at ${this.servers.uri}: ${reason}; retrying in ${delay} ms${waiting}`, (line) =>
      this.log.warn(line),
    );
  }

  /**
   * gRFC A71: the active server cannot be reached and a watched resource has nothing yet, so the next stream opens on
   * the next server at once, and the primary is tried in the background until it answers.
   */
  private fallBack(reason: string): void {
    const from = this.servers.uri;
    this.servers.next();
    this.watched.forgetVersions();
    this.log.warn(`cannot reach the control plane at ${from}: ${reason}; falling back to ${this.servers.uri} for the resources not received yet`);
    this.servers.probePrimary();
  }

  /** The primary answered the probe: the fallback's stream ends and one opens on the primary, with what subscribers hold kept. */
  private returnToPrimary(): void {
    this.log.warn(`the control plane at ${this.servers.primaryUri} answers again; leaving the fallback ${this.servers.uri} for it`);
    this.connection?.unsubscribe();
    this.connection = undefined;
    this.stream = undefined;
    this.servers.backToPrimary();
    this.watched.resetStreams();
    this.watched.forgetVersions();
    this.backoff.reset();
    this.connect();
  }

  /** Whether SotW omission keeps resources: the option, or the active server's `ignore_resource_deletion` feature (gRFC A53). */
  private get ignoreDeletion(): boolean {
    return this.ignoreDeletionOption || this.servers.ignoresResourceDeletion;
  }

  private onEvent(event: AdsEvent): void {
    const stream = this.stream;
    if (stream === undefined) return;
    if (event.kind === "ready") {
      stream.ready = true;
      this.state = "ready";
      this.lastError = undefined;
      for (const watch of this.watched.all()) if (watch.requested) this.startTimer(watch);
      this.scheduleStatus();
      return;
    }
    stream.responded = true;
    this.onResponse(stream, event.response);
  }

  private onResponse(stream: StreamRecord, response: DiscoveryResponse): void {
    const subscription = this.watched.subscriptions.get(response.typeUrl);
    if (!subscription) return;
    const label = typeLabel(response.typeUrl);
    const { errors, ignored, deleted } = subscription.apply(response, this.ignoreDeletion);
    if (this.metrics !== undefined) {
      const invalid = errors.length + ignored.length;
      this.metrics.responded(this.servers.uri, response.typeUrl, Math.max(0, response.resources.length - invalid), invalid);
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
      this.log.warn(`reconnected to the control plane at ${this.servers.uri} after ${((Date.now() - this.outageSince) / 1000).toFixed(1)} s`);
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
    const subscription = this.watched.subscriptions.get(typeUrl);
    const stream = this.stream;
    if (!subscription || !stream) return;
    const request = subscription.request(nack, stream.sendNode ? this.node : undefined);
    if (request === undefined) return;
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
    return {
      connection: this.state,
      server: this.servers.uri,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
      resources: this.watched.statuses(),
    };
  }
}

/** The message name of a type URL, for log lines: `Listener`, `Cluster`, `ClusterLoadAssignment`… */
function typeLabel(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf(".") + 1);
}
