// The one place in rxds that compiles a regular expression sent by a control plane.
//
// Envoy's `safe_regex` is Google RE2 with full-match semantics: the pattern must match the
// whole input, not a substring (kitex-contrib/xds gets this wrong and matches substrings).
// re2js is a linear-time port of RE2, so a hostile pattern such as `(a+)+$` cannot make a
// match take exponential time, and RE2 syntax that has no linear-time implementation
// (backreferences, lookaround) is rejected at compile time, so it is NACKed, not ACKed and
// then thrown later (grpc-js-xds ACKs an invalid regex and then fails asynchronously).
//
// Program size. Matching is linear in the input, but its cost per character, and the cost of
// compiling, grow with the program: `/N.{1000}.{1000}.{1000}` compiles to 3,004 instructions and
// takes about 1 ms to build, so 2,000 of them in one RDS response held the event loop for seconds.
// As Envoy does (runtime key `re2.max_program_size.error_level`, default 100), a regex whose program
// is larger than `RegexLimits.maxProgramSize` is rejected, naming the field, the size and the limit.
// The size is re2js's `programSize()`: its instruction count (see regex-program-size-bound.ts for
// what counts). RE2, which Envoy uses, counts instructions of its own program, which differs in
// two ways: RE2 matches UTF-8 bytes, so `.` and non-ASCII classes take several instructions there
// and one here, and RE2 drops the alternation instructions counted here. The two are of the same
// order for ASCII patterns; patterns heavy in `.` count less here: Envoy's own tests reject
// `/asdf/.*` repeated ten times at 100, which is 82 here.
//
// Compiling only to measure would cost what the limit is there to avoid, so the size is first
// bounded from the pattern's text (regexProgramSizeBound, linear, building nothing). A pattern
// whose bound is within the limit is compiled; one whose bound is over the limit is compiled to be
// measured exactly only while the bound is within COMPILE_HEADROOM times the limit (the parser's
// folding of alternatives can make a program smaller than its bound); beyond, it is rejected
// uncompiled, with its size as counted from the text, so what one pattern can cost is bounded by
// the limit. A response of 2,000 hostile patterns is rejected in milliseconds.
//
// `google_re2.max_program_size` is deprecated and ignored, as gRFC A28 prescribes.

import { createRequire } from "node:module";
import type { RE2JS } from "re2js";
import type { RegexMatcher } from "../../../gen/envoy/type/matcher/v3/regex_pb.js";
import { XdsError } from "../../xds-error.js";
import { regexProgramSizeBound } from "./regex-program-size-bound.js";

// re2js (~260 KB of code) is loaded with the first regex a resource carries, not with `import "rxds"`.
const require = createRequire(import.meta.url);
let re2jsModule: typeof import("re2js") | undefined;
const re2js = () => (re2jsModule ??= require("re2js") as typeof import("re2js"));

/** Limits on the regexes a control plane sends. */
export interface RegexLimits {
  /** The largest program size (re2js instructions, see safe-regex.ts) a regex may compile to. */
  readonly maxProgramSize: number;
}

/** Envoy's default: programs of at most 100 instructions. */
export const defaultRegexLimits: RegexLimits = Object.freeze({ maxProgramSize: 100 });

/** How far over the limit a pattern's bound may be for it to be compiled and measured exactly rather than rejected uncompiled. */
const COMPILE_HEADROOM = 4;

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

/**
 * Compiles an RE2 pattern with full-match semantics; throws INVALID_RESOURCE naming `field` when it is invalid or
 * its program is larger than `limits.maxProgramSize`.
 */
