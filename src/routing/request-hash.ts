// The hash of a request, from its route's hash policies (gRFC A42, as Envoy computes it): each policy that yields a
// value is hashed with XXH64, and the results are combined in order (rotate left by one, XOR); a policy marked
// `terminal` stops the list once a hash exists. A request no policy yields a hash for gets none (undefined): the
// router then draws a random one, as gRPC does.
//
// What each policy hashes:
// - `header`: the header's value (several values joined with ","), after its `regex_rewrite`; a `-bin` header yields
//   nothing (gRFC A28's rule for header matching, which A42 follows);
// - `filter_state` `io.grpc.channel_id`: the request's channelId, itself a uniform random number below 2^53 per
//   channel, so it is used as its own hash (its top 53 bits; as grpc-go uses its random channel id); other filter
//   state keys yield nothing;
// - `connection_properties.source_ip`: the request's sourceIp, when the caller gives one (a server-side call);
// - `query_parameter`: the first value of that parameter in the path's query string, as Envoy does;
// - `cookie`: the cookie of that name in the `cookie` header, when present (a client cannot set one as Envoy does).
//
// A route's hasher is made once per hash policy list and shared by every Router of the same route configuration.

import { readHeader } from "../resources/match/header-matcher.js";
import type { RouteRequest } from "../resources/match/route-match.js";
import type { HashPolicyModel } from "../resources/route-policies.js";
import { combineHash, hashTop53, xxHash64, type Hash64 } from "./xx-hash64.js";

/** The request's hash as a 53-bit integer (see xx-hash64.ts), or undefined when no policy yields one. */
export type RequestHasher = (request: RouteRequest) => number | undefined;

const FILTER_STATE_CHANNEL_ID = "io.grpc.channel_id";
const hashers = new WeakMap<readonly HashPolicyModel[], RequestHasher>();
/** The combined hash and one policy's, reused by every call (the call path is synchronous). */
const combined: Hash64 = { hi: 0, lo: 0 };
const one: Hash64 = { hi: 0, lo: 0 };

/** The hasher of a route's hash policies; undefined when it has none. */
export function requestHasher(policies: readonly HashPolicyModel[]): RequestHasher | undefined {
  if (policies.length === 0) return undefined;
  let hasher = hashers.get(policies);
  if (hasher === undefined) {
    hasher = createHasher(policies);
    hashers.set(policies, hasher);
  }
  return hasher;
}

function createHasher(policies: readonly HashPolicyModel[]): RequestHasher {
  return (request) => {
    let hashed = false;
    for (const policy of policies) {
      if (!policyHash(policy, request, one)) continue;
      if (hashed) {
        combineHash(combined, one);
      } else {
        combined.hi = one.hi;
        combined.lo = one.lo;
        hashed = true;
      }
      if (policy.terminal) break;
    }
    return hashed ? hashTop53(combined) : undefined;
  };
}

/** Writes the hash of one policy into `out`; false when the policy yields nothing for this request. */
function policyHash(policy: HashPolicyModel, request: RouteRequest, out: Hash64): boolean {
  switch (policy.kind) {
    case "header": {
      if (policy.headerName.endsWith("-bin")) return false;
      const value = readHeader(request.headers, policy.headerName);
      if (value === undefined) return false;
      xxHash64(policy.regexRewrite === undefined ? value : policy.regexRewrite.rewrite(value), out);
      return true;
    }
    case "filter_state": {
      const id = request.channelId;
      if (policy.key !== FILTER_STATE_CHANNEL_ID || id === undefined) return false;
      // The id is the hash's top 53 bits: uniform over the ring like any other hash.
      out.hi = Math.floor(id / 2 ** 21) >>> 0;
      out.lo = ((id % 2 ** 21) * 2 ** 11) >>> 0;
      return true;
    }
    case "source_ip":
      if (request.sourceIp === undefined || request.sourceIp === "") return false;
      xxHash64(request.sourceIp, out);
      return true;
    case "query_parameter": {
      const value = queryParameter(request.path, policy.name);
      if (value === undefined) return false;
      xxHash64(value, out);
      return true;
    }
    case "cookie": {
      const value = cookie(readHeader(request.headers, "cookie"), policy.name);
      if (value === undefined) return false;
      xxHash64(value, out);
      return true;
    }
  }
}

/** The first value of parameter `name` in the query string of `path` (as sent, not decoded); undefined when absent. */
function queryParameter(path: string, name: string): string | undefined {
  const query = path.indexOf("?");
  if (query < 0) return undefined;
  for (let at = query + 1; at <= path.length; ) {
    let end = path.indexOf("&", at);
    if (end < 0) end = path.length;
    const equals = path.indexOf("=", at);
    const keyEnd = equals >= 0 && equals < end ? equals : end;
    if (keyEnd - at === name.length && path.startsWith(name, at)) return keyEnd === end ? "" : path.slice(keyEnd + 1, end);
    at = end + 1;
  }
  return undefined;
}

/** The value of cookie `name` in a `cookie` header (`a=1; b=2`); undefined when absent. */
function cookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(";")) {
    const equals = pair.indexOf("=");
    if (equals >= 0 && pair.slice(0, equals).trim() === name) return pair.slice(equals + 1).trim();
  }
  return undefined;
}
