import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Client, connectivityState, Metadata, status, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import type { Observable } from "rxjs";
import { Observable as ObservableClass } from "../rx.js";
import type { DiscoveryRequest, DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { CallCredentialsConfig, ChannelCredentialsConfig } from "../bootstrap/credentials-config.js";
import { AdsCredentials, explainStreamError, type CurrentCredentials } from "./ads-credentials.js";
import { discoveryModule, type AdsEvent, type AdsTransport } from "./ads-transport.js";
import type { BackoffOptions } from "./backoff.js";

const method = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
const serialize = (request: DiscoveryRequest) => Buffer.from(toBinary(discoveryModule().DiscoveryRequestSchema, request));
const deserialize = (bytes: Buffer): DiscoveryResponse => fromBinary(discoveryModule().DiscoveryResponseSchema, bytes);

/** Where and how the gRPC ADS transport connects. */
export interface GrpcAdsTransportOptions {
  /** The server address: `host:port`, or any grpc-js target (`dns:///host:port`, `unix:///path`). */
  readonly uri: string;
  /** How the channel is secured (gRFC A65): plaintext (the default) or TLS from certificate files, re-read as they change. */
  readonly channelCreds?: ChannelCredentialsConfig;
  /** Call credentials (gRFC A97's JWT token file); only with TLS channel credentials. */
  readonly callCreds?: readonly CallCredentialsConfig[];
  /** grpc-js channel credentials to use as they are, instead of `channelCreds` and `callCreds`. */
  readonly credentials?: ChannelCredentials;
  /** The largest response accepted, in bytes; larger ones fail the stream. Default: no limit, as in Envoy. */
  readonly maxResponseBytes?: number;
  /** How reconnection delays grow, for the channel's own connection attempts too (grpc-js's default starts at 1 s). */
  readonly backoff?: BackoffOptions;
}

/**
 * The ADS channel's grpc-js options: keepalive pings as grpc-go's xDS client sends them (every 5 min, 20 s to
 * answer), so that a connection the network dropped silently is noticed and the stream reopened instead of
 * waiting for updates that will never come; the receive limit (`Infinity`: none, grpc-js's -1); and, when given,
 * the client's backoff for the channel's own reconnection attempts, so that one policy paces both.
 */
export function adsChannelOptions(maxResponseBytes: number, backoff?: BackoffOptions): ChannelOptions {
  return {
    "grpc.keepalive_time_ms": 300_000,
    "grpc.keepalive_timeout_ms": 20_000,
    "grpc.max_receive_message_length": Number.isFinite(maxResponseBytes) ? maxResponseBytes : -1,
    ...(backoff?.initialMs === undefined ? {} : { "grpc.initial_reconnect_backoff_ms": backoff.initialMs }),
    ...(backoff?.maxMs === undefined ? {} : { "grpc.max_reconnect_backoff_ms": backoff.maxMs }),
  };
}

/**
 * The ADS transport over grpc-js: one channel, one StreamAggregatedResources call at a time. When the certificate
 * files of its TLS credentials change, the next stream opens a new channel with them.
 */
export class GrpcAdsTransport implements AdsTransport {
  private client: { readonly key: string; readonly client: Client } | undefined;
  private readonly credentials: AdsCredentials | undefined;

  constructor(private readonly options: GrpcAdsTransportOptions) {
    this.credentials = options.credentials === undefined ? new AdsCredentials(options.channelCreds ?? { type: "insecure" }, options.callCreds ?? [], options.uri) : undefined;
  }

  stream(requests: Observable<DiscoveryRequest>): Observable<AdsEvent> {
    return new ObservableClass<AdsEvent>((subscriber) => {
      let client: Client;
      try {
        client = this.currentClient();
      } catch (reason: unknown) {
        subscriber.error(reason);
        return undefined;
      }
      const call = client.makeBidiStreamRequest(method, serialize, deserialize, new Metadata());
      let done = false;
      const finish = () => {
        done = true;
        outgoing.unsubscribe();
      };
      call.on("data", (response: DiscoveryResponse) => subscriber.next({ kind: "response", response }));
      call.on("error", (error) => {
        finish();
        subscriber.error(explainStreamError(error, this.credentials?.caFile));
      });
      call.on("status", (s) => {
        if (s.code === status.OK && !done) {
          finish();
          subscriber.complete();
        }
      });
      const outgoing = requests.subscribe((request) => {
        if (!done) call.write(request);
      });
      whenReady(client, () => done, () => subscriber.next({ kind: "ready" }));
      return () => {
        if (!done) {
          finish();
          call.cancel();
        }
      };
    });
  }

  /** The channel for a stream opened now: the open one, unless the credentials changed since it was made. */
  private currentClient(): Client {
    const current: CurrentCredentials = this.credentials?.current() ?? { key: "given", credentials: this.options.credentials!, options: {} };
    if (this.client?.key !== current.key) {
      this.client?.client.close();
      const { uri, maxResponseBytes = Infinity, backoff } = this.options;
      this.client = { key: current.key, client: new Client(uri, current.credentials, { ...adsChannelOptions(maxResponseBytes, backoff), ...current.options }) };
    }
    return this.client.client;
  }

  close(): void {
    this.client?.client.close();
    this.client = undefined;
  }
}

/** Calls `ready` once the client's channel is READY, unless `gone()` says the stream ended first. */
function whenReady(client: Client, gone: () => boolean, ready: () => void): void {
  const channel = client.getChannel();
  const check = (): void => {
    if (gone()) return;
    const state = channel.getConnectivityState(true);
    if (state === connectivityState.READY) ready();
    else if (state !== connectivityState.SHUTDOWN) channel.watchConnectivityState(state, Infinity, check);
  };
  check();
}
