// routeMatchText: each part of a RouteMatch in words, in the order the router tests them.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "chai";
import { RouteMatchSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RuntimeFractionalPercentSchema } from "../../gen/envoy/config/core/v3/base_pb.js";
import { FractionalPercent_DenominatorType } from "../../gen/envoy/type/v3/percent_pb.js";
import { routeMatchText } from "../../src/resources/match/route-match-text.js";

const text = (init: MessageInitShape<typeof RouteMatchSchema>) => routeMatchText(create(RouteMatchSchema, init));
const regex = (pattern: string) => ({ regex: pattern });

describe("routeMatchText", () => {
  it("names the path specifier, and case folding where it applies", () => {
    expect(text({ pathSpecifier: { case: "prefix", value: "/" } })).to.equal('prefix "/"');
    expect(text({ pathSpecifier: { case: "path", value: "/pkg.S/M" }, caseSensitive: false })).to.equal('path "/pkg.S/M" (any case)');
    expect(text({ pathSpecifier: { case: "pathSeparatedPrefix", value: "/api" } })).to.equal('path_separated_prefix "/api"');
    expect(text({ pathSpecifier: { case: "safeRegex", value: regex("/pkg\\..*") } })).to.equal('regex "/pkg\\\\..*"');
    expect(text({ pathSpecifier: { case: "connectMatcher", value: {} } })).to.equal("connect");
  });

  it("adds each header matcher with its kind and value, inverted ones with `not`, presence as present or absent", () => {
    const headers: MessageInitShape<typeof RouteMatchSchema>["headers"] = [
      { name: "stage", headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "exact", value: "canary" } } } },
      { name: "user", headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "prefix", value: "ad" }, ignoreCase: true } }, invertMatch: true },
      { name: "x-old", headerMatchSpecifier: { case: "exactMatch", value: "1" } },
      { name: "x-re", headerMatchSpecifier: { case: "safeRegexMatch", value: regex("a+") } },
      { name: "x-range", headerMatchSpecifier: { case: "rangeMatch", value: { start: 1n, end: 5n } } },
      { name: "x-here", headerMatchSpecifier: { case: "presentMatch", value: true } },
      { name: "x-gone", headerMatchSpecifier: { case: "presentMatch", value: true }, invertMatch: true },
      { name: "x-none" },
    ];
    expect(text({ pathSpecifier: { case: "prefix", value: "/" }, headers })).to.equal(
      'prefix "/", header stage exact "canary", header user not prefix "ad" (any case), header x-old exact "1", header x-re regex "a+", ' +
        "header x-range in [1, 5), header x-here present, header x-gone absent, header x-none present",
    );
  });

  it("adds query parameters, grpc and the runtime fraction after the headers", () => {
    const runtimeFraction = create(RuntimeFractionalPercentSchema, { defaultValue: { numerator: 25, denominator: FractionalPercent_DenominatorType.TEN_THOUSAND } });
    expect(
      text({
        pathSpecifier: { case: "prefix", value: "/" },
        queryParameters: [
          { name: "debug", queryParameterMatchSpecifier: { case: "presentMatch", value: true } },
          { name: "v", queryParameterMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "suffix", value: "2" } } } },
        ],
        grpc: {},
        runtimeFraction,
      }),
    ).to.equal('prefix "/", query debug present, query v suffix "2", grpc, fraction 25/10000');
  });
});
