import type { Any } from "@bufbuild/protobuf/wkt";
import type { HttpConnectionManager, HttpFilter } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { durationMillis } from "./duration.js";
import { httpConnectionManager, routerFilter } from "./extension-schemas.js";
import { fieldPath, type Reject } from "./field-error.js";
import { checkAdsOrSelf, extensionTypeName, unpackAny } from "./field-types.js";
import { parseAppliedFilter, type AppliedHttpFilter } from "./http-filter-config.js";
import type { RegexLimits } from "./match/safe-regex.js";
import { validateRouteConfiguration, type RouteConfigurationModel } from "./route-configuration.js";

/** Where an HTTP connection manager's routes come from. */
export type HttpRouteSource =
  /** Fetched by RDS under this name. */
  | { readonly kind: "rds"; readonly routeConfigName: string }
  /** Inline, validated with the listener (a bad inline route configuration rejects the listener). */
  | { readonly kind: "inline"; readonly routeConfig: RouteConfigurationModel };

/** One entry of an HCM's http_filters. */
export interface HttpFilterModel {
  /** The filter instance name (unique within the HCM). */
  readonly name: string;
  /** The config's message type, looked through a TypedStruct (gRFC A39); "" when the filter has no typed_config. */
  readonly typeName: string;
  /** typed_config as sent, when set. */
  readonly config: Any | undefined;
  readonly isOptional: boolean;
  /** Off unless a virtual host, route or weighted cluster enables it with an override. */
  readonly disabled: boolean;
  /** The parsed config of a filter rxds applies (router, fault, local rate limit); undefined for one it skips. */
  readonly applied: AppliedHttpFilter | undefined;
}

/** A validated HttpConnectionManager: how to find routes, its HTTP filters (router last) and its default stream limit. */
export interface HttpConnectionManagerModel {
  readonly routes: HttpRouteSource;
  readonly httpFilters: readonly HttpFilterModel[];
  /** common_http_protocol_options.max_stream_duration in ms (gRFC A31 default timeout); 0 means none; undefined if unset. */
  readonly maxStreamDurationMs: number | undefined;
}

/** How strictly to treat HTTP filters the client does not know. */
export type HttpFilterPolicy =
  /**
   * gRPC-style api_listener (gRFC A39): a filter rxds does not apply is rejected unless `is_optional`, since the
   * control plane wrote this listener for a client and expects each filter to be applied.
   */
  | "strict"
  /**
   * Envoy sidecar listeners: istiod fills them with Envoy-only filters (istio.metadata_exchange, istio.stats, cors…)
   * that are never marked optional; rejecting them would reject every sidecar listener, so they are kept and skipped.
   */
  | "tolerant";

const ROUTER = routerFilter.typeName;

/**
 * Decodes and validates the HttpConnectionManager in `any`, found at `path` of a listener (`api_listener.api_listener`
 * or `filter_chains[i].filters[j].typed_config`); an inline route configuration's regexes must keep within `limits`.
 */
export function validateHttpConnectionManager(
  any: Any,
  path: string,
  policy: HttpFilterPolicy,
  reject: Reject,
  listenerName: string,
  limits: RegexLimits,
): HttpConnectionManagerModel {
  const hcm = unpackAny(any, httpConnectionManager.schema(), path, reject);
  const maxStreamDuration = hcm.commonHttpProtocolOptions?.maxStreamDuration;
  return Object.freeze({
    routes: routeSource(hcm, path, reject, listenerName, limits),
    httpFilters: httpFilters(hcm.httpFilters, fieldPath(path, "http_filters"), policy, reject, limits),
    maxStreamDurationMs:
      maxStreamDuration === undefined
        ? undefined
        : durationMillis(maxStreamDuration, fieldPath(path, "common_http_protocol_options.max_stream_duration"), reject),
  });
}

function routeSource(hcm: HttpConnectionManager, path: string, reject: Reject, listenerName: string, limits: RegexLimits): HttpRouteSource {
  const specifier = hcm.routeSpecifier;
  switch (specifier.case) {
    case "rds": {
      const rds = specifier.value;
      checkAdsOrSelf(rds.configSource, fieldPath(path, "rds.config_source"), reject);
      if (rds.routeConfigName === "") reject(fieldPath(path, "rds.route_config_name"), "must not be empty");
      return Object.freeze({ kind: "rds", routeConfigName: rds.routeConfigName });
    }
    case "routeConfig":
      return Object.freeze({
        kind: "inline",
        routeConfig: validateRouteConfiguration(
          specifier.value,
          specifier.value.name,
          { kind: "listener", name: listenerName, path: fieldPath(path, "route_config") },
          limits,
        ),
      });
    case "scopedRoutes":
      return reject(fieldPath(path, "scoped_routes"), "scoped routes are not supported");
    default:
      return reject(path, "must set rds or route_config");
  }
}

/**
 * Validates http_filters: unique non-empty names, the router filter last and nowhere else (it is terminal), the configs
 * of the filters rxds applies, and the others according to `policy`. An empty list is rejected (gRPC accepts it, then
 * fails every call).
 */
function httpFilters(filters: readonly HttpFilter[], path: string, policy: HttpFilterPolicy, reject: Reject, limits: RegexLimits): readonly HttpFilterModel[] {
  if (filters.length === 0) reject(path, `must end with the router filter (${ROUTER}); the list is empty`);
  const names = new Set<string>();
  const models = filters.map((filter, i): HttpFilterModel => {
    const at = `${path}[${i}]`;
    if (filter.name === "") reject(fieldPath(at, "name"), "must not be empty");
    if (names.has(filter.name)) reject(fieldPath(at, "name"), `duplicate filter name ${JSON.stringify(filter.name)}`);
    names.add(filter.name);
    const config = filter.configType.case === "typedConfig" ? filter.configType.value : undefined;
    const typeName = config === undefined ? "" : extensionTypeName(config, fieldPath(at, "typed_config"), reject);
    const last = i === filters.length - 1;
    if (typeName === ROUTER && !last) {
      reject(at, `the router filter is terminal and must be last (it is at ${i} of ${filters.length})`);
    }
    if (last && typeName !== ROUTER) {
      reject(at, `the last filter must be the router (${ROUTER}), got ${typeName === "" ? "a filter without typed_config" : typeName}`);
    }
    const applied = config === undefined ? undefined : parseAppliedFilter(config, typeName, fieldPath(at, "typed_config"), reject, limits, false);
    if (applied === undefined && !filter.isOptional && policy === "strict") {
      const what =
        filter.configType.case === "configDiscovery"
          ? "filter config discovery is not supported"
          : typeName === ""
            ? "typed_config is required"
            : `rxds does not apply filter type ${typeName} (it applies the router, fault and local_ratelimit filters)`;
      reject(fieldPath(at, filter.configType.case === "configDiscovery" ? "config_discovery" : "typed_config"), `${what}; set is_optional to let clients skip it`);
    }
    return Object.freeze({ name: filter.name, typeName, config, isOptional: filter.isOptional, disabled: filter.disabled, applied });
  });
  return Object.freeze(models);
}
