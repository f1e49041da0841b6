// Which HTTP filters rxds applies, and their configs read from an Any: the HttpConnectionManager's `http_filters`
// and the `typed_per_filter_config` overrides of virtual hosts, routes and weighted clusters share this one place.
//
// Applied: the router (terminal), fault injection (gRFC A33, http-fault.ts) and the local rate limit
// (local-rate-limit.ts). A config may come as its own message or inside a TypedStruct (xds.type.v3 or
// udpa.type.v1, its JSON read as the message; gRFC A39). An override may be wrapped in
// `envoy.config.route.v3.FilterConfig` (`is_optional`, `disabled`).

import { fromJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { faultFilter, filterConfig, localRateLimitFilter, routerFilter, udpaTypedStruct, xdsTypedStruct } from "./extension-schemas.js";
import { fieldPath, type Reject } from "./field-error.js";
import { anyTypeName, extensionTypeName, unpackAny } from "./field-types.js";
import { buildFaultConfig, type FaultConfigModel } from "./http-fault.js";
import { buildLocalRateLimit, type LocalRateLimitModel } from "./local-rate-limit.js";
import type { RegexLimits } from "./match/safe-regex.js";

/** An HTTP filter rxds applies, with its validated config. */
export type AppliedHttpFilter =
  | { readonly kind: "router" }
  | { readonly kind: "fault"; readonly config: FaultConfigModel }
  | { readonly kind: "local_ratelimit"; readonly config: LocalRateLimitModel };

/** One `typed_per_filter_config` entry: the override of the filter named by its key, for a virtual host, route or weighted cluster. */
export interface FilterOverrideModel {
  /** The config as sent (the FilterConfig wrapper's `config` when wrapped). */
  readonly config: Any | undefined;
  /** The config's type, looked through a TypedStruct; "" when the entry has none. */
  readonly typeName: string;
  /** FilterConfig's `disabled`: the filter does not run for these calls. */
  readonly disabled: boolean;
  /** The parsed config of a filter rxds applies; undefined for another type (ignored). */
  readonly applied: AppliedHttpFilter | undefined;
}

const FILTER_CONFIG = filterConfig.typeName;
const ROUTER: AppliedHttpFilter = Object.freeze({ kind: "router" });

/**
 * Parses the config of a filter rxds applies, found at `path`: `typeName` is its type (extensionTypeName), `perRoute`
 * whether it is an override. Undefined for a type rxds does not apply; rejects a config that is not valid.
 */
export function parseAppliedFilter(any: Any, typeName: string, path: string, reject: Reject, limits: RegexLimits, perRoute: boolean): AppliedHttpFilter | undefined {
  switch (typeName) {
    case routerFilter.typeName:
      return ROUTER;
    case faultFilter.typeName:
      return Object.freeze({ kind: "fault", config: buildFaultConfig(unpackExtension(any, faultFilter.schema(), path, reject), path, reject, limits) });
    case localRateLimitFilter.typeName:
      return Object.freeze({ kind: "local_ratelimit", config: buildLocalRateLimit(unpackExtension(any, localRateLimitFilter.schema(), path, reject), path, reject, perRoute) });
    default:
      return undefined;
  }
}

/** Reads a `typed_per_filter_config` map found at `path`; an empty shared map when it has no entry. */
export function buildFilterOverrides(map: { readonly [name: string]: Any }, path: string, reject: Reject, limits: RegexLimits): ReadonlyMap<string, FilterOverrideModel> {
  const names = Object.keys(map);
  if (names.length === 0) return NO_OVERRIDES;
  return new Map(names.map((name) => [name, buildOverride(map[name]!, `${path}[${JSON.stringify(name)}]`, reject, limits)]));
}
const NO_OVERRIDES: ReadonlyMap<string, FilterOverrideModel> = new Map();

function buildOverride(any: Any, path: string, reject: Reject, limits: RegexLimits): FilterOverrideModel {
  let config: Any | undefined = any;
  let disabled = false;
  let at = path;
  if (anyTypeName(any) === FILTER_CONFIG) {
    const wrapper = unpackAny(any, filterConfig.schema(), path, reject);
    config = wrapper.config;
    disabled = wrapper.disabled;
    at = fieldPath(path, "config");
  }
  if (config === undefined || disabled) return Object.freeze({ config, typeName: config === undefined ? "" : anyTypeName(config), disabled, applied: undefined });
  const typeName = extensionTypeName(config, at, reject);
  return Object.freeze({ config, typeName, disabled, applied: parseAppliedFilter(config, typeName, at, reject, limits, true) });
}

/** Unpacks a filter config that is either the message itself or a TypedStruct holding its JSON. */
function unpackExtension<Desc extends DescMessage>(any: Any, schema: Desc, path: string, reject: Reject): MessageShape<Desc> {
  const outer = anyTypeName(any);
  if (outer !== xdsTypedStruct.typeName && outer !== udpaTypedStruct.typeName) return unpackAny(any, schema, path, reject);
  const struct = unpackAny(any, outer === xdsTypedStruct.typeName ? xdsTypedStruct.schema() : udpaTypedStruct.schema(), path, reject);
  try {
    return fromJson(schema, struct.value ?? {});
  } catch (e) {
    return reject(fieldPath(path, "value"), `cannot read ${schema.typeName} from the TypedStruct: ${e instanceof Error ? e.message : String(e)}`);
  }
}