export function compileSafeRegex(regex: string, field: string, limits: RegexLimits = defaultRegexLimits): SafeRegex {
  const compiled = compileWithin(regex, limits);
  if ("reason" in compiled) throw new XdsError("INVALID_RESOURCE", `${field}: ${compiled.reason}`, { cause: compiled.cause });
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
 * Compiles an Envoy `regex_rewrite` (RegexMatchAndSubstitute): a function replacing every non-overlapping match of
 * `regex` in a value with `substitution`, where `\N` (one digit) is capture group N and `\\` a backslash, as RE2's
 * GlobalReplace reads it. Throws INVALID_RESOURCE naming `field` for an invalid or too large regex, or a substitution
 * with another escape or a group the regex does not have.
 */
export function compileSafeRewrite(regex: string, substitution: string, field: string, limits: RegexLimits = defaultRegexLimits): (value: string) => string {
  const compiled = compileWithin(regex, limits);
  if ("reason" in compiled) throw new XdsError("INVALID_RESOURCE", `${field}.pattern.regex: ${compiled.reason}`, { cause: compiled.cause });
  const parts: (string | number)[] = [];
  let literal = "";
  for (let i = 0; i < substitution.length; i++) {
    const c = substitution[i]!;
    if (c !== "\\") {
      literal += c;
      continue;
    }
    const next = substitution[++i];
    if (next === "\\") {
      literal += "\\";
    } else if (next !== undefined && next >= "0" && next <= "9") {
      const group = Number(next);
      if (group > compiled.groupCount()) {
        throw new XdsError("INVALID_RESOURCE", `${field}.substitution: \\${group} names a group the regex does not have (it has ${compiled.groupCount()})`);
      }
      if (literal !== "") parts.push(literal);
      literal = "";
      parts.push(group);
    } else {
      throw new XdsError("INVALID_RESOURCE", `${field}.substitution: invalid escape \\${next ?? ""} (only \\0..\\9 and \\\\ are allowed)`);
    }
  }
  if (literal !== "") parts.push(literal);
  const replace = (...match: unknown[]): string => {
    let out = "";
    for (const part of parts) out += typeof part === "string" ? part : ((match[part] as string | undefined) ?? "");
    return out;
  };
  return (value: string): string => compiled.matcher(value).replaceAll(replace);
}

/** Why the control plane's `regex` would be rejected within `limits` (not RE2, or too large a program); undefined when it would not. */
export function safeRegexRejection(regex: string, limits: RegexLimits = defaultRegexLimits): string | undefined {
  const compiled = compileWithin(regex, limits);
  return "reason" in compiled ? compiled.reason : undefined;
}

/** Why a regex is rejected, and the error behind it when there is one. */
interface Rejection {
  readonly reason: string;
  readonly cause?: unknown;
}

/** Compiles `regex` when its program fits `limits` (see above); otherwise says why not. */
function compileWithin(regex: string, limits: RegexLimits): RE2JS | Rejection {
  const limit = limits.maxProgramSize;
  // The pattern itself is left out of a size rejection: it is long by nature.
  const tooLarge = (size: string): Rejection => ({ reason: `regex program size ${size} exceeds the limit ${limit} (maxRegexProgramSize)` });
  const bound = regexProgramSizeBound(regex);
  if (bound > limit * COMPILE_HEADROOM) return tooLarge(`${bound} (counted before compiling)`);
  let compiled: RE2JS;
  try {
    compiled = re2js().RE2JS.compile(regex);
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    return { reason: `invalid regex ${JSON.stringify(regex)}: ${reason}`, cause: error };
  }
  const size = compiled.programSize();
  return size > limit ? tooLarge(String(size)) : compiled;
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

/** Compiles an envoy.type.matcher.v3.RegexMatcher; throws INVALID_RESOURCE naming `field` when it is unset, empty, invalid or too large. */
export function compileRegexMatcher(matcher: RegexMatcher | undefined, field: string, limits: RegexLimits = defaultRegexLimits): SafeRegex {
  if (matcher === undefined) {
    throw new XdsError("INVALID_RESOURCE", `${field}: regex matcher is not set`);
  }
  if (matcher.regex.length === 0) {
    throw new XdsError("INVALID_RESOURCE", `${field}.regex: must not be empty`);
  }
  return compileSafeRegex(matcher.regex, `${field}.regex`, limits);
}
