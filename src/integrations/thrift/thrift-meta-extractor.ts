// What a Thrift call is routed by, and the default way to get it from the call.

import { mergeWithMetainfo, type RoutingMeta } from "../routing-meta.js";

/** What a meta extractor is given about a Thrift call. */
export interface ThriftCallContext {
  /** The service as the client names it (`createXdsThriftClient`'s `service`), e.g. `proxyless.GreetService`. */
  readonly service: string;
  /** The method name, e.g. `SayHello`. */
  readonly method: string;
  /** The call's own headers (`with({ headers })`); empty when it has none. */
  readonly headers: Readonly<Record<string, string>>;
  /** The target the client routes to, e.g. `kitex-server.default.svc.cluster.local:8888`. */
  readonly target: string;
}

/**
 * Returns the metadata a call's header matchers see (like kitex's WithRouterMetaExtractor). It runs
 * synchronously when the call is made, in the caller's async context, so `metainfo` works inside it.
 */
export type ThriftMetaExtractor = (ctx: ThriftCallContext) => RoutingMeta;

/** The default extractor: the call's headers merged with `metainfo.all()`; the call's own values win. */
export const defaultThriftMetaExtractor: ThriftMetaExtractor = (ctx) => mergeWithMetainfo(ctx.headers);
