// What a Connect call is routed by, and the default way to get it from the call.

import type { DescMethod } from "@bufbuild/protobuf";
import { mergeWithMetainfo, type RoutingMeta } from "../routing-meta.js";

/** What a meta extractor is given about a Connect call. */
export interface ConnectCallContext {
  /** The method path, `/pkg.Service/Method`. */
  readonly path: string;
  /** The method's descriptor. */
  readonly method: DescMethod;
  /** The call's request headers, as the application set them. */
  readonly header: Headers;
  /** The target the transport routes to, e.g. `kitex-server.default.svc.cluster.local:8888`. */
  readonly target: string;
}

/**
 * Returns the metadata a call's header matchers see (like kitex's WithRouterMetaExtractor). It runs
 * synchronously when the call is made, in the caller's async context, so `metainfo` works inside it.
 */
export type ConnectMetaExtractor = (ctx: ConnectCallContext) => RoutingMeta;

/** Request headers as routing metadata (Headers already lower-cases names and joins repeated values). */
export function headersToMeta(header: Headers): RoutingMeta {
  const meta: Record<string, string> = {};
  header.forEach((value, key) => (meta[key] = value));
  return meta;
}

/** The default extractor: the call's headers merged with `metainfo.all()`; the call's own values win. */
export const defaultConnectMetaExtractor: ConnectMetaExtractor = (ctx) => mergeWithMetainfo(headersToMeta(ctx.header));
