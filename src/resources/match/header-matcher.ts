// Compiles envoy.config.route.v3.HeaderMatcher into a predicate over request headers.
//
// Semantics, following Envoy's HeaderMatcher docs and gRFC A28 for gRPC:
// - Header names are compared lower-cased; the request's header keys are lower-case.
// - Several values of one header are joined with "," and matched as one string.
// - A header whose name ends in "-bin" never matches, whatever `invert_match` says
//   (grpc-js-xds lets `invert_match` turn this into a match).
// - A value matcher (exact, regex, range, prefix, suffix, contains, string_match) does not
//   match an absent header, even when inverted; `treat_missing_header_as_empty` makes an
//   absent header match as "" instead (grpc-js-xds inverts an absent header into a match).
// - `present_match: true` matches a present header and `present_match: false` an absent
//   one (grpc-js-xds treats false as true); `invert_match` flips it. With
//   `treat_missing_header_as_empty` an absent header counts as present (and empty).
// - No specifier at all is Envoy's legacy form of `present_match: true`.
// - `range_match` is [start, end) over the value read as a base-10 int64: an optional sign
//   and digits, nothing else; anything else (empty, float, overflow) does not match.

import type { HeaderMatcher } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import type { Int64Range } from "../../../gen/envoy/type/v3/range_pb.js";
import { XdsError } from "../../xds-error.js";
import type { RequestHeaders } from "./route-match.js";
import { compileRegexMatcher, defaultRegexLimits, type RegexLimits } from "./safe-regex.js";
import { compileStringMatcher, compileStringPattern, type StringPredicate } from "./string-matcher.js";

/** A compiled header matcher: true when the request headers satisfy it. */
export type HeaderPredicate = (headers: RequestHeaders) => boolean;

/** The value of header `name` (lower-case) for matching: undefined when absent, several values joined with ",". */
export function readHeader(headers: RequestHeaders, name: string): string | undefined {
  const raw = headers[name];
  if (raw === undefined || typeof raw === "string") return raw;
  if (raw.length === 0) return undefined;
  return raw.length === 1 ? raw[0] : raw.join(",");
}

/** Compiles an envoy.config.route.v3.HeaderMatcher; throws INVALID_RESOURCE naming `field` when it is invalid. */
export function compileHeaderMatcher(matcher: HeaderMatcher, field: string, limits: RegexLimits = defaultRegexLimits): HeaderPredicate {
  if (matcher.name.length === 0) {
    throw new XdsError("INVALID_RESOURCE", `${field}.name: must not be empty`);
  }
  const name = matcher.name.toLowerCase();
  const invert = matcher.invertMatch;
  const missingAsEmpty = matcher.treatMissingHeaderAsEmpty;
  const spec = matcher.headerMatchSpecifier;

  // Validate the specifier first, so an invalid matcher on a "-bin" header is still rejected.
  let valueMatches: StringPredicate | undefined;
  let wantPresent = true;
  switch (spec.case) {
    case "presentMatch":
      wantPresent = spec.value;
      break;
    case undefined:
      break;
    case "exactMatch":
      valueMatches = compileStringPattern("exact", spec.value, false, `${field}.exact_match`);
      break;
    case "prefixMatch":
      valueMatches = compileStringPattern("prefix", spec.value, false, `${field}.prefix_match`);
      break;
    case "suffixMatch":
      valueMatches = compileStringPattern("suffix", spec.value, false, `${field}.suffix_match`);
      break;
    case "containsMatch":
      valueMatches = compileStringPattern("contains", spec.value, false, `${field}.contains_match`);
      break;
    case "safeRegexMatch": {
      const regex = compileRegexMatcher(spec.value, `${field}.safe_regex_match`, limits);
      valueMatches = (value) => regex.matches(value);
      break;
    }
    case "stringMatch":
      valueMatches = compileStringMatcher(spec.value, `${field}.string_match`, limits);
      break;
    case "rangeMatch":
      valueMatches = compileRange(spec.value);
      break;
  }

  if (name.endsWith("-bin")) return () => false;

  if (valueMatches === undefined) {
    return (headers) => {
      const present = missingAsEmpty || readHeader(headers, name) !== undefined;
      return (present === wantPresent) !== invert;
    };
  }
  const matches = valueMatches;
  return (headers) => {
    const value = readHeader(headers, name) ?? (missingAsEmpty ? "" : undefined);
    if (value === undefined) return false;
    return matches(value) !== invert;
  };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function compileRange(range: Int64Range): StringPredicate {
  const { start, end } = range;
  return (value) => {
    const n = parseInt64(value);
    return n !== undefined && n >= start && n < end;
  };
}

/** Parses `[+-]?[0-9]+` as an int64; undefined for anything else. Small values stay numbers (no allocation). */
function parseInt64(value: string): number | bigint | undefined {
  const first = value.charCodeAt(0);
  const signed = first === 43 /* + */ || first === 45; /* - */
  const digitsFrom = signed ? 1 : 0;
  if (value.length === digitsFrom) return undefined;
  for (let i = digitsFrom; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  if (value.length - digitsFrom <= 15) return Number(value);
  const n = BigInt(value);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}
