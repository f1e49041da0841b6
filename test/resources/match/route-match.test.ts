import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "chai";
import { RouteMatchSchema, type RouteMatch } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import { FractionalPercent_DenominatorType } from "../../../gen/envoy/type/v3/percent_pb.js";
import { compileRouteMatch, type RouteRequest } from "../../../src/resources/match/route-match.js";
import { XdsError } from "../../../src/xds-error.js";

/** The plain-object form of a RouteMatch init (so that spreads keep their field types). */
type Init = Exclude<MessageInitShape<typeof RouteMatchSchema>, RouteMatch>;

const never = (): number => {
  throw new Error("random must not be drawn");
};

function matches(init: Init, path: string, headers: RouteRequest["headers"] = {}, random: () => number = never): boolean {
  return compileRouteMatch(create(RouteMatchSchema, init), "m")({ path, headers }, random);
}

const prefix = (value: string): Init => ({ pathSpecifier: { case: "prefix", value } });
const exactPath = (value: string): Init => ({ pathSpecifier: { case: "path", value } });
const regex = (value: string): Init => ({ pathSpecifier: { case: "safeRegex", value: { regex: value } } });
const separated = (value: string): Init => ({ pathSpecifier: { case: "pathSeparatedPrefix", value } });
const grpcCt = { "content-type": "application/grpc" };

