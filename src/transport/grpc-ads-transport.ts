import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Client, connectivityState, credentials, Metadata, status, type ChannelCredentials } from "@grpc/grpc-js";
import { Observable } from "rxjs";
import {
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { AdsEvent, AdsTransport } from "./ads-transport.js";

const method = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
const serialize = (request: DiscoveryRequest) => Buffer.from(toBinary(DiscoveryRequestSchema, request));
const deserialize = (bytes: Buffer): DiscoveryResponse => fromBinary(DiscoveryResponseSchema, bytes);

/** Where and how the gRPC ADS transport connects. */
export interface GrpcAdsTransportOptions {
  /** The server address, `host:port` (grpc-js target syntax). */
  readonly uri: string;
  /** Channel credentials; insecure by default. */
  readonly credentials?: ChannelCredentials;
}

/** The ADS transport over grpc-js: one channel, one StreamAggregatedResources call at a time. */
export class GrpcAdsTransport implements AdsTransport {
  private client: Client | undefined;

  constructor(private readonly options: GrpcAdsTransportOptions) {}

  stream(requests: Observable<DiscoveryRequest>): Observable<AdsEvent> {
    return new Observable<AdsEvent>((subscriber) => {
      const client = (this.client ??= new Client(this.options.uri, this.options.credentials ?? credentials.createInsecure()));
      const call = client.makeBidiStreamRequest(method, serialize, deserialize, new Metadata());
      let done = false;
      const finish = () => {
        done = true;
        outgoing.unsubscribe();
      };
      call.on("data", (response: DiscoveryResponse) => subscriber.next({ kind: "response", response }));
      call.on("error", (error) => {
        finish();
        subscriber.error(error);
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

  close(): void {
    this.client?.close();
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
