import { create } from "@bufbuild/protobuf";
import { expect } from "chai";
import { RegexMatcherSchema } from "../../../gen/envoy/type/matcher/v3/regex_pb.js";
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