describe("compileRouteMatch", () => {
  const table: [name: string, init: Init, path: string, headers: RouteRequest["headers"], expected: boolean][] = [
    ["prefix matches the start of the path", prefix("/pkg.Svc/"), "/pkg.Svc/Get", {}, true],
    ["prefix rejects another service", prefix("/pkg.Svc/"), "/pkg.Other/Get", {}, false],
    ["empty prefix matches everything", prefix(""), "/anything", {}, true],
    ["prefix is case-sensitive by default", prefix("/pkg.svc/"), "/pkg.Svc/Get", {}, false],
    ["prefix with case_sensitive false folds case", { ...prefix("/PKG.svc/"), caseSensitive: false }, "/pkg.Svc/Get", {}, true],
    ["prefix ignores the query string", prefix("/a/b"), "/a?b", {}, false],
    ["case-insensitive prefix ignores the query string", { ...prefix("/a/b"), caseSensitive: false }, "/a?/b", {}, false],
    ["path matches the exact path", exactPath("/pkg.Svc/Get"), "/pkg.Svc/Get", {}, true],
    ["path ignores the query string", exactPath("/pkg.Svc/Get"), "/pkg.Svc/Get?x=1", {}, true],
    ["path rejects a longer path", exactPath("/pkg.Svc/Get"), "/pkg.Svc/GetAll", {}, false],
    ["path with case_sensitive false folds case", { ...exactPath("/Pkg.Svc/Get"), caseSensitive: false }, "/pkg.svc/GET", {}, true],
    ["path with case_sensitive true stays case-sensitive", { ...exactPath("/Pkg.Svc/Get"), caseSensitive: true }, "/pkg.svc/GET", {}, false],
    ["safe_regex full-matches the path", regex("/pkg\\.Svc/(Get|List)"), "/pkg.Svc/List", {}, true],
    ["safe_regex does not match a substring of the path", regex("/pkg\\.Svc/Get"), "/pkg.Svc/GetAll", {}, false],
    ["safe_regex ignores the query string", regex("/pkg\\.Svc/Get"), "/pkg.Svc/Get?a=b", {}, true],
    ["safe_regex ignores case_sensitive false", { ...regex("/pkg\\.svc/get"), caseSensitive: false }, "/pkg.Svc/Get", {}, false],
    ["path_separated_prefix matches the exact prefix", separated("/api/dev"), "/api/dev", {}, true],
    ["path_separated_prefix matches a sub-path", separated("/api/dev"), "/api/dev/v1", {}, true],
    ["path_separated_prefix matches with a query string", separated("/api/dev"), "/api/dev?param=true", {}, true],
    ["path_separated_prefix rejects a longer segment", separated("/api/dev"), "/api/developer", {}, false],
    ["path_separated_prefix with case_sensitive false", { ...separated("/API/dev"), caseSensitive: false }, "/api/DEV/x", {}, true],
    ["connect_matcher never matches a client request", { pathSpecifier: { case: "connectMatcher", value: {} } }, "/x", {}, false],
    ["all headers must match", { ...prefix("/"), headers: [{ name: "a", headerMatchSpecifier: { case: "exactMatch", value: "1" } }, { name: "b", headerMatchSpecifier: { case: "presentMatch", value: true } }] }, "/x", { a: "1", b: "" }, true],
    ["one failing header fails the route", { ...prefix("/"), headers: [{ name: "a", headerMatchSpecifier: { case: "exactMatch", value: "1" } }, { name: "b", headerMatchSpecifier: { case: "presentMatch", value: true } }] }, "/x", { a: "1" }, false],
    ["grpc matches application/grpc", { ...prefix("/"), grpc: {} }, "/x", grpcCt, true],
    ["grpc matches application/grpc+proto", { ...prefix("/"), grpc: {} }, "/x", { "content-type": "application/grpc+proto" }, true],
    ["grpc rejects application/json", { ...prefix("/"), grpc: {} }, "/x", { "content-type": "application/json" }, false],
    ["grpc rejects application/grpcx", { ...prefix("/"), grpc: {} }, "/x", { "content-type": "application/grpcx" }, false],
    ["grpc rejects a request without content-type", { ...prefix("/"), grpc: {} }, "/x", {}, false],
    ["tls_context is ignored on the client", { ...prefix("/"), tlsContext: { presented: true } }, "/x", {}, true],
  ];
  for (const [name, init, path, headers, expected] of table) {
    it(`${name}: ${path} → ${expected}`, () => {
      expect(matches(init, path, headers)).to.equal(expected);
    });
  }

  describe("query_parameters (grpc-js-xds ignores them and always matches)", () => {
    const q = (name: string, spec: NonNullable<Init["queryParameters"]>[number]["queryParameterMatchSpecifier"]): Init => ({
      ...prefix("/"),
      queryParameters: [spec === undefined ? { name } : { name, queryParameterMatchSpecifier: spec }],
    });
    const eq = (value: string): NonNullable<Init["queryParameters"]>[number]["queryParameterMatchSpecifier"] => ({
      case: "stringMatch",
      value: { matchPattern: { case: "exact", value } },
    });
    const cases: [name: string, init: Init, path: string, expected: boolean][] = [
      ["string_match matches the value", q("debug", eq("1")), "/x?debug=1", true],
      ["string_match rejects another value", q("debug", eq("1")), "/x?debug=0", false],
      ["string_match rejects a path without a query", q("debug", eq("1")), "/x", false],
      ["string_match rejects a missing parameter", q("debug", eq("1")), "/x?other=1", false],
      ["only the first value of a repeated key counts", q("debug", eq("1")), "/x?debug=0&debug=1", false],
      ["the value is percent-decoded", q("who", eq("a b")), "/x?who=a%20b", true],
      ["the key is percent-decoded", q("a b", eq("1")), "/x?a%20b=1", true],
      ["a bare key has an empty value", q("flag", eq("")), "/x?flag", true],
      ["a key is not matched by a prefix of another key", q("de", eq("1")), "/x?debug=1", false],
      ["a later parameter is found", q("b", eq("2")), "/x?a=1&b=2&c=3", true],
      ["present_match true matches a present key", q("flag", { case: "presentMatch", value: true }), "/x?flag", true],
      ["present_match true rejects an absent key", q("flag", { case: "presentMatch", value: true }), "/x?other", false],
      ["present_match false matches an absent key", q("flag", { case: "presentMatch", value: false }), "/x?other", true],
      ["present_match false rejects a present key", q("flag", { case: "presentMatch", value: false }), "/x?flag=1", false],
      ["no specifier is a presence check", q("flag", undefined), "/x?flag=1", true],
    ];
    for (const [name, init, path, expected] of cases) {
      it(`${name}: ${path} → ${expected}`, () => {
        expect(matches(init, path)).to.equal(expected);
      });
    }
  });

  describe("runtime_fraction", () => {
    const fraction = (numerator: number, denominator: FractionalPercent_DenominatorType): Init => ({
      ...prefix("/"),
      runtimeFraction: { defaultValue: { numerator, denominator } },
    });
    const { HUNDRED, TEN_THOUSAND, MILLION } = FractionalPercent_DenominatorType;
    const cases: [name: string, init: Init, random: number, expected: boolean][] = [
      ["25/100 matches a draw of 24", fraction(25, HUNDRED), 0.24, true],
      ["25/100 rejects a draw of 25", fraction(25, HUNDRED), 0.25, false],
      ["0/100 never matches", fraction(0, HUNDRED), 0, false],
      ["100/100 matches the highest draw", fraction(100, HUNDRED), 0.999999, true],
      ["a numerator above the denominator is capped at 100%", fraction(500, HUNDRED), 0.999999, true],
      ["1/10000 matches a draw of 0", fraction(1, TEN_THOUSAND), 0.00005, true],
      ["1/10000 rejects a draw of 1", fraction(1, TEN_THOUSAND), 0.0001, false],
      ["1/1000000 matches a draw of 0", fraction(1, MILLION), 0.0000005, true],
      ["1/1000000 rejects a draw of 1", fraction(1, MILLION), 0.000001, false],
    ];
    for (const [name, init, random, expected] of cases) {
      it(`${name} → ${expected}`, () => {
        expect(matches(init, "/x", {}, () => random)).to.equal(expected);
      });
    }

    it("draws no random number when the path does not match", () => {
      expect(matches({ ...fraction(50, HUNDRED), pathSpecifier: { case: "path", value: "/y" } }, "/x")).to.equal(false);
    });
  });

  const invalid: [name: string, init: Init, fragment: string][] = [
    ["a match without a path specifier", {}, "m: no path specifier"],
    ["path_match_policy", { pathSpecifier: { case: "pathMatchPolicy", value: { name: "uri_template" } } }, "m.path_match_policy"],
    ["an invalid safe_regex", regex("(unclosed"), "m.safe_regex.regex"],
    ["a path_separated_prefix ending in /", separated("/api/"), "m.path_separated_prefix"],
    ["a path_separated_prefix with a ?", separated("/api?x"), "m.path_separated_prefix"],
    ["an invalid header matcher, naming its index", { ...prefix("/"), headers: [{ name: "a" }, { name: "b", headerMatchSpecifier: { case: "safeRegexMatch", value: { regex: "[" } } }] }, "m.headers[1].safe_regex_match.regex"],
    ["an invalid query parameter matcher, naming its index", { ...prefix("/"), queryParameters: [{ name: "q", queryParameterMatchSpecifier: { case: "stringMatch", value: {} } }] }, "m.query_parameters[0].string_match"],
    ["a query parameter without a name", { ...prefix("/"), queryParameters: [{ name: "" }] }, "m.query_parameters[0].name"],
    ["a runtime_fraction without default_value", { ...prefix("/"), runtimeFraction: { runtimeKey: "k" } }, "m.runtime_fraction.default_value"],
    ["an unknown denominator", { ...prefix("/"), runtimeFraction: { defaultValue: { numerator: 1, denominator: 7 as FractionalPercent_DenominatorType } } }, "m.runtime_fraction.default_value.denominator"],
  ];
  for (const [name, init, fragment] of invalid) {
    it(`rejects ${name} with INVALID_RESOURCE`, () => {
      const compile = (): unknown => compileRouteMatch(create(RouteMatchSchema, init), "m");
      expect(compile).to.throw(XdsError, fragment).with.property("code", "INVALID_RESOURCE");
    });
  }
});
