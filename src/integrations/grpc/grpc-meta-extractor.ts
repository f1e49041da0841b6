// What a grpc-js call is routed by, and the default way to get it from the call.

import type { Metadata } from "@grpc/grpc-js";
import { mergeWithMetainfo, type RoutingMeta } from "../routing-meta.js";

/** What a meta extractor is given about a grpc-js call. */
export interface GrpcCallContext {
  /** The method path, `/pkg.Service/Method`. */
  readonly path: string;
  /** The call's metadata, as the application and its interceptors set it. */
  readonly metadata: Metadata;
  /** The target the client dialled, e.g. `kitex-server.default.svc.cluster.local:8888`. */
  readonly target: string;
}

/**
 * Returns the metadata a call's header matchers see (like kitex's WithRouterMetaExtractor). It runs
 * synchronously when the call starts, in the caller's async context, so `metainfo` works inside it.
 */
export type GrpcMetaExtractor = (ctx: GrpcCallContext) => RoutingMeta;

/** The call's metadata as routing headers: text values only (`-bin` values are never matched), several values as an array. */
export function metadataToMeta(metadata: Metadata): RoutingMeta {
  const meta: Record<string, string | string[]> = {};
  const all = metadata.toJSON();
  for (const key in all) {
    if (key.endsWith("-bin")) continue;
    const values = all[key]!;
    if (values.length === 1) meta[key] = String(values[0]);
    else if (values.length > 1) meta[key] = values.map(String);
  }
  return meta;
}

/** The default extractor: the call's metadata merged with `metainfo.all()`; the call's own values win. */
export const defaultGrpcMetaExtractor: GrpcMetaExtractor = (ctx) => mergeWithMetainfo(metadataToMeta(ctx.metadata));
