// rxds/thrift: route Apache Thrift (npm `thrift`) calls with xDS.
//
//   import { init } from "rxds";
//   import { createXdsThriftClient } from "rxds/thrift";
//   import { GreetService } from "./gen/proxyless/index.js"; // @creditkarma/thrift-typescript --target apache
//   const greet = createXdsThriftClient(init(), GreetService.Client, { target: "kitex-server:8888", service: "proxyless.GreetService" });
//   await greet.client.SayHello(new HelloRequest({ Message: "hi" }));

/** Makes a generated Thrift client class a client whose calls are routed by xDS. */
export { createXdsThriftClient } from "./xds-thrift-client.js";
/** Its options, per-call options, the client it returns, and the method view of a generated client. */
export type { ThriftCallOptions, ThriftServiceMethods, XdsThriftClient, XdsThriftClientOptions } from "./xds-thrift-client.js";
/** A generated Thrift client class. */
export type { ThriftClientClass } from "./thrift-endpoint.js";
/** The framing and encoding choices. */
export type { ThriftProtocolKind, ThriftTransportKind } from "./thrift-wire.js";
/** The default meta extractor: the call's headers merged with `metainfo.all()`. */
export { defaultThriftMetaExtractor } from "./thrift-meta-extractor.js";
/** A meta extractor and what it is given about a call. */
export type { ThriftCallContext, ThriftMetaExtractor } from "./thrift-meta-extractor.js";
/** Routing metadata: lower-case header names to values. */
export type { RoutingMeta } from "../routing-meta.js";
/** Call metadata on the async context (kitex's metainfo), which the default extractor reads and THeader carries. */
export { metainfo } from "../metainfo.js";
/** The shape of metainfo, and the values of one context. */
export type { Metainfo, MetaValues } from "../metainfo.js";
