// The one-call way to make a generated grpc-js client a mesh client: ClientOptions whose
// channelFactoryOverride builds an XdsChannel for the address and credentials the client was given.

import { getClientChannel, type Client, type ClientOptions } from "@grpc/grpc-js";
import type { XdsClient } from "../../xds-client.js";
import { XdsChannel, type XdsChannelOptions } from "./xds-channel.js";

/**
 * grpc-js ClientOptions that route every call of a client through `xds`:
 * `new GreetServiceClient("kitex-server.default.svc.cluster.local:8888", credentials.createInsecure(), xdsClientOptions(xds, { metaExtractor }))`.
 * The client's address is the xDS target (`host:port`, short forms, or `xds:///host:port`); its
 * credentials and its other options (`grpc.*` channel options) apply to each endpoint's channel.
 * Spread more ClientOptions next to it (`{ ...xdsClientOptions(xds), interceptors }`); do not also set
 * `channelOverride`. `client.close()` closes the XdsChannel and every endpoint channel.
 */
export function xdsClientOptions(xds: XdsClient, options: XdsChannelOptions = {}): ClientOptions {
  return {
    channelFactoryOverride: (address, credentials, clientOptions) => {
      const channelOptions = { ...clientOptions, ...options.channelOptions };
      return new XdsChannel(
        xds,
        address,
        credentials,
        options.metaExtractor === undefined ? { channelOptions } : { metaExtractor: options.metaExtractor, channelOptions },
      );
    },
  };
}

/** The XdsChannel under a client built with xdsClientOptions (or given one as channelOverride), else undefined. */
export function xdsChannelOf(client: Client): XdsChannel | undefined {
  const channel = getClientChannel(client);
  return channel instanceof XdsChannel ? channel : undefined;
}
