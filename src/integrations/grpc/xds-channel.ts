// A grpc-js Channel that routes every call with xDS. Generated clients take it through the public
// ClientOptions `channelOverride` / `channelFactoryOverride`; grpc-js then hands it each call's
// method path and deadline (createCall) and, when the call starts, its metadata (Call.start), which
// is where RoutedCall routes it. Interceptors, call credentials and all four call types work as
// they do on a plain channel, since the client above is grpc-js's own.
//
// Each endpoint gets a real grpc-js Channel to `address:port` from the CallRouter's pool, with its
// own subchannel pool so that closing it closes its connection. That Channel comes from the copy of
// grpc-js that made the client's credentials (grpcJsOf), which need not be rxds's own.

import * as own from "@grpc/grpc-js";
import { connectivityState, type ChannelCredentials, type ChannelInterface, type ChannelOptions } from "@grpc/grpc-js";
import { take } from "../../rx.js";
import type { XdsClient } from "../../xds-client.js";
import { CallRouter } from "../call-router.js";
import { defaultGrpcMetaExtractor, type GrpcMetaExtractor } from "./grpc-meta-extractor.js";
import { grpcJsOf } from "./grpc-js-copy.js";
import { deadlineMs, RoutedCall, type RoutedCallScope } from "./routed-call.js";

type ChannelRef = ReturnType<ChannelInterface["getChannelzRef"]>;

/** Options of an XdsChannel. */
export interface XdsChannelOptions {
  /**
   * Returns the metadata the call's header matchers see; replaces the default, which is the call's
   * metadata merged with `metainfo.all()` (the call's own values win). Like kitex's WithRouterMetaExtractor.
   */
  readonly metaExtractor?: GrpcMetaExtractor;
  /** grpc-js channel options for each per-endpoint channel (keepalive, message sizes…); default none. */
  readonly channelOptions?: ChannelOptions;
  /**
   * Whether `metainfo` values travel to the backend as call metadata (those the call's own metadata lacks), as Kitex's
   * persistent metainfo does; default true. With false, they only steer routing.
   */
  readonly propagateMetainfo?: boolean;
}

/** ClientOptions keys that configure the client, not a channel; not passed to endpoint channels. */
const CLIENT_ONLY_KEYS = ["channelOverride", "channelFactoryOverride", "interceptors", "interceptor_providers", "callInvocationTransformer"];

let nextCallNumber = 1;

/** A grpc-js Channel to an xDS target: each call is routed by path and metadata to an endpoint's pooled channel. */
export class XdsChannel implements ChannelInterface {
  /** The target as dialled (an `xds:///` prefix removed). */
  readonly target: string;
  private readonly router: CallRouter<ChannelInterface>;
  private readonly scope: RoutedCallScope;
  private readonly stateWatchers = new Set<() => void>();

  /** `credentials`: ChannelCredentials of any loaded copy of @grpc/grpc-js; if none made them, every call fails with FAILED_PRECONDITION. */
  constructor(xds: XdsClient, target: string, credentials: object, options: XdsChannelOptions = {}) {
    this.target = target.startsWith("xds:///") ? target.slice("xds:///".length) : target;
    const channelOptions: ChannelOptions = { ...options.channelOptions };
    for (const key of CLIENT_ONLY_KEYS) delete channelOptions[key];
    // A private subchannel pool: closing the endpoint's channel then closes its connection at once.
    channelOptions["grpc.use_local_subchannel_pool"] = 1;
    const found = grpcJsOf(credentials);
    // Without the credentials' own copy, calls fail before any channel is opened (see RoutedCall).
    const grpc = typeof found === "string" ? own : found;
    this.router = new CallRouter<ChannelInterface>(xds, this.target, {
      // A TLS cluster's endpoints get the mesh's certificates whatever the caller's credentials (as grpc-js-xds's
      // XdsCredentials over insecure ones: "let the mesh decide"); the others get the caller's credentials.
      open: (authority, _endpoint, tls) => {
        if (tls === undefined) return new grpc.Channel(authority, credentials as ChannelCredentials, channelOptions);
        const mesh = grpc.credentials.createSsl(tls.ca, tls.privateKey ?? null, tls.certificate ?? null, { checkServerIdentity: tls.checkServerIdentity });
        const options = tls.servername === undefined ? channelOptions : { ...channelOptions, "grpc.ssl_target_name_override": tls.servername };
        return new grpc.Channel(authority, mesh, options);
      },
      close: (channel) => channel.close(),
    });
    this.scope = {
      router: this.router,
      target: this.target,
      metaExtractor: options.metaExtractor ?? defaultGrpcMetaExtractor,
      propagateMetainfo: options.propagateMetainfo ?? true,
      grpc,
      unusable: typeof found === "string" ? found : undefined,
    };
    // Connectivity follows the router: CONNECTING until the first snapshot, READY, SHUTDOWN when closed.
    this.router.routers.pipe(take(1)).subscribe({ next: () => this.notifyState(), complete: () => this.notifyState() });
  }

  createCall(
    method: string,
    deadline: Parameters<ChannelInterface["createCall"]>[1],
    host: string | null | undefined,
    parentCall: Parameters<ChannelInterface["createCall"]>[3],
    propagateFlags: number | null | undefined,
  ): ReturnType<ChannelInterface["createCall"]> {
    if (this.router.isClosed) throw new Error(`the xDS channel to ${JSON.stringify(this.target)} has been closed`);
    return new RoutedCall(this.scope, { method, deadline, host, parentCall, propagateFlags }, nextCallNumber++);
  }

  /** The authorities (`address:port`) of the endpoints this channel holds an open connection to. */
  openEndpoints(): string[] {
    return this.router.openEndpoints();
  }

  getTarget(): string {
    return `xds:///${this.target}`;
  }

  getConnectivityState(_tryToConnect: boolean): connectivityState {
    if (this.router.isClosed) return connectivityState.SHUTDOWN;
    return this.router.ready ? connectivityState.READY : connectivityState.CONNECTING;
  }

  watchConnectivityState(currentState: connectivityState, deadline: Date | number, callback: (error?: Error) => void): void {
    if (this.getConnectivityState(false) !== currentState) {
      setImmediate(callback);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const watcher = (): void => {
      clearTimeout(timer);
      this.stateWatchers.delete(watcher);
      callback();
    };
    const delay = deadlineMs(deadline) - Date.now();
    if (delay <= 2 ** 31 - 1) {
      timer = setTimeout(() => {
        this.stateWatchers.delete(watcher);
        callback(new Error("deadline passed without a connectivity state change"));
      }, Math.max(0, delay));
    }
    this.stateWatchers.add(watcher);
  }

  getChannelzRef(): ReturnType<ChannelInterface["getChannelzRef"]> {
    // The per-endpoint channels are registered with channelz; this routing layer is not.
    return { kind: "channel", id: -1, name: this.getTarget() } as unknown as ChannelRef;
  }

  /** Closes every endpoint channel and stops watching the target; calls waiting for a snapshot fail with UNAVAILABLE. */
  close(): void {
    this.router.close();
    this.notifyState();
  }

  private notifyState(): void {
    for (const watcher of [...this.stateWatchers]) watcher();
  }
}

