// rxds/grpc: route grpc-js calls with xDS.
//
//   import { credentials } from "@grpc/grpc-js";
//   import { init } from "rxds";
//   import { xdsClientOptions } from "rxds/grpc";
//   const client = new GreetServiceClient("kitex-server:8888", credentials.createInsecure(), xdsClientOptions(init()));
//   const inbound = createXdsServerInterceptor(init(), { port: 8888 });
//   const server = new Server({ interceptors: [inbound.interceptor] });
//   const { credentials } = await createXdsServerCredentials(init(), { port: 8888, fallback: ServerCredentials.createInsecure() });

/** ClientOptions that make a generated grpc-js client route each call by xDS (see its doc comment). */
export { xdsClientOptions } from "./xds-client-options.js";
/** What xdsClientOptions returns: ClientOptions that fit a client of any copy of @grpc/grpc-js. */
export type { XdsGrpcClientOptions } from "./xds-client-options.js";
/** The XdsChannel of a client made with xdsClientOptions, for introspection (e.g. `openEndpoints()`). */
export { xdsChannelOf } from "./xds-client-options.js";
/** A grpc-js Channel that routes each call by xDS; share one among clients with `channelOverride`. */
export { XdsChannel } from "./xds-channel.js";
/** Options of XdsChannel and xdsClientOptions: `metaExtractor`, `channelOptions`. */
export type { XdsChannelOptions } from "./xds-channel.js";
/** The default meta extractor: the call's metadata merged with `metainfo.all()`. */
export { defaultGrpcMetaExtractor, metadataToMeta } from "./grpc-meta-extractor.js";
/** A meta extractor and what it is given about a call. */
export type { GrpcCallContext, GrpcMetaExtractor } from "./grpc-meta-extractor.js";
/** Routing metadata: lower-case header names to values. */
export type { RoutingMeta } from "../routing-meta.js";
/** Call metadata on the async context (kitex's metainfo), which the default extractor reads. */
export { metainfo } from "../metainfo.js";
/** The shape of metainfo, and the values of one context. */
export type { Metainfo, MetaValues } from "../metainfo.js";
/** The server half: a grpc-js server interceptor applying the inbound listener's local rate limit (kitex's server suite). */
export { createXdsServerInterceptor } from "./xds-server-interceptor.js";
/** What createXdsServerInterceptor returns, and where the server listens. */
export type { XdsServerInterceptor } from "./xds-server-interceptor.js";
export type { XdsServerOptions } from "../inbound-policy.js";
/** The server half's transport security (gRFC A29): TLS or mutual TLS as the inbound listener asks, else the fallback. */
export { createXdsServerCredentials } from "./xds-server-credentials.js";
/** What createXdsServerCredentials takes and returns, and how it serves a port. */
export type { InboundTransport, XdsServerCredentials, XdsServerCredentialsOptions } from "./xds-server-credentials.js";
/** The TLS an inbound filter chain asks of a server: its certificate provider instances, or what cannot be served. */
export type { DownstreamTls } from "../../resources/listener-tls.js";
/** Adds CSDS (gRFC A40's ClientStatusDiscoveryService) to a grpc-js server: what its XdsClients hold, per resource. */
export { addCsdsService } from "./csds-service.js";
/** The grpc-js service definition of CSDS, for servers and clients of any copy of grpc-js. */
export { csdsServiceDefinition } from "./csds-service.js";
/** The part of a grpc-js Server addCsdsService uses, and the handlers it adds. */
export type { CallError, CsdsImplementation, CsdsServer } from "./csds-service.js";
/** CSDS's request and response messages (generated from Envoy's protos). */
export type { ClientStatusRequest, ClientStatusResponse } from "../../../gen/envoy/service/status/v3/csds_pb.js";
/** Routes every grpc-js client of `xds:///host:port` in the process with rxds: the drop-in for @grpc/grpc-js-xds's register(). */
export { register } from "./register.js";
/** Options of register(): the XdsClient to route with (default init()). */
export type { RegisterOptions } from "./register.js";
