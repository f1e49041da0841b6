// RouteConfiguration (RDS, or a listener's inline route_config) validated into a model that
// routes calls synchronously: matchers compiled, weighted pickers built, policies parsed.
//
// What is rejected (NACKed) and what fails only the calls that reach it — following gRFC A28
// and A46: a resource is rejected when it is malformed, so that a bad update never replaces a
// good one; a well-formed route that a client cannot carry out fails only the calls it matches.
//
// Rejected, with a reason naming the resource and the field path:
// - a virtual host with an empty `domains` list, a malformed domain (empty, or a `*` other than
//   one leading or trailing wildcard), or a domain listed twice across virtual hosts (ASCII case
//   ignored, as Envoy does);
// - a route without `match`, or whose match does not compile: no path specifier,
//   `path_match_policy`, an invalid `safe_regex` (RE2 syntax, checked here, never later) or one
//   whose program exceeds the regex limit (see match/safe-regex.ts), an empty string pattern, an
//   unknown runtime fraction denominator, … (see match/route-match.ts);
// - a route without an action, a `route` action without a cluster specifier, an empty cluster
//   name or cluster_header, weighted_clusters with no entry, an entry with neither or both of
//   name and cluster_header, or weights summing to 0 or past 2^32−1;
// - a bad duration anywhere (negative, out of range), `retry_policy.num_retries` 0,
//   `retry_back_off` without a positive `base_interval` or with `max_interval` < base;
// - a hash policy without a specifier, with an empty header / key / name, or a bad rewrite regex.
//
// Accepted, failing per call with UNSUPPORTED_ACTION (see route-action.ts): redirect,
// direct_response, filter_action, non_forwarding_action and cluster specifier plugins.
// (grpc-js-xds NACKs the first three and crashes on the fourth.) Accepted and ignored: the
// deprecated `total_weight`, `vhds`, header mutations, CORS, rate limits, request mirroring,
// rewrites, `idle_timeout`, `max_grpc_timeout`. `typed_per_filter_config` is read at each level
// (http-filter-config.ts): the configs of the filters rxds applies (fault, local rate limit) are
// validated (a bad one rejects the resource); entries of other types are kept and ignored, since a
// route configuration may serve sidecar listeners full of filters rxds skips.
//
// The route `timeout` is kept in ms, with 0 (explicitly none) and unset both meaning none. A
// route's `retry_policy` replaces its virtual host's (they are not merged, as A44 says).

import type { Route, VirtualHost } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import { lazyMessageType, type ResourceType } from "../client/resource-type.js";
import { routeConfigurationSchema } from "../client/resource-schemas.js";
import { createVirtualHostSelector, findMalformedDomain } from "./match/virtual-host-selection.js";
import { optionalDurationMillis } from "./duration.js";
import { fieldPath, fieldRejecter, type Reject } from "./field-error.js";
import { asciiLower } from "./match/ascii-case.js";
import { compileRouteMatchWithPrefix, type RouteMatcher } from "./match/route-match.js";
import { routeMatchText } from "./match/route-match-text.js";
import { defaultRegexLimits, type RegexLimits } from "./match/safe-regex.js";
import { buildFilterOverrides } from "./http-filter-config.js";
import { buildRouteAction, type FilterConfigOverrides, type RouteActionModel } from "./route-action.js";
import {
  buildHashPolicies,
  buildMaxStreamDuration,
  buildRetryPolicy,
  checked,
  type HashPolicyModel,
  type MaxStreamDurationModel,
  type RetryPolicyModel,
} from "./route-policies.js";

/** One validated route of a virtual host. */
export interface RouteModel {
  /** Route.name; "" when unnamed. */
  readonly name: string;
  /** Its index in the virtual host's routes. */
  readonly index: number;
  /** The compiled match: true when a request matches (draws from `random` only for a runtime fraction). */
  readonly matches: RouteMatcher;
  /** Text every path `matches` accepts starts with (query string aside); "" when none is known (see CompiledRouteMatch). */
  readonly pathPrefix: string;
  /** What the match tests, in words: `prefix "/", header stage exact "canary"`. */
  readonly matchText: string;
  /** What the route does. */
  readonly action: RouteActionModel;
  /** route.timeout in ms; undefined when unset or 0 (no timeout). */
  readonly timeoutMs: number | undefined;
  /** route.max_stream_duration (gRFC A31); undefined when unset. */
  readonly maxStreamDuration: MaxStreamDurationModel | undefined;
  /** The route's retry_policy, else the virtual host's; undefined when neither is set. */
  readonly retryPolicy: RetryPolicyModel | undefined;
  /** route.hash_policy, in order (gRFC A42). */
  readonly hashPolicy: readonly HashPolicyModel[];
  /** The route's typed_per_filter_config. */
  readonly typedPerFilterConfig: FilterConfigOverrides;
}

/** One validated virtual host. */
export interface VirtualHostModel {
  readonly name: string;
  /** The domains as sent. */
  readonly domains: readonly string[];
  readonly routes: readonly RouteModel[];
  /** Every cluster a route of this host can send to by name (`cluster` and weighted_clusters entries; not cluster_header). */
  readonly clusterNames: ReadonlySet<string>;
  /** The virtual host's retry_policy (already applied to routes without their own). */
  readonly retryPolicy: RetryPolicyModel | undefined;
  /** The virtual host's typed_per_filter_config. */
  readonly typedPerFilterConfig: FilterConfigOverrides;
}

/** A validated RouteConfiguration. */
export interface RouteConfigurationModel {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostModel[];
  /** The virtual host whose domains best match `authority` (`host` or `host:port`), as Envoy picks it; undefined when none. */
  selectVirtualHost(authority: string): VirtualHostModel | undefined;
}

