import type { ResourceType } from "../client/resource-type.js";
import { createClusterType } from "../resources/cluster.js";
import { validatedResourceTypes } from "../resources/validated-resource-types.js";
import { XdsError } from "../xds-error.js";
import type { MeshConfig } from "./config/mesh-config.js";
import { clusterTypeUrl, endpointsTypeUrl, listenerTypeUrl, nameTableTypeUrl, routeConfigurationTypeUrl } from "./config/xds-resources.js";
import type { PackedResources } from "./mesh-view.js";
import { shortTypeName } from "./request-log.js";

const types = validatedResourceTypes({});
/**
 * The client's own decoders, by type URL: what rxds serve serves must pass them. Certificate provider instances are
 * the clients' bootstraps' business (Istio's agent writes "default"): any name passes here.
 */
const decoders: ReadonlyMap<string, ResourceType> = new Map<string, ResourceType>([
  [listenerTypeUrl, types.listener],
  [routeConfigurationTypeUrl, types.routeConfiguration],
  [clusterTypeUrl, createClusterType({ certificateProviders: "any" })],
  [endpointsTypeUrl, types.endpoints],
  [nameTableTypeUrl, types.nameTable],
]);

/** The host a generated resource is named for: `outbound|<port>|<subset>|<host>`, `<host>:<port>`. */
function hostOf(typeUrl: string, name: string): string | undefined {
  const parts = name.split("|");
  if (parts.length === 4) return parts[3];
  if (typeUrl === listenerTypeUrl && name.includes(":")) return name.slice(0, name.lastIndexOf(":"));
  return undefined;
}

/** The document a served resource comes from, as `file: document N (Kind name)`; the sources when not known. */
function originOf(config: MeshConfig, typeUrl: string, name: string): string {
  const raw = config.raw.find((each) => each.typeUrl === typeUrl && each.name === name);
  if (raw !== undefined) return raw.place;
  const host = hostOf(typeUrl, name);
  if (host === undefined) return config.file;
  const subset = name.split("|")[2] ?? "";
  const owner =
    (typeUrl === routeConfigurationTypeUrl ? config.virtualServices.find((vs) => vs.hosts.includes(host)) : undefined) ??
    (subset !== "" ? config.destinationRules.find((dr) => dr.host === host) : undefined) ??
    config.serviceEntries.find((entry) => entry.hosts.some((each) => each === host || each.startsWith(`${host}.`)));
  return owner?.place ?? config.file;
}

/**
 * Decodes every resource of a translated view with the client's own validation (the code that NACKs),
 * so that a config clients would NACK is an error at load. Throws `XdsError("INVALID_CONFIG")` naming
 * the document the resource comes from, the resource and the client's reason.
 */
export function checkServedResources(config: MeshConfig, view: string, packed: PackedResources): void {
  for (const [typeUrl, byName] of packed) {
    const decoder = decoders.get(typeUrl);
    if (decoder === undefined) continue;
    for (const [name, any] of byName) {
      const result = decoder.decode(any.value);
      if (result.error === undefined) continue;
      const shown = name === "" ? '""' : name;
      throw new XdsError(
        "INVALID_CONFIG",
        `${originOf(config, typeUrl, name)}: clients would NACK the ${shortTypeName(typeUrl)} ${shown} served to ${view === "" ? "every" : view} clients: ${result.error}`,
      );
    }
  }
}
