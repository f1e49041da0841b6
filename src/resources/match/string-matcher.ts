// Compiles envoy.type.matcher.v3.StringMatcher into a predicate.
//
// Semantics (Envoy's StringMatcherImpl and its proto validation):
// - `exact` may be empty; `prefix`, `suffix` and `contains` must not be (min_len 1).
// - `ignore_case` folds ASCII letters only and applies to every kind except `safe_regex`.
// - `safe_regex` is a full match (see safe-regex.ts).
// - `custom` extensions are not supported, and a matcher with no pattern is invalid.
// The pattern is lower-cased once at compile time; matching allocates only for
// `contains` with `ignore_case` when the value has upper-case letters.

import type { StringMatcher } from "../../../gen/envoy/type/matcher/v3/string_pb.js";
import { XdsError } from "../../xds-error.js";
import { asciiLower, regionEqualsIgnoreCase } from "./ascii-case.js";
import { compileRegexMatcher, defaultRegexLimits, type RegexLimits } from "./safe-regex.js";

/** A compiled string predicate. */
export type StringPredicate = (value: string) => boolean;

/** The literal (non-regex) kinds a string pattern can have. */
export type StringPatternKind = "exact" | "prefix" | "suffix" | "contains";

/** Compiles an envoy.type.matcher.v3.StringMatcher; throws INVALID_RESOURCE naming `field` when it is unset or invalid. */
export function compileStringMatcher(matcher: StringMatcher | undefined, field: string, limits: RegexLimits = defaultRegexLimits): StringPredicate {
  if (matcher === undefined) {
    throw new XdsError("INVALID_RESOURCE", `${field}: string matcher is not set`);
  }
  const pattern = matcher.matchPattern;
  switch (pattern.case) {
    case "exact":
    case "prefix":
    case "suffix":
    case "contains":
      return compileStringPattern(pattern.case, pattern.value, matcher.ignoreCase, `${field}.${pattern.case}`);
    case "safeRegex": {
      const regex = compileRegexMatcher(pattern.value, `${field}.safe_regex`, limits);
      return (value) => regex.matches(value);
    }
    case "custom":
      throw new XdsError("INVALID_RESOURCE", `${field}.custom: custom string matchers are not supported`);
    case undefined:
      throw new XdsError("INVALID_RESOURCE", `${field}: no match pattern is set`);
  }
}

/** Compiles one literal pattern; `prefix`, `suffix` and `contains` reject an empty pattern with INVALID_RESOURCE naming `field`. */
export function compileStringPattern(
  kind: StringPatternKind,
  pattern: string,
  ignoreCase: boolean,
  field: string,
): StringPredicate {
  if (kind !== "exact" && pattern.length === 0) {
    throw new XdsError("INVALID_RESOURCE", `${field}: must not be empty`);
  }
  return ignoreCase ? caseInsensitive(kind, asciiLower(pattern)) : caseSensitive(kind, pattern);
}

function caseSensitive(kind: StringPatternKind, pattern: string): StringPredicate {
  switch (kind) {
    case "exact":
      return (value) => value === pattern;
    case "prefix":
      return (value) => value.startsWith(pattern);
    case "suffix":
      return (value) => value.endsWith(pattern);
    case "contains":
      return (value) => value.includes(pattern);
  }
}

function caseInsensitive(kind: StringPatternKind, lower: string): StringPredicate {
  switch (kind) {
    case "exact":
      return (value) => value.length === lower.length && regionEqualsIgnoreCase(value, 0, lower);
    case "prefix":
      return (value) => regionEqualsIgnoreCase(value, 0, lower);
    case "suffix":
      return (value) => regionEqualsIgnoreCase(value, value.length - lower.length, lower);
    case "contains":
      return (value) => asciiLower(value).includes(lower);
  }
}
