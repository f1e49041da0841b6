import { create, type JsonObject } from "@bufbuild/protobuf";
import { createRequire } from "node:module";
import { BehaviorSubject, defer, EMPTY, merge, Observable, repeat, retry, Subject, timer, type Subscription } from "rxjs";
import { NodeSchema, type Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import type { AdsEvent, AdsTransport } from "../transport/ads-transport.js";
import { Backoff, type BackoffOptions } from "../transport/backoff.js";
import { GrpcAdsTransport } from "../transport/grpc-ads-transport.js";
import { XdsError } from "../xds-error.js";
import type { ResourceType } from "./resource-type.js";
import { rawResourceTypes } from "./resource-types.js";
import type { ResourceUpdate } from "./resource-update.js";
import { ResourceWatch, TypeSubscription } from "./type-subscription.js";
import type { ConnectionState, XdsStatus } from "./xds-status.js";

const { version: rxdsVersion } = createRequire(import.meta.url)("rxds/package.json") as { version: string };
const invalidArgument = 3; // google.rpc.Code.INVALID_ARGUMENT

/** One xDS server to talk to. */
export interface XdsServerOptions {
  /** Its address, `host:port`. */
  readonly uri: string;
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
  /** The control plane; the first server is used. */
  readonly servers: readonly XdsServerOptions[];
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
}

/**
 * The ADS core: one stream to the control plane shared by every watch, with ACK/NACK, reconnect and
 * status. It knows resource types only through their descriptors; XdsClient adds Envoy's semantics.
 */
export class AdsClient {
  /** The connection's state and every watched resource's status; replays the latest. */
  readonly status$: Observable<XdsStatus>;

  private readonly types = new Map<string, ResourceType>();
  private readonly subscriptions = new Map<string, TypeSubscription<unknown>>();
  private readonly observables = new Map<string, Observable<ResourceUpdate<unknown>>>();
  private readonly statusSubject: BehaviorSubject<XdsStatus>;
  private readonly transport: AdsTransport;
  private readonly backoff: Backoff;
  private readonly node: Node;
  private readonly server: string;
  private readonly doesNotExistMs: number;
  private readonly ignoreDeletion: boolean;
  private connection: Subscription | undefined;
  private outgoing: Subject<DiscoveryRequest> | undefined;
  private ready = false;
  private firstOnStream = true;
  private state: ConnectionState = "idle";
  private lastError: string | undefined;
  private closed = false;
  private statusScheduled = false;
  private readonly pendingTypes = new Set<string>();

  /** `types` are the built-in resource types; `options.resourceTypes` add to or replace them by type URL. */
  constructor(options: XdsClientOptions, types: readonly ResourceType[] = rawResourceTypes) {
    const server = options.servers[0];
    if (!server?.uri) throw new XdsError("INVALID_ARGUMENT", "xDS client: options.servers must name at least one server uri");
    if (!options.node?.id) throw new XdsError("INVALID_ARGUMENT", "xDS client: options.node.id is required");
    this.server = server.uri;
    this.transport = new GrpcAdsTransport({ uri: server.uri });
    this.backoff = new Backoff(options.backoff);
    this.doesNotExistMs = options.doesNotExistTimeoutMs ?? 15000;
    this.ignoreDeletion = options.ignoreResourceDeletion ?? false;
    for (const type of [...types, ...(options.resourceTypes ?? [])]) {
      this.types.set(type.typeUrl, type as ResourceType);
    }
    this.node = create(NodeSchema, {
      id: options.node.id,
      cluster: options.node.cluster ?? "",
      ...(options.node.metadata ? { metadata: options.node.metadata } : {}),
      ...(options.node.locality ? { locality: options.node.locality } : {}),
      userAgentName: "rxds",
      userAgentVersionType: { case: "userAgentVersion", value: rxdsVersion },
      clientFeatures: ["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"],
    });
    this.statusSubject = new BehaviorSubject<XdsStatus>(this.snapshotStatus());
    this.status$ = this.statusSubject.asObservable();
  }

  /**
   * Watches one resource of any type: the first subscriber requests it, the last unsubscribe drops it,
   * a late subscriber gets the latest value at once. Only `close()` completes it; absence is a value.
   */
  watch<V>(type: ResourceType<V>, name: string): Observable<ResourceUpdate<V>>;
  watch(typeUrl: string, name: string): Observable<ResourceUpdate<unknown>>;
  watch(type: ResourceType | string, name: string): Observable<ResourceUpdate<unknown>> {
    const typeUrl = this.register(type);
    const key = `${typeUrl}\n${name}`;
    let observable = this.observables.get(key);
    if (!observable) {
      observable = new Observable<ResourceUpdate<unknown>>((subscriber) => {
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
    subscription.watches.delete(watch.name);
    // Forget the observable too, so that names watched once and dropped do not accumulate.
    this.observables.delete(`${typeUrl}\n${watch.name}`);
    this.scheduleStatus();
    if ([...this.subscriptions.values()].every((s) => s.watches.size === 0)) {
      this.disconnect();
      this.subscriptions.clear();
      this.state = "idle";
      this.lastError = undefined;
      return;
    }
    this.scheduleRequest(typeUrl);
  }

  private connect(): void {
    this.state = "connecting";
    this.connection = defer(() => {
      const requests = new Subject<DiscoveryRequest>();
      return merge(
        this.transport.stream(requests),
        defer(() => {
          this.startStream(requests);
          return EMPTY;
        }),
      );
    })
      .pipe(
        repeat({ delay: () => this.streamEnded(undefined) }),
        retry({ delay: (error: unknown) => this.streamEnded(error) }),
      )
      .subscribe((event) => this.onEvent(event));
  }

  private disconnect(): void {
    this.connection?.unsubscribe();
    this.connection = undefined;
    this.outgoing = undefined;
    this.ready = false;
    for (const subscription of this.subscriptions.values()) subscription.resetStream();
    this.transport.close();
    this.backoff.reset();
  }

  private startStream(requests: Subject<DiscoveryRequest>): void {
    this.outgoing = requests;
    this.firstOnStream = true;
    this.ready = false;
    this.state = this.state === "reconnecting" ? "reconnecting" : "connecting";
    for (const [typeUrl, subscription] of this.subscriptions) {
      subscription.resetStream();
      this.scheduleRequest(typeUrl);
    }
    this.scheduleStatus();
  }

  private streamEnded(error: unknown): Observable<number> {
    this.outgoing = undefined;
    this.ready = false;
    for (const subscription of this.subscriptions.values()) subscription.resetStream();
    this.state = "reconnecting";
    this.lastError = error === undefined ? "the server ended the stream" : error instanceof Error ? error.message : String(error);
    this.scheduleStatus();
    return timer(this.backoff.next());
  }

  private onEvent(event: AdsEvent): void {
    if (event.kind === "ready") {
      this.ready = true;
      this.state = "ready";
      this.lastError = undefined;
      for (const subscription of this.subscriptions.values()) {
        for (const watch of subscription.watches.values()) if (watch.requested) this.startTimer(watch);
      }
      this.scheduleStatus();
      return;
    }
    this.backoff.reset();
    this.onResponse(event.response);
  }

  private onResponse(response: DiscoveryResponse): void {
    const subscription = this.subscriptions.get(response.typeUrl);
    if (!subscription) return;
    const { errors } = subscription.apply(response, this.ignoreDeletion);
    this.sendRequest(response.typeUrl, errors.length > 0 ? errors.join("; ") : undefined);
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
    const outgoing = this.outgoing;
    if (!subscription || !outgoing) return;
    const names = [...subscription.watches.keys()];
    // An empty first request for LDS/CDS would mean wildcard: send nothing until a name is watched.
    if (names.length === 0 && !subscription.namedOnStream) return;
    if (names.length > 0) subscription.namedOnStream = true;
    const request = create(DiscoveryRequestSchema, {
      versionInfo: subscription.acceptedVersion,
      responseNonce: subscription.nonce,
      typeUrl,
      resourceNames: names,
      ...(nack === undefined ? {} : { errorDetail: create(StatusSchema, { code: invalidArgument, message: nack }) }),
      ...(this.firstOnStream ? { node: this.node } : {}),
    });
    this.firstOnStream = false;
    for (const watch of subscription.watches.values()) {
      if (!watch.requested) {
        watch.requested = true;
        if (this.ready) this.startTimer(watch);
      }
    }
    outgoing.next(request);
  }

  private startTimer(watch: ResourceWatch<unknown>): void {
    if (watch.timer || watch.latest !== undefined || watch.status.state !== "REQUESTED") return;
    watch.timer = setTimeout(() => {
      watch.timer = undefined;
      watch.markAbsent("");
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
