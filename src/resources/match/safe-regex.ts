// The one place in rxds that compiles a regular expression sent by a control plane.
//
// Envoy's `safe_regex` is Google RE2 with full-match semantics: the pattern must match the
// whole input, not a substring (kitex-contrib/xds gets this wrong and matches substrings).
// re2js is a linear-time port of RE2, so a hostile pattern such as `(a+)+$` cannot make a
// match take exponential time, and RE2 syntax that has no linear-time implementation
// (backreferences, lookaround) is rejected at compile time, so it is NACKed, not ACKed and
// then thrown later (grpc-js-xds ACKs an invalid regex and then fails asynchronously).
//
// `google_re2.max_program_size` is deprecated and ignored, as gRFC A28 prescribes.

import { RE2JS } from "re2js";
import type { RegexMatcher } from "../../../gen/envoy/type/matcher/v3/regex_pb.js";
import { XdsError } from "../../xds-error.js";

/** A compiled control-plane regex that answers only full-match questions, in linear time. */
export interface SafeRegex {
  /** The pattern as the control plane sent it. */
  readonly source: string;
  /** True when the pattern matches the whole of `value` (anchored at both ends). */
  matches(value: string): boolean;
  /**
   * ASCII text every value the pattern matches starts with ("" when the pattern has no such literal
   * prefix): callers may reject a value without it before asking `matches`, which does so itself.
   */
  readonly literalPrefix: string;
}

/** Compiles an RE2 pattern with full-match semantics; throws INVALID_RESOURCE naming `field` when it is invalid. */
export function compileSafeRegex(regex: string, field: string): SafeRegex {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(regex);
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new XdsError(
      "INVALID_RESOURCE",
      `${field}: invalid regex ${JSON.stringify(regex)}: ${reason}`,
      { cause: error },
    );
  }
  const literalPrefix = asciiLiteralPrefix(compiled);
  return {
    source: regex,
    // A value without the literal prefix cannot match: reject it without running the automaton, which
    // costs 100–400 ns even on an early mismatch (a startsWith is a few ns).
    matches:
      literalPrefix === ""
        ? (value: string): boolean => compiled.matches(value)
        : (value: string): boolean => value.startsWith(literalPrefix) && compiled.matches(value),
    literalPrefix,
  };
}

/**
 * The literal prefix re2js computed for the compiled program (the single-rune, case-sensitive
 * instructions every match starts with: Go's and RE2's `prog.Prefix()`), cut at its first non-ASCII
 * character: an ASCII rune matches exactly one UTF-16 code unit, so `startsWith` on the JS string
 * agrees with the automaton, whereas a non-ASCII rune could also be produced by the decoder from an
 * unpaired surrogate. "" when re2js exposes no prefix.
 */
function asciiLiteralPrefix(compiled: RE2JS): string {
  const prefix: unknown = (compiled as unknown as { readonly re2Input?: { readonly prefix?: unknown } }).re2Input?.prefix;
  if (typeof prefix !== "string") return "";
  let end = 0;
  while (end < prefix.length && prefix.charCodeAt(end) < 128) end++;
  return prefix.slice(0, end);
}

/** Compiles an envoy.type.matcher.v3.RegexMatcher; throws INVALID_RESOURCE naming `field` when it is unset, empty or invalid. */
export function compileRegexMatcher(matcher: RegexMatcher | undefined, field: string): SafeRegex {
  if (matcher === undefined) {
    throw new XdsError("INVALID_RESOURCE", `${field}: regex matcher is not set`);
  }
  if (matcher.regex.length === 0) {
    throw new XdsError("INVALID_RESOURCE", `${field}.regex: must not be empty`);
  }
  return compileSafeRegex(matcher.regex, `${field}.regex`);
}
