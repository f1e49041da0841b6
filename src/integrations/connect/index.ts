// rxds/connect: route @connectrpc/connect calls with xDS.
//
//   import { createClient } from "@connectrpc/connect";
//   import { init } from "rxds";
//   import { createXdsTransport } from "rxds/connect";
//   const transport = createXdsTransport(init(), { target: "kitex-server:8888", protocol: "grpc" });
//   const client = createClient(GreetService, transport);

/** A connect-node Transport that routes each call by xDS to a pooled per-endpoint transport. */
export { createXdsTransport } from "./xds-transport.js";
/** The context value that makes one call wait for ready (gRPC's wait-for-ready), whatever the transport's default. */
export { waitForReady } from "./xds-transport.js";
/** Its options, the protocol choice, and the transport (with `close()` and `openEndpoints()`). */
export type { XdsTransport, XdsTransportOptions, XdsTransportProtocol } from "./xds-transport.js";
/** The server half: a Connect interceptor applying the inbound listener's local rate limit (kitex's server suite). */
export { createXdsServerInterceptor } from "./xds-server-interceptor.js";
/** What createXdsServerInterceptor returns, and where the server listens. */
export type { XdsServerInterceptor } from "./xds-server-interceptor.js";
export type { XdsServerOptions } from "../inbound-policy.js";
/** The default meta extractor: the call's request headers merged with `metainfo.all()`. */
export { defaultConnectMetaExtractor, headersToMeta } from "./connect-meta-extractor.js";
/** A meta extractor and what it is given about a call. */
export type { ConnectCallContext, ConnectMetaExtractor } from "./connect-meta-extractor.js";
/** Routing metadata: lower-case header names to values. */
export type { RoutingMeta } from "../routing-meta.js";
/** Call metadata on the async context (kitex's metainfo), which the default extractor reads. */
export { metainfo } from "../metainfo.js";
/** The shape of metainfo, and the values of one context. */
export type { Metainfo, MetaValues } from "../metainfo.js";
