import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "chai";
import { HeaderMatcherSchema } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import { compileHeaderMatcher, readHeader } from "../../../src/resources/match/header-matcher.js";
import type { RequestHeaders } from "../../../src/resources/match/route-match.js";
import { XdsError } from "../../../src/xds-error.js";

type Init = MessageInitShape<typeof HeaderMatcherSchema>;
type Spec = NonNullable<Init["headerMatchSpecifier"]>;

const exact = (value: string): Spec => ({ case: "exactMatch", value });
const present = (value: boolean): Spec => ({ case: "presentMatch", value });
const range = (start: bigint, end: bigint): Spec => ({ case: "rangeMatch", value: { start, end } });

function matches(init: Init, headers: RequestHeaders): boolean {
  return compileHeaderMatcher(create(HeaderMatcherSchema, init), "h")(headers);
}

describe("compileHeaderMatcher", () => {
  const table: [name: string, init: Init, headers: RequestHeaders, expected: boolean][] = [
    // exact_match (deprecated form)
    ["exact_match matches an equal value", { name: "x-env", headerMatchSpecifier: exact("canary") }, { "x-env": "canary" }, true],
    ["exact_match rejects another value", { name: "x-env", headerMatchSpecifier: exact("canary") }, { "x-env": "prod" }, false],
    ["exact_match rejects an absent header", { name: "x-env", headerMatchSpecifier: exact("canary") }, {}, false],
    ["the configured name is lower-cased", { name: "X-Env", headerMatchSpecifier: exact("canary") }, { "x-env": "canary" }, true],
    // other deprecated forms
    ["prefix_match", { name: "h", headerMatchSpecifier: { case: "prefixMatch", value: "ab" } }, { h: "abc" }, true],
    ["prefix_match negative", { name: "h", headerMatchSpecifier: { case: "prefixMatch", value: "ab" } }, { h: "cab" }, false],
    ["suffix_match", { name: "h", headerMatchSpecifier: { case: "suffixMatch", value: "bc" } }, { h: "abc" }, true],
    ["suffix_match negative", { name: "h", headerMatchSpecifier: { case: "suffixMatch", value: "bc" } }, { h: "bca" }, false],
    ["contains_match (grpc-js-xds NACKs it)", { name: "h", headerMatchSpecifier: { case: "containsMatch", value: "b" } }, { h: "abc" }, true],
    ["contains_match negative", { name: "h", headerMatchSpecifier: { case: "containsMatch", value: "z" } }, { h: "abc" }, false],
    ["safe_regex_match is a full match", { name: "h", headerMatchSpecifier: { case: "safeRegexMatch", value: { regex: "[0-9]{3}" } } }, { h: "123" }, true],
    ["safe_regex_match does not match a substring", { name: "h", headerMatchSpecifier: { case: "safeRegexMatch", value: { regex: "[0-9]{3}" } } }, { h: "1234" }, false],
    // string_match
    ["string_match exact with ignore_case", { name: "h", headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "exact", value: "Canary" }, ignoreCase: true } } }, { h: "CANARY" }, true],
    ["string_match suffix", { name: "h", headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "suffix", value: "-v2" } } } }, { h: "echo-v1" }, false],
    // present_match
    ["present_match true matches a present header", { name: "h", headerMatchSpecifier: present(true) }, { h: "" }, true],
    ["present_match true rejects an absent header", { name: "h", headerMatchSpecifier: present(true) }, {}, false],
    ["present_match false matches an absent header", { name: "h", headerMatchSpecifier: present(false) }, {}, true],
    ["present_match false rejects a present header (grpc-js-xds treats false as true)", { name: "h", headerMatchSpecifier: present(false) }, { h: "x" }, false],
    ["present_match false with invert_match matches a present header", { name: "h", headerMatchSpecifier: present(false), invertMatch: true }, { h: "x" }, true],
    ["present_match true with invert_match matches an absent header", { name: "h", headerMatchSpecifier: present(true), invertMatch: true }, {}, true],
    ["present_match false with treat_missing_header_as_empty counts an absent header as present", { name: "h", headerMatchSpecifier: present(false), treatMissingHeaderAsEmpty: true }, {}, false],
    ["no specifier is a legacy present match", { name: "h" }, { h: "x" }, true],
    ["no specifier rejects an absent header", { name: "h" }, {}, false],
    ["an empty array of values is an absent header", { name: "h", headerMatchSpecifier: present(true) }, { h: [] }, false],
    // range_match
    ["range_match includes start", { name: "n", headerMatchSpecifier: range(-10n, 0n) }, { n: "-10" }, true],
    ["range_match includes -1", { name: "n", headerMatchSpecifier: range(-10n, 0n) }, { n: "-1" }, true],
    ["range_match excludes end", { name: "n", headerMatchSpecifier: range(-10n, 0n) }, { n: "0" }, false],
    ["range_match accepts a plus sign", { name: "n", headerMatchSpecifier: range(0n, 10n) }, { n: "+5" }, true],
    ["range_match rejects a float", { name: "n", headerMatchSpecifier: range(-100n, 100n) }, { n: "10.9" }, false],
    ["range_match rejects trailing text", { name: "n", headerMatchSpecifier: range(-100n, 100n) }, { n: "-1somestring" }, false],
    ["range_match rejects an empty value", { name: "n", headerMatchSpecifier: range(-100n, 100n) }, { n: "" }, false],
    ["range_match rejects a lone sign", { name: "n", headerMatchSpecifier: range(-100n, 100n) }, { n: "-" }, false],
    ["range_match rejects whitespace", { name: "n", headerMatchSpecifier: range(-100n, 100n) }, { n: " 5" }, false],
    ["range_match compares int64 values beyond 2^53 exactly", { name: "n", headerMatchSpecifier: range(9007199254740993n, 9007199254740994n) }, { n: "9007199254740993" }, true],
    ["range_match excludes the int64 value just below start", { name: "n", headerMatchSpecifier: range(9007199254740993n, 9007199254740994n) }, { n: "9007199254740992" }, false],
    ["range_match rejects values overflowing int64", { name: "n", headerMatchSpecifier: range(-(2n ** 63n), 2n ** 63n - 1n) }, { n: "9223372036854775808" }, false],
    ["range_match accepts int64 min", { name: "n", headerMatchSpecifier: range(-(2n ** 63n), 0n) }, { n: "-9223372036854775808" }, true],
    // invert_match and treat_missing_header_as_empty
    ["invert_match flips a mismatch into a match", { name: "h", headerMatchSpecifier: exact("a"), invertMatch: true }, { h: "b" }, true],
    ["invert_match flips a match into a mismatch", { name: "h", headerMatchSpecifier: exact("a"), invertMatch: true }, { h: "a" }, false],
    ["invert_match does not turn an absent header into a match (grpc-js-xds does)", { name: "h", headerMatchSpecifier: exact("a"), invertMatch: true }, {}, false],
    ["treat_missing_header_as_empty matches an absent header against an empty regex match", { name: "h", headerMatchSpecifier: { case: "safeRegexMatch", value: { regex: "^$" } }, treatMissingHeaderAsEmpty: true }, {}, true],
    ["treat_missing_header_as_empty with invert_match: empty is outside the range, so it matches", { name: "h", headerMatchSpecifier: range(0n, 10n), invertMatch: true, treatMissingHeaderAsEmpty: true }, {}, true],
    ["without treat_missing_header_as_empty an inverted range ignores an absent header", { name: "h", headerMatchSpecifier: range(0n, 10n), invertMatch: true }, {}, false],
    // gRPC rules (gRFC A28)
    ["a -bin header never matches", { name: "trace-bin", headerMatchSpecifier: present(true) }, { "trace-bin": "AAEC" }, false],
    ["a -bin header never matches even with invert_match (grpc-js-xds matches)", { name: "trace-bin", headerMatchSpecifier: exact("x"), invertMatch: true }, { "trace-bin": "AAEC" }, false],
    ["a -bin header with present_match false never matches", { name: "trace-bin", headerMatchSpecifier: present(false) }, {}, false],
    ["several values are joined with a comma", { name: "h", headerMatchSpecifier: exact("a,b") }, { h: ["a", "b"] }, true],
    ["several values are not matched one by one", { name: "h", headerMatchSpecifier: exact("a") }, { h: ["a", "b"] }, false],
    ["a single-element array is its only value", { name: "h", headerMatchSpecifier: exact("a") }, { h: ["a"] }, true],
  ];
  for (const [name, init, headers, expected] of table) {
    it(`${name} → ${expected}`, () => {
      expect(matches(init, headers)).to.equal(expected);
    });
  }

  const invalid: [name: string, init: Init, fragment: string][] = [
    ["an empty header name", { name: "", headerMatchSpecifier: present(true) }, "h.name: must not be empty"],
    ["an empty prefix_match", { name: "h", headerMatchSpecifier: { case: "prefixMatch", value: "" } }, "h.prefix_match"],
    ["an invalid safe_regex_match", { name: "h", headerMatchSpecifier: { case: "safeRegexMatch", value: { regex: "(" } } }, "h.safe_regex_match.regex"],
    ["an invalid regex on a -bin header", { name: "x-bin", headerMatchSpecifier: { case: "safeRegexMatch", value: { regex: "(" } } }, "h.safe_regex_match.regex"],
    ["a string_match without a pattern", { name: "h", headerMatchSpecifier: { case: "stringMatch", value: {} } }, "h.string_match: no match pattern"],
  ];
  for (const [name, init, fragment] of invalid) {
    it(`rejects ${name} with INVALID_RESOURCE naming the field path`, () => {
      const compile = (): unknown => compileHeaderMatcher(create(HeaderMatcherSchema, init), "h");
      expect(compile).to.throw(XdsError, fragment).with.property("code", "INVALID_RESOURCE");
    });
  }
});

describe("readHeader", () => {
  it("returns undefined for an absent header, the value for one value, and a comma-joined string for several", () => {
    expect(readHeader({}, "h")).to.equal(undefined);
    expect(readHeader({ h: "a" }, "h")).to.equal("a");
    expect(readHeader({ h: ["a", "b", "c"] }, "h")).to.equal("a,b,c");
  });
});
