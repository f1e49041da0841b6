// The one-call way to make a generated grpc-js client a mesh client: ClientOptions whose
// channelFactoryOverride builds an XdsChannel for the address and credentials the client was given.

import type { ChannelOptions } from "@grpc/grpc-js";
import type { XdsClient } from "../../xds-client.js";
import { XdsChannel, type XdsChannelOptions } from "./xds-channel.js";

/**
 * ClientOptions that fit a client of any copy of @grpc/grpc-js, not only rxds's own: its channel is an
 * XdsChannel, which makes calls of whichever copy the client and its credentials come from.
 */
export interface XdsGrpcClientOptions {
  // `any`: the result stands for the Channel interface of whichever copy builds the client, which no one type names.
  readonly channelFactoryOverride: (address: string, credentials: object, options: object) => any;
}

/**
 * grpc-js ClientOptions that route every call of a client through `xds`:
 * `new GreetServiceClient("kitex-server.default.svc.cluster.local:8888", credentials.createInsecure(), xdsClientOptions(xds, { metaExtractor }))`.
 * The client's address is the xDS target (`host:port`, short forms, or `xds:///host:port`); its
 * credentials and its other options (`grpc.*` channel options) apply to each endpoint's channel.
 * Spread more ClientOptions next to it (`{ ...xdsClientOptions(xds), interceptors }`); do not also set
 * `channelOverride`. `client.close()` closes the XdsChannel and every endpoint channel. The client may
 * come from any loaded copy of @grpc/grpc-js (another version, an npm alias): the endpoint channels are
 * made by the copy its credentials come from.
 */
export function xdsClientOptions(xds: XdsClient, options: XdsChannelOptions = {}): XdsGrpcClientOptions {
  return {
    channelFactoryOverride: (address, credentials, clientOptions) => {
      const channelOptions: ChannelOptions = { ...clientOptions, ...options.channelOptions };
      return new XdsChannel(xds, address, credentials, { ...options, channelOptions });
    },
  };
}

/** The XdsChannel under a client built with xdsClientOptions (or given one as channelOverride), else undefined. */
export function xdsChannelOf(client: { getChannel(): unknown }): XdsChannel | undefined {
  // client.getChannel(), not getClientChannel(): the client may come from another copy of grpc-js.
  const channel = client.getChannel();
  return channel instanceof XdsChannel ? channel : undefined;
}
