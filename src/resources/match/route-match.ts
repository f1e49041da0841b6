// Compiles envoy.config.route.v3.RouteMatch into a synchronous per-request predicate.
//
// - Path specifiers: `prefix`, `path`, `safe_regex` (full match, ignores `case_sensitive`),
//   `path_separated_prefix`; all are matched against the path without its query string.
//   `connect_matcher` never matches (clients send no CONNECT); `path_match_policy` is
//   rejected as unsupported, and so is a match with no path specifier.
// - `case_sensitive: false` folds ASCII case for `prefix`, `path` and `path_separated_prefix`.
// - `headers`: every header matcher must match (see header-matcher.ts).
// - `query_parameters` are parsed from the path's query string, percent-decoded; only the
//   first value of a repeated key counts. grpc-js-xds ignores them and so matches; we don't.
// - `runtime_fraction`: only `default_value` is used; the route matches when
//   floor(random() * denominator) < numerator, with `random` injected per call.
// - `grpc`: matches only when `content-type` is application/grpc or application/grpc+… / ;…
// - `tls_context` and `dynamic_metadata` describe a downstream connection a client does not
//   have, and are ignored (as gRFC A28 does for `tls_context`).
// compileRouteMatchWithPrefix also gives the literal every matching path starts with, which lets a
// router skip routes without calling their matcher (see router.ts).
// Matching compiles nothing and allocates only for a regex path with a query string,
// query-parameter matchers, multi-valued headers or case folding of upper-case input.

import type {
  QueryParameterMatcher,
  RouteMatch,
} from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import { denominatorOf, drawn, type FractionModel } from "../fraction.js";
import { XdsError } from "../../xds-error.js";
import { asciiLower, regionEqualsIgnoreCase } from "./ascii-case.js";
import { compileHeaderMatcher, readHeader, type HeaderPredicate } from "./header-matcher.js";
import { compileRegexMatcher, defaultRegexLimits, type RegexLimits } from "./safe-regex.js";
import { compileStringMatcher, type StringPredicate } from "./string-matcher.js";

/** Request headers by lower-case name; a header sent several times may be given as an array. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** What the matchers look at in a request: the `:path` (possibly with a query string) and the headers. */
export interface RouteRequest {
  /** The request path, e.g. `/pkg.Service/Method`; a `?query` part is allowed. */
  readonly path: string;
  /** The request headers, keys lower-case. */
  readonly headers: RequestHeaders;
  /**
   * The calling channel's id, for hash policies on filter state `io.grpc.channel_id` (gRFC A42): a random integer
   * below 2^53, the same for every call of one channel. The grpc-js and Connect integrations set one per client.
   */
  readonly channelId?: number;
  /** The IP address of the client this call serves, for `connection_properties.source_ip` hash policies (a server-side call). */
  readonly sourceIp?: string;
}

/** A source of uniform random numbers in [0, 1), such as `Math.random`. */
export type RandomSource = () => number;

/** A compiled RouteMatch: true when the request matches; `random` is drawn only for a runtime fraction. */
export type RouteMatcher = (request: RouteRequest, random: RandomSource) => boolean;

/** A compiled path specifier, given the path and the index where its query string starts (or its length). */
type PathPredicate = (path: string, end: number) => boolean;

type QueryPredicate = (query: string) => boolean;

/** A compiled RouteMatch and the literal its path must start with. */
export interface CompiledRouteMatch {
  /** The predicate, as compileRouteMatch returns it. */
  readonly matches: RouteMatcher;
  /**
   * Text that the request path (without its query string) starts with whenever `matches` is true:
   * the exact path, the (case-sensitive) prefix, or a safe_regex's literal prefix; "" when the
   * path specifier gives none (case-insensitive, a regex without a literal prefix, `connect_matcher`).
   * A router may skip a route whose prefix the path lacks without calling `matches`.
   */
  readonly pathPrefix: string;
}

/** Compiles an envoy.config.route.v3.RouteMatch; throws INVALID_RESOURCE naming `field` (e.g. `routes[0].match`) when it is invalid. */
export function compileRouteMatch(match: RouteMatch, field: string, limits: RegexLimits = defaultRegexLimits): RouteMatcher {
  return compileRouteMatchWithPrefix(match, field, limits).matches;
}

/** compileRouteMatch, with the literal prefix every path it matches starts with (see CompiledRouteMatch). */
export function compileRouteMatchWithPrefix(match: RouteMatch, field: string, limits: RegexLimits = defaultRegexLimits): CompiledRouteMatch {
  const { matches: pathMatches, prefix: pathPrefix } = compilePath(match, field, limits);
  const headers: HeaderPredicate[] = match.headers.map((h, i) => compileHeaderMatcher(h, `${field}.headers[${i}]`, limits));
  const queries: QueryPredicate[] = match.queryParameters.map((q, i) =>
    compileQueryParameter(q, `${field}.query_parameters[${i}]`, limits),
  );
  const fraction = compileRuntimeFraction(match, field);
  const grpcOnly = match.grpc !== undefined;

  const matches: RouteMatcher = (request, random) => {
    const path = request.path;
    const queryAt = path.indexOf("?");
    const end = queryAt < 0 ? path.length : queryAt;
    if (!pathMatches(path, end)) return false;
    if (grpcOnly && !isGrpcContentType(readHeader(request.headers, "content-type"))) return false;
    for (let i = 0; i < headers.length; i++) {
      if (!headers[i]!(request.headers)) return false;
    }
    if (queries.length > 0) {
      const query = queryAt < 0 ? "" : path.slice(queryAt + 1);
      for (let i = 0; i < queries.length; i++) {
        if (!queries[i]!(query)) return false;
      }
    }
    return fraction === undefined || drawn(fraction, random);
  };
  return { matches, pathPrefix };
}