/** Where a route configuration being validated sits, for rejection messages. */
export interface RouteConfigurationPlace {
  /** The resource kind named in messages, e.g. "listener" for an inline route_config. */
  readonly kind: string;
  /** The resource's name. */
  readonly name: string;
  /** The field path of the route configuration in that resource, e.g. `api_listener.api_listener.route_config`; "" for RDS. */
  readonly path: string;
}

/**
 * Validates a RouteConfiguration into a RouteConfigurationModel, its regexes within `limits`; throws an INVALID_RESOURCE
 * XdsError naming the resource and the field. `place` tells where an inline route_config sits (default: an RDS
 * resource named `name`).
 */
export function validateRouteConfiguration(
  message: RouteConfiguration,
  name: string,
  place: RouteConfigurationPlace = { kind: "route configuration", name, path: "" },
  limits: RegexLimits = defaultRegexLimits,
): RouteConfigurationModel {
  const reject = fieldRejecter(place.kind, place.name);
  const hostsPath = fieldPath(place.path, "virtual_hosts");
  const virtualHosts = Object.freeze(message.virtualHosts.map((vh, i) => buildVirtualHost(vh, `${hostsPath}[${i}]`, reject, limits)));
  checkUniqueDomains(virtualHosts, hostsPath, reject);
  const select = createVirtualHostSelector(virtualHosts.map((vh) => ({ domains: vh.domains, value: vh })));
  return Object.freeze({ name: message.name, virtualHosts, selectVirtualHost: select });
}

/** RDS: RouteConfiguration resources, their regexes validated within `limits`; SotW omission does not delete them. */
export function createRouteConfigurationType(limits: RegexLimits): ResourceType<RouteConfigurationModel> {
  return lazyMessageType(routeConfigurationSchema, {
    deletedByOmission: false,
    validate: (message, name) => validateRouteConfiguration(message, name, { kind: "route configuration", name, path: "" }, limits),
  });
}

/** RDS with the default regex limits. */
export const routeConfigurationType: ResourceType<RouteConfigurationModel> = createRouteConfigurationType(defaultRegexLimits);

function buildVirtualHost(vh: VirtualHost, path: string, reject: Reject, limits: RegexLimits): VirtualHostModel {
  if (vh.domains.length === 0) reject(fieldPath(path, "domains"), "must not be empty");
  const malformed = findMalformedDomain(vh.domains);
  if (malformed !== undefined) {
    const at = fieldPath(path, `domains[${vh.domains.indexOf(malformed)}]`);
    reject(at, `${JSON.stringify(malformed)} is not a domain: it must be non-empty with at most one "*", leading or trailing`);
  }
  const retryPolicy = vh.retryPolicy === undefined ? undefined : buildRetryPolicy(vh.retryPolicy, fieldPath(path, "retry_policy"), reject);
  const routes = Object.freeze(vh.routes.map((route, j) => buildRoute(route, j, fieldPath(path, `routes[${j}]`), retryPolicy, reject, limits)));
  const clusterNames = new Set<string>();
  for (const route of routes) {
    const action = route.action;
    if (action.kind === "cluster") clusterNames.add(action.cluster);
    else if (action.kind === "weighted_clusters") {
      for (const entry of action.clusters) if (entry.name !== "") clusterNames.add(entry.name);
    }
  }
  return Object.freeze({
    name: vh.name,
    domains: Object.freeze([...vh.domains]),
    routes,
    clusterNames,
    retryPolicy,
    typedPerFilterConfig: buildFilterOverrides(vh.typedPerFilterConfig, fieldPath(path, "typed_per_filter_config"), reject, limits),
  });
}

function buildRoute(
  route: Route,
  index: number,
  path: string,
  hostRetry: RetryPolicyModel | undefined,
  reject: Reject,
  limits: RegexLimits,
): RouteModel {
  if (route.match === undefined) return reject(fieldPath(path, "match"), "is required");
  const match = route.match;
  const { matches, pathPrefix } = checked(() => compileRouteMatchWithPrefix(match, fieldPath(path, "match"), limits), reject);
  const action = buildRouteAction(route, path, reject, limits);
  const forwarding = route.action.case === "route" ? route.action.value : undefined;
  const at = fieldPath(path, "route");
  const timeout = optionalDurationMillis(forwarding?.timeout, 0, fieldPath(at, "timeout"), reject);
  const ownRetry = forwarding?.retryPolicy;
  return Object.freeze({
    name: route.name,
    index,
    matches,
    pathPrefix,
    matchText: routeMatchText(match),
    action,
    timeoutMs: timeout === 0 ? undefined : timeout,
    maxStreamDuration: buildMaxStreamDuration(forwarding?.maxStreamDuration, fieldPath(at, "max_stream_duration"), reject),
    retryPolicy: ownRetry === undefined ? hostRetry : buildRetryPolicy(ownRetry, fieldPath(at, "retry_policy"), reject),
    hashPolicy: buildHashPolicies(forwarding?.hashPolicy ?? [], fieldPath(at, "hash_policy"), reject, limits),
    typedPerFilterConfig: buildFilterOverrides(route.typedPerFilterConfig, fieldPath(path, "typed_per_filter_config"), reject, limits),
  });
}

/** Rejects the second listing of a domain (ASCII case ignored) across all virtual hosts, naming both places. */
function checkUniqueDomains(hosts: readonly VirtualHostModel[], path: string, reject: Reject): void {
  const seen = new Map<string, string>();
  hosts.forEach((host, i) => {
    host.domains.forEach((domain, k) => {
      const key = asciiLower(domain);
      const at = `${path}[${i}].domains[${k}]`;
      const first = seen.get(key);
      if (first !== undefined) reject(at, `duplicate domain ${JSON.stringify(domain)} (first listed at ${first})`);
      seen.set(key, at);
    });
  });
}
