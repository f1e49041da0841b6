import type { ResourceType } from "../client/resource-type.js";
import { XdsError } from "../xds-error.js";
import { clusterType, createClusterType, type ClusterModel } from "./cluster.js";
import { endpointsType, type EndpointsModel } from "./endpoints.js";
import { createListenerType, listenerType, type ListenerModel } from "./listener.js";
import { defaultRegexLimits } from "./match/safe-regex.js";
import { nameTableType, type NameTableModel } from "./name-table.js";
import { createRouteConfigurationType, routeConfigurationType, type RouteConfigurationModel } from "./route-configuration.js";

/** The built-in validated resource types, one per xDS type XdsClient watches. */
export interface ValidatedResourceTypes {
  readonly listener: ResourceType<ListenerModel>;
  readonly routeConfiguration: ResourceType<RouteConfigurationModel>;
  readonly cluster: ResourceType<ClusterModel>;
  readonly endpoints: ResourceType<EndpointsModel>;
  readonly nameTable: ResourceType<NameTableModel>;
}

/** What validation can be tuned with. */
export interface ValidationOptions {
  /** The largest program a control-plane regex may compile to (see RegexLimits); default 100. */
  readonly maxRegexProgramSize?: number | undefined;
  /** The bootstrap's certificate provider instances (by name), which TLS clusters may name (gRFC A29). */
  readonly certificateProviders?: Readonly<Record<string, unknown>> | undefined;
}

const defaultTypes: ValidatedResourceTypes = Object.freeze({
  listener: listenerType,
  routeConfiguration: routeConfigurationType,
  cluster: clusterType,
  endpoints: endpointsType,
  nameTable: nameTableType,
});

/**
 * The built-in types validated with `options`: the exported module constants (`listenerType`, …) when the options are
 * the defaults, new types otherwise. Throws INVALID_ARGUMENT for a limit that is not a positive integer.
 */
export function validatedResourceTypes(options: ValidationOptions): ValidatedResourceTypes {
  const names = Object.keys(options.certificateProviders ?? {});
  const types = withRegexLimit(options.maxRegexProgramSize);
  return names.length === 0 ? types : Object.freeze({ ...types, cluster: createClusterType({ certificateProviders: new Set(names) }) });
}

function withRegexLimit(max: number | undefined): ValidatedResourceTypes {
  if (max === undefined || max === defaultRegexLimits.maxProgramSize) return defaultTypes;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new XdsError("INVALID_ARGUMENT", `maxRegexProgramSize: must be a positive integer, got ${String(max)}`);
  }
  const limits = Object.freeze({ maxProgramSize: max });
  return Object.freeze({
    ...defaultTypes,
    listener: createListenerType(limits),
    routeConfiguration: createRouteConfigurationType(limits),
  });
}
