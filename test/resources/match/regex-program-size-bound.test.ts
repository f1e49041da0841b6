import { expect } from "chai";
import fc from "fast-check";
import { RE2JS } from "re2js";
import { regexProgramSizeBound } from "../../../src/resources/match/regex-program-size-bound.js";

/** re2js's own count, or undefined when re2js rejects the pattern. */
function programSize(pattern: string): number | undefined {
  try {
    return RE2JS.compile(pattern).programSize();
  } catch {
    return undefined;
  }
}

describe("regexProgramSizeBound", () => {
  const exact: [pattern: string, size: number][] = [
    ["", 3],
    ["a", 3],
    ["/N.{1000}.{1000}.{1000}", 3004],
    ["[a-z0-9-]{1,63}", 127],
    ["/asdf/.*".repeat(10), 82],
    ["/bench\\.Svc12/(Get|List)[A-Z][a-z]*", 28],
    ["v[0-9]+", 5],
    ["^/api/v[0-9]+/.*$", 15],
    ["\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}", 25],
    ["(?i)canary-[a-f0-9]{8}", 17],
    ["(?P<tenant>[a-z]+)\\.(?:eu|us)-[0-9]", 14],
    ["(?:a*b*)*", 8],
    ["x{2,}", 5],
    ["\\Qa.b\\E+", 6],
    ["[]a][^]b][[:alpha:]]", 5],
    ["\\p{Greek}\\pL\\x{263a}\\x41\\012", 7],
  ];
  for (const [pattern, size] of exact) {
    it(`counts ${JSON.stringify(pattern.length > 40 ? `${pattern.slice(0, 40)}…` : pattern)} as ${size}, as re2js compiles it`, () => {
      expect(programSize(pattern)).to.equal(size);
      expect(regexProgramSizeBound(pattern)).to.equal(size);
    });
  }

  it("counts more than re2js only where its parser folds or drops parts of the pattern", () => {
    // `a|b|c` becomes the class [a-c]; `abc|abd` becomes ab[cd]; an empty group and `{0}` compile to nothing.
    for (const pattern of ["a|b|c", "abc|abd", "a(?:)b", "ab{0}c", "(?:a*)*"]) {
      expect(regexProgramSizeBound(pattern), pattern).to.be.greaterThan(programSize(pattern)!);
    }
  });

  it("is never below re2js's program size, for patterns built from RE2's constructs (property)", () => {
    const atom = fc.constantFrom("a", "b", "\u00e9", ".", "[xy]", "[^a]", "\\d", "\\pL", "^", "$", "\\b", "(?:)", "\\Qz.\\E", "[^\\x00-\\x{10FFFF}]", "(?i)", "\\x{263a}", "\\012");
    const quantifier = fc.constantFrom("", "", "", "*", "+", "?", "{3}", "{0}", "{0,2}", "{2,}", "{1,4}", "*?", "??");
    const { pattern } = fc.letrec<{ pattern: string; piece: string; concat: string; group: string }>((tie) => ({
      pattern: fc.oneof({ depthSize: "small" }, tie("piece"), tie("concat"), tie("group")),
      piece: fc.tuple(atom, quantifier).map(([a, q]) => a + q),
      concat: fc.array(tie("pattern"), { minLength: 1, maxLength: 4 }).map((parts) => parts.join("")),
      group: fc
        .tuple(fc.constantFrom("(", "(?:", "(?P<g>", "(?i:"), fc.array(tie("pattern"), { minLength: 1, maxLength: 3 }), quantifier)
        .map(([open, alternatives, q]) => `${open}${alternatives.join("|")})${q}`),
    }));
    fc.assert(
      fc.property(pattern, (source) => {
        const size = programSize(source);
        if (size !== undefined) expect(regexProgramSizeBound(source), source).to.be.at.least(size);
      }),
      { numRuns: 5000 },
    );
  });

  it("is never below re2js's program size, for any sequence of RE2 tokens re2js accepts (property)", () => {
    // Token soup: unbalanced groups, stray braces and brackets, escapes at the end; most of it malformed.
    const token = fc.constantFrom(
      "a", ".", "*", "+", "?", "{2}", "{1,3}", "{2,}", "{,2}", "{", "}", ",", "(", ")", "(?:", "(?i)", "(?P<n>", "(?<m>",
      "(?=", "|", "[ab]", "[^a]", "[]a]", "[^]a]", "[[:alpha:]]", "[:", ":]", "]", "[", "-", "\\d", "\\pL", "\\p{Greek}",
      "\\Qa.b\\E", "\\Q", "\\E", "^", "$", "\\b", "\\A", "\\z", "\\x41", "\\x{41}", "\\012", "\\1", "\\.", "\\",
    );
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 12 }), (tokens) => {
        const source = tokens.join("");
        const size = programSize(source);
        if (size !== undefined) expect(regexProgramSizeBound(source), source).to.be.at.least(size);
      }),
      { numRuns: 20000 },
    );
  });

  it("reads a range whose high end is '[' as RE2 does, not as the start of a POSIX class (a property-test counterexample)", () => {
    for (const pattern of ["[:-[:[^a]:]", "[0-[:b]", "[\\x41-[:b]:]"]) {
      expect(regexProgramSizeBound(pattern), pattern).to.be.at.least(programSize(pattern)!);
    }
  });

  it("reads groups nested 100,000 deep without recursion, and saturates instead of overflowing", () => {
    const deep = `${"(".repeat(100_000)}a${")".repeat(100_000)}`;
    expect(regexProgramSizeBound(deep)).to.equal(200_003);
    const nested = `${"(?:".repeat(200)}a${"){1000}".repeat(200)}`;
    expect(regexProgramSizeBound(nested)).to.equal(Number.MAX_SAFE_INTEGER);
  });
});
