// A RouteMatch in words, for `rxds watch`, toJSON() and logs: `prefix "/pkg.Svc/", header stage exact "canary"`.
// It says what the match tests, not how it is compiled; the RouteMatch has been validated by compileRouteMatch.

import type { HeaderMatcher, QueryParameterMatcher, RouteMatch } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import type { StringMatcher } from "../../../gen/envoy/type/matcher/v3/string_pb.js";
import { denominatorOf } from "../fraction.js";

/** What a RouteMatch tests, as one line: the path, then each header, query parameter, `grpc` and the runtime fraction. */
export function routeMatchText(match: RouteMatch): string {
  const parts = [pathText(match)];
  for (const header of match.headers) parts.push(headerText(header));
  for (const query of match.queryParameters) parts.push(queryText(query));
  if (match.grpc !== undefined) parts.push("grpc");
  const fraction = match.runtimeFraction?.defaultValue;
  if (fraction !== undefined) parts.push(`fraction ${fraction.numerator}/${denominatorOf(fraction.denominator) ?? "?"}`);
  return parts.join(", ");
}

function pathText(match: RouteMatch): string {
  const spec = match.pathSpecifier;
  const anyCase = match.caseSensitive === false ? " (any case)" : "";
  switch (spec.case) {
    case "prefix":
      return `prefix ${JSON.stringify(spec.value)}${anyCase}`;
    case "path":
      return `path ${JSON.stringify(spec.value)}${anyCase}`;
    case "pathSeparatedPrefix":
      return `path_separated_prefix ${JSON.stringify(spec.value)}${anyCase}`;
    case "safeRegex":
      return `regex ${JSON.stringify(spec.value.regex)}`;
    case "connectMatcher":
      return "connect";
    case "pathMatchPolicy":
    case undefined:
      return "no path";
  }
}

function headerText(matcher: HeaderMatcher): string {
  const not = matcher.invertMatch ? "not " : "";
  const spec = matcher.headerMatchSpecifier;
  const name = `header ${matcher.name}`;
  switch (spec.case) {
    case "presentMatch":
      return `${name} ${spec.value !== matcher.invertMatch ? "present" : "absent"}`;
    case undefined:
      return `${name} ${matcher.invertMatch ? "absent" : "present"}`;
    case "exactMatch":
    case "prefixMatch":
    case "suffixMatch":
    case "containsMatch":
      return `${name} ${not}${spec.case.slice(0, -"Match".length)} ${JSON.stringify(spec.value)}`;
    case "safeRegexMatch":
      return `${name} ${not}regex ${JSON.stringify(spec.value.regex)}`;
    case "stringMatch":
      return `${name} ${not}${stringText(spec.value)}`;
    case "rangeMatch":
      return `${name} ${not}in [${spec.value.start}, ${spec.value.end})`;
  }
}

function queryText(matcher: QueryParameterMatcher): string {
  const spec = matcher.queryParameterMatchSpecifier;
  const name = `query ${matcher.name}`;
  switch (spec.case) {
    case "stringMatch":
      return `${name} ${stringText(spec.value)}`;
    case "presentMatch":
      return `${name} ${spec.value ? "present" : "absent"}`;
    case undefined:
      return `${name} present`;
  }
}

function stringText(matcher: StringMatcher): string {
  const pattern = matcher.matchPattern;
  const anyCase = matcher.ignoreCase ? " (any case)" : "";
  switch (pattern.case) {
    case "exact":
    case "prefix":
    case "suffix":
    case "contains":
      return `${pattern.case} ${JSON.stringify(pattern.value)}${anyCase}`;
    case "safeRegex":
      return `regex ${JSON.stringify(pattern.value.regex)}`;
    case "custom":
    case undefined:
      return "custom";
  }
}