/** A compiled path specifier and the literal every path it matches starts with ("" for none). */
interface CompiledPath {
  readonly matches: PathPredicate;
  readonly prefix: string;
}

function compilePath(match: RouteMatch, field: string, limits: RegexLimits): CompiledPath {
  const spec = match.pathSpecifier;
  const ignoreCase = match.caseSensitive === false;
  switch (spec.case) {
    case "prefix": {
      const prefix = ignoreCase ? asciiLower(spec.value) : spec.value;
      return ignoreCase
        ? { matches: (path, end) => regionEqualsIgnoreCase(path, 0, prefix, end), prefix: "" }
        : { matches: (path, end) => end >= prefix.length && path.startsWith(prefix), prefix };
    }
    case "path": {
      const exact = ignoreCase ? asciiLower(spec.value) : spec.value;
      return ignoreCase
        ? { matches: (path, end) => end === exact.length && regionEqualsIgnoreCase(path, 0, exact, end), prefix: "" }
        : { matches: (path, end) => end === exact.length && path.startsWith(exact), prefix: exact };
    }
    case "pathSeparatedPrefix": {
      const value = spec.value;
      if (value.length < 2 || value.includes("?") || value.includes("#") || value.endsWith("/")) {
        throw new XdsError(
          "INVALID_RESOURCE",
          `${field}.path_separated_prefix: ${JSON.stringify(value)} must be at least 2 characters, without "?" or "#", not ending in "/"`,
        );
      }
      const prefix = ignoreCase ? asciiLower(value) : value;
      return {
        matches: (path, end) =>
          (ignoreCase ? regionEqualsIgnoreCase(path, 0, prefix, end) : end >= prefix.length && path.startsWith(prefix)) &&
          (end === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */),
        prefix: ignoreCase ? "" : prefix,
      };
    }
    case "safeRegex": {
      const regex = compileRegexMatcher(spec.value, `${field}.safe_regex`, limits);
      const literal = regex.literalPrefix;
      return {
        // The literal prefix is checked first on the path as given: when the path lacks it, so does its
        // part before the query string, and nothing is sliced.
        matches: (path, end) => end >= literal.length && path.startsWith(literal) && regex.matches(end === path.length ? path : path.slice(0, end)),
        prefix: literal,
      };
    }
    case "connectMatcher":
      return { matches: () => false, prefix: "" };
    case "pathMatchPolicy":
      throw new XdsError("INVALID_RESOURCE", `${field}.path_match_policy: path match policies are not supported`);
    case undefined:
      throw new XdsError("INVALID_RESOURCE", `${field}: no path specifier (prefix, path, safe_regex, …) is set`);
  }
}

function compileRuntimeFraction(match: RouteMatch, field: string): FractionModel | undefined {
  if (match.runtimeFraction === undefined) return undefined;
  const value = match.runtimeFraction.defaultValue;
  if (value === undefined) {
    throw new XdsError("INVALID_RESOURCE", `${field}.runtime_fraction.default_value: must be set`);
  }
  const denominator = denominatorOf(value.denominator);
  if (denominator === undefined) {
    throw new XdsError(
      "INVALID_RESOURCE",
      `${field}.runtime_fraction.default_value.denominator: unknown value ${value.denominator}`,
    );
  }
  return { numerator: value.numerator, denominator };
}

const GRPC_CONTENT_TYPE = "application/grpc";

/** True for `application/grpc` and its `+format` / `;params` variants, ignoring ASCII case. */
function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || !regionEqualsIgnoreCase(value, 0, GRPC_CONTENT_TYPE)) return false;
  if (value.length === GRPC_CONTENT_TYPE.length) return true;
  const next = value.charCodeAt(GRPC_CONTENT_TYPE.length);
  return next === 43 /* + */ || next === 59; /* ; */
}

function compileQueryParameter(matcher: QueryParameterMatcher, field: string, limits: RegexLimits): QueryPredicate {
  if (matcher.name.length === 0) {
    throw new XdsError("INVALID_RESOURCE", `${field}.name: must not be empty`);
  }
  const name = matcher.name;
  const spec = matcher.queryParameterMatchSpecifier;
  let valueMatches: StringPredicate | undefined;
  let wantPresent = true;
  if (spec.case === "stringMatch") {
    valueMatches = compileStringMatcher(spec.value, `${field}.string_match`, limits);
  } else if (spec.case === "presentMatch") {
    wantPresent = spec.value;
  }
  if (valueMatches === undefined) return (query) => (queryValue(query, name) !== undefined) === wantPresent;
  const matches = valueMatches;
  return (query) => {
    const value = queryValue(query, name);
    return value !== undefined && matches(value);
  };
}

/** The percent-decoded value of the first `name` parameter in `query` ("" for a bare key), or undefined. */
function queryValue(query: string, name: string): string | undefined {
  let start = 0;
  while (start < query.length) {
    let stop = query.indexOf("&", start);
    if (stop < 0) stop = query.length;
    const eq = query.indexOf("=", start);
    const keyEnd = eq >= 0 && eq < stop ? eq : stop;
    if (percentDecode(query.slice(start, keyEnd)) === name) {
      return keyEnd === stop ? "" : percentDecode(query.slice(keyEnd + 1, stop));
    }
    start = stop + 1;
  }
  return undefined;
}

function percentDecode(s: string): string {
  if (!s.includes("%")) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
