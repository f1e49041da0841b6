import type { ResourceType } from "../../client/resource-type.js";
import { createClusterType } from "../../resources/cluster.js";
import { validatedResourceTypes } from "../../resources/validated-resource-types.js";
import { clusterTypeUrl, endpointsTypeUrl, listenerTypeUrl, nameTableTypeUrl, routeConfigurationTypeUrl } from "./xds-resources.js";

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

/**
 * Why an rxds client would NACK a resource of `typeUrl` encoded as `bytes` (its decoder's reason, the code that
 * NACKs), or undefined when it would take it (or the type is one rxds clients do not read).
 */
export function clientRejection(typeUrl: string, bytes: Uint8Array): string | undefined {
  return decoders.get(typeUrl)?.decode(bytes).error;
}
