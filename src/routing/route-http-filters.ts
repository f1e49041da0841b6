// The HTTP filters a route's calls go through, worked out once per route when a Router is built: the connection
// manager's filters that rxds applies, in its order, the router left out, each with its effective config. The most
// specific `typed_per_filter_config` entry for the filter's name wins (weighted cluster, then route, then virtual
// host), as gRFC A39 and Envoy say; an entry with `disabled` turns the filter off, and a filter that is `disabled` in
// the connection manager runs only where an entry gives it a config. Filters that can do nothing (a fault config
// with neither delay nor abort, a rate limit without a bucket or enabled for no call) are left out, so that a route
// without faults or limits has no filters at all and its calls pay nothing for them.

import type { FaultConfigModel } from "../resources/http-fault.js";
import type { HttpFilterModel } from "../resources/listener-http-connection-manager.js";
import type { LocalRateLimitModel } from "../resources/local-rate-limit.js";
import type { FilterConfigOverrides } from "../resources/route-action.js";

/** One HTTP filter as it applies to a route's calls: its name (in the connection manager) and effective config. */
export type CallHttpFilter =
  | { readonly name: string; readonly kind: "fault"; readonly config: FaultConfigModel }
  | { readonly name: string; readonly kind: "local_ratelimit"; readonly config: LocalRateLimitModel };

/**
 * The filters of `filters` (a connection manager's, in order) that act on calls of a route whose overrides are
 * `levels`, most specific first; undefined when none does.
 */
export function routeHttpFilters(filters: readonly HttpFilterModel[], levels: readonly FilterConfigOverrides[]): readonly CallHttpFilter[] | undefined {
  let out: CallHttpFilter[] | undefined;
  for (const filter of filters) {
    const applied = filter.applied;
    if (applied === undefined || applied.kind === "router") continue;
    const override = overrideOf(filter.name, levels);
    if (override?.disabled === true) continue;
    const own = override?.applied;
    // An override of another type than the filter's is not its config: the filter keeps its own, unless it is off.
    let call: CallHttpFilter | undefined;
    if (own !== undefined && own.kind === "fault" && applied.kind === "fault") call = faultFilter(filter.name, own.config);
    else if (own !== undefined && own.kind === "local_ratelimit" && applied.kind === "local_ratelimit") call = rateLimitFilter(filter.name, own.config);
    else if (filter.disabled) continue;
    else call = applied.kind === "fault" ? faultFilter(filter.name, applied.config) : rateLimitFilter(filter.name, applied.config);
    if (call !== undefined) (out ??= []).push(call);
  }
  return out === undefined ? undefined : Object.freeze(out);
}

function overrideOf(name: string, levels: readonly FilterConfigOverrides[]) {
  for (const level of levels) {
    const entry = level.get(name);
    if (entry !== undefined) return entry;
  }
  return undefined;
}

function faultFilter(name: string, config: FaultConfigModel): CallHttpFilter | undefined {
  if (config.delay === undefined && config.abort === undefined) return undefined;
  return Object.freeze({ name, kind: "fault", config });
}

function rateLimitFilter(name: string, config: LocalRateLimitModel): CallHttpFilter | undefined {
  if (config.tokenBucket === undefined || config.enabled.numerator === 0) return undefined;
  return Object.freeze({ name, kind: "local_ratelimit", config });
}
