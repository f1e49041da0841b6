import { create } from "@bufbuild/protobuf";
import { expect } from "chai";
import fc from "fast-check";
import { RE2JS } from "re2js";
import { RegexMatcherSchema } from "../../../gen/envoy/type/matcher/v3/regex_pb.js";
import { regexProgramSizeBound } from "../../../src/resources/match/regex-program-size-bound.js";
import { compileRegexMatcher, compileSafeRegex } from "../../../src/resources/match/safe-regex.js";
import { XdsError } from "../../../src/xds-error.js";

function expectInvalid(fn: () => unknown, ...fragments: string[]): void {
  try {
    fn();
  } catch (error: unknown) {
    expect(error).to.be.instanceOf(XdsError);
    expect((error as XdsError).code).to.equal("INVALID_RESOURCE");
    for (const fragment of fragments) expect((error as XdsError).message).to.contain(fragment);
    return;
  }
  expect.fail("expected an XdsError");
}

describe("compileSafeRegex", () => {
  const table: [pattern: string, input: string, expected: boolean][] = [
    ["ab", "ab", true],
    ["ab", "xaby", false], // full match, not substring (kitex-contrib/xds matches substrings)
    ["ab", "abc", false],
    ["ab", "cab", false],
    ["a|ab", "ab", true], // alternation is not cut at the first alternative
    ["/pkg\\.Svc/.*", "/pkg.Svc/Method", true],
    ["/pkg\\.Svc/.*", "/pkgxSvc/Method", false],
    ["[0-9]{3}", "1234", false],
    ["", "", true],
    ["", "a", false],
    ["a.c", "a\nc", false], // `.` does not match a newline, as in RE2
  ];
  for (const [pattern, input, expected] of table) {
    it(`full-matches ${JSON.stringify(pattern)} against ${JSON.stringify(input)} as ${expected}`, () => {
      expect(compileSafeRegex(pattern, "f").matches(input)).to.equal(expected);
    });
  }

  it("keeps the source pattern", () => {
    expect(compileSafeRegex("a+", "f").source).to.equal("a+");
  });

  it("rejects an unclosed group with INVALID_RESOURCE naming the field and the reason", () => {
    expectInvalid(() => compileSafeRegex("(unclosed", "routes[2].match.safe_regex.regex"), "routes[2].match.safe_regex.regex", "missing closing )");
  });

  it("rejects backreferences and lookahead, which have no linear-time implementation", () => {
    expectInvalid(() => compileSafeRegex("(a)\\1", "f"), "f", "invalid escape");
    expectInvalid(() => compileSafeRegex("(?=a)a", "f"), "f");
  });

  it("answers a catastrophic-backtracking pattern on a long input promptly (linear time)", () => {
    const regex = compileSafeRegex("(a+)+$", "f");
    expect(regex.matches("a".repeat(100_000) + "!")).to.equal(false);
    expect(regex.matches("a".repeat(100_000))).to.equal(true);
    expect(compileSafeRegex("(x+x+)+y", "f").matches("x".repeat(50_000))).to.equal(false);
  });
});

describe("compileSafeRegex program size limit", () => {
  const label = "[a-z0-9-]{1,63}"; // a DNS label: 127 instructions

  it("rejects a regex whose program is over the limit, naming the field, the size and the limit (default 100, as Envoy's)", () => {
    expect(RE2JS.compile(label).programSize()).to.equal(127);
    expect(() => compileSafeRegex(label, "routes[3].match.safe_regex.regex")).to.throw(
      XdsError,
      "routes[3].match.safe_regex.regex: regex program size 127 exceeds the limit 100 (maxRegexProgramSize)",
    );
  });

  it("accepts a program exactly at a raised limit and matches with it", () => {
    const regex = compileSafeRegex(label, "f", { maxProgramSize: 127 });
    expect(regex.matches("kitex-server-v2")).to.equal(true);
    expect(regex.matches("Kitex")).to.equal(false);
    expect(() => compileSafeRegex(label, "f", { maxProgramSize: 126 })).to.throw(XdsError, "regex program size 127 exceeds the limit 126");
  });

  it("rejects a hostile pattern from its text, before compiling it", () => {
    expect(() => compileSafeRegex("/N.{1000}.{1000}.{1000}", "f")).to.throw(
      XdsError,
      "f: regex program size 3004 (counted before compiling) exceeds the limit 100 (maxRegexProgramSize)",
    );
    // 1,000 counted repetitions: re2js would build a million instructions (about a second); the bound answers at once.
    const huge = ".{1000}".repeat(1000);
    expect(() => compileSafeRegex(huge, "f")).to.throw(XdsError, "regex program size 1000002 (counted before compiling)");
  });

  it("measures by compiling when the text over-counts: alternatives re2js folds into one class", () => {
    // 52 one-letter alternatives count 106 from the text; re2js folds them into one class: 4 instructions in all.
    const pattern = `(?:${[..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"].join("|")})x`;
    expect(regexProgramSizeBound(pattern)).to.equal(106);
    expect(RE2JS.compile(pattern).programSize()).to.equal(4);
    expect(compileSafeRegex(pattern, "f").matches("Qx")).to.equal(true);
  });

  it("ignores google_re2.max_program_size: only the client's limit applies", () => {
    const m = create(RegexMatcherSchema, { regex: label, engineType: { case: "googleRe2", value: { maxProgramSize: 1000 } } });
    expect(() => compileRegexMatcher(m, "f")).to.throw(XdsError, "f.regex: regex program size 127 exceeds the limit 100");
    expect(compileRegexMatcher(m, "f", { maxProgramSize: 200 }).matches("a-1")).to.equal(true);
  });
});

