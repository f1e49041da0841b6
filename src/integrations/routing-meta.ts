// The headers a call is routed by: what the meta extractor returns (by default the call's own
// metadata merged with metainfo.all()), plus the protocol's own headers, which route matchers may
// test (a `grpc` route matcher needs `content-type: application/grpc`) and no extractor can hide.

import type { RequestHeaders } from "../resources/match/route-match.js";
import { metainfo } from "./metainfo.js";

/** Routing metadata: header names to one value or several; names are lower-cased before matching. */
export type RoutingMeta = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The headers the transport itself sends with a call, which header matchers may look at. */
export interface ProtocolHeaders {
  readonly contentType: string;
  readonly authority: string;
  readonly path: string;
}

/** The call's own metadata merged with the async context's metainfo; the call's own values win. */
export function mergeWithMetainfo(own: RoutingMeta): RoutingMeta {
  const context = metainfo.all();
  let merged: Record<string, string | readonly string[] | undefined> | undefined;
  for (const key in context) {
    if (own[key] !== undefined) continue;
    merged ??= { ...own };
    merged[key] = context[key];
  }
  return merged ?? own;
}

/** The headers route() sees: `meta` with lower-cased names, then the protocol headers over it. */
export function routingHeaders(meta: RoutingMeta, protocol: ProtocolHeaders): RequestHeaders {
  const headers: Record<string, string | readonly string[] | undefined> = {};
  for (const key in meta) {
    const value = meta[key];
    if (value !== undefined) headers[hasUpper(key) ? key.toLowerCase() : key] = value;
  }
  headers["content-type"] = protocol.contentType;
  headers[":authority"] = protocol.authority;
  headers[":path"] = protocol.path;
  headers[":method"] = "POST";
  return headers;
}

function hasUpper(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}
