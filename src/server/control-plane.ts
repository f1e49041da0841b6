import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { Server, ServerCredentials, status, type ServerDuplexStream, type ServiceDefinition } from "@grpc/grpc-js";
import type { Observable, Subject } from "rxjs";
import { Observable as ObservableClass, Subject as SubjectClass } from "../rx.js";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import {
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { XdsError } from "../xds-error.js";

/** Types whose SotW responses list every resource, and whose empty first request means wildcard (LDS, CDS). */
const wildcardTypes = new Set([
  "type.googleapis.com/envoy.config.listener.v3.Listener",
  "type.googleapis.com/envoy.config.cluster.v3.Cluster",
]);

/** One request the control plane received, with the stream it came on. */
export interface ReceivedRequest {
  /** The stream's number, counting from 1 since the control plane was created. */
  readonly stream: number;
  /** The request as received. */
  readonly request: DiscoveryRequest;
  /** The client's address as grpc-js reports it, e.g. `ipv4:127.0.0.1:53422`. */
  readonly peer: string;
  /** The view (named resource set) the stream is served; chosen from the Node of its first request. */
  readonly view: string;
  /** The stream's request headers (first value of each), e.g. `authorization`, `clusterid`. */
  readonly headers: Readonly<Record<string, string>>;
}

/** What `authenticate` is shown of a new stream. */
export interface StreamCredentials {
  /** The bearer token of its `authorization` header, if it has one. */
  readonly token: string | undefined;
  /** Its request headers (first value of each). */
  readonly headers: Readonly<Record<string, string>>;
}

/** The view a stream is served when no `view` option chooses another. */
export const defaultView = "";

/** How the control plane behaves. */
export interface ControlPlaneOptions {
  /** How many received requests `requests$` replays to a new subscriber. Default 1000. */
  readonly requestHistory?: number;
  /**
   * Type URLs answered with every resource of the type, whatever names a stream asked for, as istiod
   * answers an Envoy sidecar's LDS and CDS (e.g. `[LDS, CDS]`). A stream that asked for any name of
   * such a type gets the whole set in every response, and every change of the type. Default: none;
   * each type is answered with the names asked for (or everything, for an LDS/CDS wildcard request).
   * A function chooses them per view (e.g. only for a sidecar view).
   */
  readonly wholeSetTypes?: readonly string[] | ((view: string) => readonly string[]);
  /**
   * Chooses the view (named resource set) a stream is served, from the Node of the stream's first
   * request (undefined when it carries none). Called once per stream, before its first response.
   * Default: every stream is served the default view "".
   */
  readonly view?: (node: Node | undefined) => string;
  /**
   * Checks each new stream's credentials, as istiod checks the bearer token on its TLS port: returns why the stream
   * is refused (it ends with UNAUTHENTICATED and that reason), or undefined to serve it. Default: every stream is served.
   */
  readonly authenticate?: (credentials: StreamCredentials) => string | undefined;
  /**
   * Decides whether a resource may be sent: called with each resource a response would carry (its view, type URL
   * and name), before the response is written; a resource it refuses is left out, as if the view did not hold it.
   * Called for every response, so it should remember its answers. Default: every resource is sent.
   */
  readonly admit?: (view: string, typeUrl: string, name: string, resource: Any) => boolean;
}

/** TLS for the control plane's port (PEM text or bytes). */
export interface ListenTlsOptions {
  /** The server's certificate chain. */
  readonly certificate: string | Buffer;
  /** Its private key. */
  readonly privateKey: string | Buffer;
  /** CA certificates that clients' certificates must be signed by; when set, clients must present one (mutual TLS). */
  readonly clientCa?: string | Buffer;
}

/** Where the control plane listens. */
export interface ListenOptions {
  /** The address to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** The port; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** A Unix socket path to listen on instead of host and port (as istio-agent's `/etc/istio/proxy/XDS`). */
  readonly path?: string;
  /** Serve TLS instead of plaintext. */
  readonly tls?: ListenTlsOptions;
}

interface TypeState {
  version: number;
  readonly resources: Map<string, Any>;
}

interface StreamSubscription {
  names: Set<string>;
  wildcard: boolean;
  everNamed: boolean;
  nonce: string;
}

interface OpenStream {
  readonly id: number;
  readonly call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  readonly subscriptions: Map<string, StreamSubscription>;
  /** Chosen at the first request. */
  view: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * An ADS server (SotW) holding resources of any type: set, update and remove them, and every
 * subscribed stream gets the change; every request received is observable.
 */
export class ControlPlane {
  /**
   * Every request received. A subscriber first gets the latest `requestHistory` requests (kept across
   * restarts), then each new one while the plane listens; `close()` completes it. A subscriber while
   * the plane is not listening (before `listen()`, after `close()`) gets the history and completes.
   */
  readonly requests$: Observable<ReceivedRequest>;

  /** View name → type URL → resources. */
  private readonly views = new Map<string, Map<string, TypeState>>();
  private readonly chooseView: (node: Node | undefined) => string;
  private readonly authenticate: ((credentials: StreamCredentials) => string | undefined) | undefined;
  private readonly admit: ((view: string, typeUrl: string, name: string, resource: Any) => boolean) | undefined;
  private readonly streams = new Set<OpenStream>();
  private readonly wholeSetTypes: (view: string) => ReadonlySet<string>;
  /** The latest `historySize` requests, oldest first. */
  private readonly history: ReceivedRequest[] = [];
  private readonly historySize: number;
  /** The requests of the current listen() until close(): created by one, completed by the other. */
  private live: Subject<ReceivedRequest> | undefined;
  private server: Server | undefined;
  private boundAddress: string | undefined;
  private streamCount = 0;
  private nonceCount = 0;

  constructor(options: ControlPlaneOptions = {}) {
    this.historySize = options.requestHistory ?? 1000;
    this.requests$ = new ObservableClass((subscriber) => {
      for (const received of this.history) {
        if (subscriber.closed) return undefined;
        subscriber.next(received);
      }
      if (this.live) return this.live.subscribe(subscriber);
      subscriber.complete();
      return undefined;
    });
    this.chooseView = options.view ?? (() => defaultView);
    this.authenticate = options.authenticate;
    this.admit = options.admit;
    const whole = options.wholeSetTypes;
    const fixed = new Set(typeof whole === "function" ? [] : whole);
    const byView = new Map<string, ReadonlySet<string>>();
    this.wholeSetTypes =
      typeof whole === "function"
        ? (view) => byView.get(view) ?? byView.set(view, new Set(whole(view))).get(view)!
        : () => fixed;
  }

  /** The `host:port` it listens on, while it listens. */
  get address(): string | undefined {
    return this.boundAddress;
  }

  /** How many ADS streams are open. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Starts serving; resolves with the `host:port` it listens on (`unix://<path>` for a socket). */
  async listen(options: ListenOptions = {}): Promise<string> {
    if (this.server) throw new XdsError("INVALID_ARGUMENT", `control plane: already listening on ${this.boundAddress}`);
    const host = options.host ?? "127.0.0.1";
    const server = new Server();
    server.addService(adsService, { StreamAggregatedResources: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => this.serve(call) });
    const bindHost = host.includes(":") ? `[${host}]` : host;
    const address = options.path === undefined ? `${bindHost}:${options.port ?? 0}` : `unix://${options.path}`;
    const tls = options.tls;
    const credentials =
      tls === undefined
        ? ServerCredentials.createInsecure()
        : ServerCredentials.createSsl(
            tls.clientCa === undefined ? null : Buffer.from(tls.clientCa),
            [{ cert_chain: Buffer.from(tls.certificate), private_key: Buffer.from(tls.privateKey) }],
            tls.clientCa !== undefined,
          );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
    ).catch((error: unknown) => {
      server.forceShutdown();
      throw new XdsError("INVALID_ARGUMENT", `control plane: cannot listen on ${address}: ${(error as Error).message}`, { cause: error });
    });
    this.server = server;
    this.boundAddress = options.path === undefined ? `${bindHost}:${port}` : address;
    this.live = new SubjectClass();
    return this.boundAddress;
  }

  /**
   * Stops listening, ends every open stream and completes `requests$` for its subscribers; resources
   * and the request history are kept, so `listen()` may serve them again.
   */
  async close(): Promise<void> {
    const server = this.server;
    const live = this.live;
    this.server = undefined;
    this.boundAddress = undefined;
    this.live = undefined;
    for (const stream of this.streams) stream.call.end();
    this.streams.clear();
    server?.forceShutdown();
    live?.complete();
  }

  /** The resources of one type in one view (default: the default view), by name. */
  resources(typeUrl: string, view: string = defaultView): ReadonlyMap<string, Any> {
    return this.views.get(view)?.get(typeUrl)?.resources ?? new Map();
  }

  /** Adds or replaces resources of one type in one view (one new version); its subscribed streams get the change. */
  set(typeUrl: string, resources: Readonly<Record<string, Any>> | ReadonlyMap<string, Any>, view: string = defaultView): void {
    const entries = resources instanceof Map ? [...resources] : Object.entries(resources);
    const state = this.typeState(view, typeUrl);
    for (const [name, any] of entries) state.resources.set(name, any);
    this.publish(view, typeUrl, entries.map(([name]) => name));
  }

  /** Removes resources of one type from one view (one new version); its subscribed streams get the change. */
  remove(typeUrl: string, names: readonly string[], view: string = defaultView): void {
    const state = this.typeState(view, typeUrl);
    const removed = names.filter((name) => state.resources.delete(name));
    if (removed.length > 0) this.publish(view, typeUrl, removed);
  }

  /**
   * Makes `resources` the whole set of its type in one view: adds, replaces and removes so that only
   * these remain. Resources whose bytes are unchanged are left alone; nothing is published when
   * nothing changed.
   */
  replace(typeUrl: string, resources: ReadonlyMap<string, Any>, view: string = defaultView): void {
    const state = this.typeState(view, typeUrl);
    const changed: string[] = [];
    for (const name of state.resources.keys()) {
      if (!resources.has(name)) {
        state.resources.delete(name);
        changed.push(name);
      }
    }
    for (const [name, any] of resources) {
      const old = state.resources.get(name);
      if (old && old.typeUrl === any.typeUrl && Buffer.from(old.value).equals(any.value)) continue;
      state.resources.set(name, any);
      changed.push(name);
    }
    if (changed.length > 0) this.publish(view, typeUrl, changed);
  }

  private typeState(view: string, typeUrl: string): TypeState {
    let types = this.views.get(view);
    if (!types) {
      types = new Map();
      this.views.set(view, types);
    }
    let state = types.get(typeUrl);
    if (!state) {
      state = { version: 0, resources: new Map() };
      types.set(typeUrl, state);
    }
    return state;
  }

  private publish(view: string, typeUrl: string, changed: readonly string[]): void {
    this.typeState(view, typeUrl).version++;
    for (const stream of this.streams) {
      if (stream.view !== view) continue;
      const subscription = stream.subscriptions.get(typeUrl);
      if (subscription && (this.answersAll(view, typeUrl, subscription) || changed.some((name) => subscription.names.has(name)))) this.respond(stream, typeUrl, subscription);
    }
  }

  private serve(call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>): void {
    const headers = headersOf(call);
    const refusal = this.authenticate?.({ token: bearerToken(headers["authorization"]), headers });
    if (refusal !== undefined) {
      call.emit("error", { code: status.UNAUTHENTICATED, details: refusal });
      return;
    }
    const stream: OpenStream = { id: ++this.streamCount, call, subscriptions: new Map(), view: undefined, headers };
    this.streams.add(stream);
    const forget = () => this.streams.delete(stream);
    call.on("data", (request: DiscoveryRequest) => this.onRequest(stream, request));
    call.on("end", () => {
      forget();
      call.end();
    });
    call.on("error", forget);
    call.on("cancelled", forget);
  }

  private onRequest(stream: OpenStream, request: DiscoveryRequest): void {
    stream.view ??= this.chooseView(request.node);
    this.record({ stream: stream.id, request, peer: stream.call.getPeer(), view: stream.view, headers: stream.headers });
    const typeUrl = request.typeUrl;
    let subscription = stream.subscriptions.get(typeUrl);
    const first = !subscription;
    subscription ??= { names: new Set(), wildcard: false, everNamed: false, nonce: "" };
    stream.subscriptions.set(typeUrl, subscription);
    const names = new Set(request.resourceNames);
    const wildcard = names.has("*") || (names.size === 0 && !subscription.everNamed && wildcardTypes.has(typeUrl));
    names.delete("*");
    // Only a wider subscription needs an answer: what was dropped the client simply stops watching.
    const old = subscription.names;
    const grew = (wildcard && !subscription.wildcard) || [...names].some((name) => !old.has(name));
    subscription.names = names;
    subscription.wildcard = wildcard;
    if (names.size > 0) subscription.everNamed = true;
    if (first || grew) this.respond(stream, typeUrl, subscription);
  }

  private record(received: ReceivedRequest): void {
    this.history.push(received);
    if (this.history.length > this.historySize) this.history.shift();
    this.live?.next(received);
  }

  /** Whether the stream's responses of this type carry every resource: a wildcard subscription, or a whole-set type asked for by name. */
  private answersAll(view: string, typeUrl: string, subscription: StreamSubscription): boolean {
    return subscription.wildcard || (this.wholeSetTypes(view).has(typeUrl) && subscription.names.size > 0);
  }

  private respond(stream: OpenStream, typeUrl: string, subscription: StreamSubscription): void {
    const view = stream.view ?? defaultView;
    const state = this.typeState(view, typeUrl);
    const resources: Any[] = [];
    const admit = this.admit;
    if (this.answersAll(view, typeUrl, subscription)) {
      for (const [name, any] of state.resources) if (admit === undefined || admit(view, typeUrl, name, any)) resources.push(any);
    } else {
      for (const name of subscription.names) {
        const any = state.resources.get(name);
        if (any && (admit === undefined || admit(view, typeUrl, name, any))) resources.push(any);
      }
    }
    // Only LDS and CDS responses (and whole-set types) say "absent" by omission; for other types an empty response says nothing.
    if (resources.length === 0 && !wildcardTypes.has(typeUrl) && !this.wholeSetTypes(view).has(typeUrl)) return;
    subscription.nonce = String(++this.nonceCount);
    stream.call.write(create(DiscoveryResponseSchema, { versionInfo: String(state.version), resources, typeUrl, nonce: subscription.nonce }));
  }
}

/** The first value of each request header of a call (text headers only). */
function headersOf(call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(call.metadata.getMap())) {
    if (typeof value === "string") headers[key] = value;
  }
  return headers;
}

/** The token of an `authorization: Bearer <token>` header. */
function bearerToken(authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : /^Bearer (.+)$/.exec(authorization);
  return match === null ? undefined : match[1];
}

const adsService: ServiceDefinition = {
  StreamAggregatedResources: {
    path: "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
    requestStream: true,
    responseStream: true,
    requestSerialize: (request: DiscoveryRequest) => Buffer.from(toBinary(DiscoveryRequestSchema, request)),
    requestDeserialize: (bytes: Buffer) => fromBinary(DiscoveryRequestSchema, bytes),
    responseSerialize: (response: DiscoveryResponse) => Buffer.from(toBinary(DiscoveryResponseSchema, response)),
    responseDeserialize: (bytes: Buffer) => fromBinary(DiscoveryResponseSchema, bytes),
  },
};
