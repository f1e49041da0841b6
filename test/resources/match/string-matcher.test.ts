import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "chai";
import { StringMatcherSchema } from "../../../gen/envoy/type/matcher/v3/string_pb.js";
import { compileStringMatcher, compileStringPattern } from "../../../src/resources/match/string-matcher.js";
import { XdsError } from "../../../src/xds-error.js";

type Init = MessageInitShape<typeof StringMatcherSchema>;

function matcher(init: Init): (value: string) => boolean {
  return compileStringMatcher(create(StringMatcherSchema, init), "m");
}

function regex(pattern: string): NonNullable<Init["matchPattern"]> {
  return { case: "safeRegex", value: { regex: pattern } };
}

describe("compileStringMatcher", () => {
  const table: [name: string, init: Init, value: string, expected: boolean][] = [
    ["exact matches the same string", { matchPattern: { case: "exact", value: "canary" } }, "canary", true],
    ["exact is case-sensitive by default", { matchPattern: { case: "exact", value: "canary" } }, "Canary", false],
    ["exact does not match a longer string", { matchPattern: { case: "exact", value: "canary" } }, "canary2", false],
    ["empty exact matches only the empty string", { matchPattern: { case: "exact", value: "" } }, "", true],
    ["empty exact does not match a non-empty string", { matchPattern: { case: "exact", value: "" } }, "x", false],
    ["exact with ignore_case folds ASCII", { matchPattern: { case: "exact", value: "CaNary" }, ignoreCase: true }, "cAnARY", true],
    ["exact with ignore_case still compares length", { matchPattern: { case: "exact", value: "ab" }, ignoreCase: true }, "AB ", false],
    ["ignore_case folds ASCII only (Kelvin sign is not k)", { matchPattern: { case: "exact", value: "k" }, ignoreCase: true }, "\u212A", false],
    ["prefix matches a prefix", { matchPattern: { case: "prefix", value: "v1." } }, "v1.2", true],
    ["prefix does not match elsewhere", { matchPattern: { case: "prefix", value: "v1." } }, "xv1.2", false],
    ["prefix with ignore_case", { matchPattern: { case: "prefix", value: "V1." }, ignoreCase: true }, "v1.2", true],
    ["prefix longer than value does not match", { matchPattern: { case: "prefix", value: "abc" }, ignoreCase: true }, "ab", false],
    ["suffix matches a suffix", { matchPattern: { case: "suffix", value: ".com" } }, "a.com", true],
    ["suffix does not match a prefix", { matchPattern: { case: "suffix", value: ".com" } }, ".coma", false],
    ["suffix with ignore_case", { matchPattern: { case: "suffix", value: ".COM" }, ignoreCase: true }, "a.Com", true],
    ["suffix longer than value does not match", { matchPattern: { case: "suffix", value: "abc" }, ignoreCase: true }, "bc", false],
    ["contains matches inside", { matchPattern: { case: "contains", value: "nar" } }, "canary", true],
    ["contains does not match absent text", { matchPattern: { case: "contains", value: "nar" } }, "canopy", false],
    ["contains with ignore_case", { matchPattern: { case: "contains", value: "NaR" }, ignoreCase: true }, "CANARY", true],
    ["safe_regex is a full match", { matchPattern: regex("v[0-9]+") }, "v12", true],
    ["safe_regex does not match a substring", { matchPattern: regex("v[0-9]+") }, "xv12", false],
    ["ignore_case does not apply to safe_regex", { matchPattern: regex("abc"), ignoreCase: true }, "ABC", false],
  ];
  for (const [name, init, value, expected] of table) {
    it(`${name}: ${JSON.stringify(value)} → ${expected}`, () => {
      expect(matcher(init)(value)).to.equal(expected);
    });
  }

  const invalid: [name: string, init: Init | undefined, fragment: string][] = [
    ["no pattern set", {}, "no match pattern"],
    ["empty prefix", { matchPattern: { case: "prefix", value: "" } }, "m.prefix: must not be empty"],
    ["empty suffix", { matchPattern: { case: "suffix", value: "" } }, "m.suffix: must not be empty"],
    ["empty contains", { matchPattern: { case: "contains", value: "" } }, "m.contains: must not be empty"],
    ["invalid regex", { matchPattern: regex("(unclosed") }, "m.safe_regex.regex"],
    ["custom extension", { matchPattern: { case: "custom", value: {} } }, "m.custom"],
  ];
  for (const [name, init, fragment] of invalid) {
    it(`rejects ${name} with INVALID_RESOURCE naming the field path`, () => {
      const compile = (): unknown => compileStringMatcher(init === undefined ? undefined : create(StringMatcherSchema, init), "m");
      expect(compile).to.throw(XdsError, fragment);
    });
  }

  it("rejects an unset matcher, naming the field path", () => {
    expect(() => compileStringMatcher(undefined, "a.b")).to.throw(XdsError, "a.b: string matcher is not set");
  });
});

describe("compileStringPattern", () => {
  it("compiles a literal pattern without a StringMatcher message", () => {
    expect(compileStringPattern("suffix", "-canary", false, "f")("v2-canary")).to.equal(true);
    expect(compileStringPattern("suffix", "-canary", false, "f")("v2-CANARY")).to.equal(false);
  });
});