describe("compileRegexMatcher", () => {
  it("compiles the regex of a RegexMatcher and ignores google_re2", () => {
    const m = create(RegexMatcherSchema, { regex: "v[0-9]+", engineType: { case: "googleRe2", value: { maxProgramSize: 1 } } });
    expect(compileRegexMatcher(m, "f").matches("v12")).to.equal(true);
  });

  it("rejects an unset matcher and an empty regex, naming the field", () => {
    expectInvalid(() => compileRegexMatcher(undefined, "x.safe_regex"), "x.safe_regex", "not set");
    expectInvalid(() => compileRegexMatcher(create(RegexMatcherSchema, {}), "x.safe_regex"), "x.safe_regex.regex", "empty");
  });
});

describe("compileSafeRegex literal-prefix fast path", () => {
  it("finds the literal every match starts with, and only ASCII", () => {
    expect(compileSafeRegex("/bench\\.Svc12/(Get|List)[A-Z][a-z]*", "f").literalPrefix).to.equal("/bench.Svc12/");
    expect(compileSafeRegex("v[0-9]+", "f").literalPrefix).to.equal("v");
    expect(compileSafeRegex("abc", "f").literalPrefix).to.equal("abc");
    expect(compileSafeRegex("ab?c", "f").literalPrefix).to.equal("a");
    expect(compileSafeRegex("a|b", "f").literalPrefix).to.equal("");
    expect(compileSafeRegex("(?i)abc", "f").literalPrefix).to.equal("");
    expect(compileSafeRegex("^abc", "f").literalPrefix).to.equal("");
    expect(compileSafeRegex(".*x", "f").literalPrefix).to.equal("");
    expect(compileSafeRegex("ab\u00e9cd", "f").literalPrefix).to.equal("ab");
  });

  it("answers exactly as the plain re2js full match (property)", () => {
    // Patterns from literal runs, escapes, classes, groups, alternation, quantifiers and flags over a small
    // alphabet; inputs from the same alphabet, often the pattern's own literal text with a few edits.
    const atom = fc.oneof(
      fc.constantFrom("a", "b", "/", "\\.", ".", "[ab]", "[^a]", "\\d", "1", "\u00e9", "\\x{1F600}", "A"),
      fc.constantFrom("(a|b)", "(?:ab)", "(?i:a)", "(a|)", "\\b", "$", "^"),
    );
    const piece = fc.tuple(atom, fc.constantFrom("", "", "", "?", "*", "+", "{2}", "{0,1}")).map(([a, q]) => a + q);
    const pattern = fc
      .tuple(fc.constantFrom("", "", "(?i)", "(?s)", "(?U)"), fc.array(piece, { minLength: 1, maxLength: 6 }), fc.option(fc.array(piece, { maxLength: 3 })))
      .map(([flags, left, right]) => flags + left.join("") + (right === null ? "" : "|" + right.join("")));
    const input = fc.string({ unit: fc.constantFrom("a", "b", "/", ".", "1", "A", "\u00e9", "\ud83d", "\ude00", "\ud83d\ude00"), maxLength: 8 });
    fc.assert(
      fc.property(pattern, input, fc.array(fc.nat(), { maxLength: 3 }), (source, value, seeds) => {
        let plain: RE2JS;
        try {
          plain = RE2JS.compile(source);
        } catch {
          expect(() => compileSafeRegex(source, "f")).to.throw(XdsError);
          return;
        }
        const fast = compileSafeRegex(source, "f");
        // Also try inputs made from the literal prefix itself, which the fast path most needs to get right.
        const inputs = [value, fast.literalPrefix + value, ...seeds.map((n) => fast.literalPrefix.slice(0, n % (fast.literalPrefix.length + 1)) + value)];
        for (const candidate of inputs) {
          const expected = plain.matches(candidate);
          expect(fast.matches(candidate), `${JSON.stringify(source)} on ${JSON.stringify(candidate)}`).to.equal(expected);
          if (expected) expect(candidate.startsWith(fast.literalPrefix)).to.equal(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
