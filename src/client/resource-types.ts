import { lazyMessageType, type ResourceType } from "./resource-type.js";
import { clusterLoadAssignmentSchema, clusterSchema, listenerSchema, nameTableSchema, routeConfigurationSchema } from "./resource-schemas.js";

/** Listeners (LDS), decoded only; SotW omission deletes. */
export const rawListenerType = lazyMessageType(listenerSchema, { deletedByOmission: true });
/** Route configurations (RDS), decoded only. */
export const rawRouteConfigurationType = lazyMessageType(routeConfigurationSchema, { deletedByOmission: false });
/** Clusters (CDS), decoded only; SotW omission deletes. */
export const rawClusterType = lazyMessageType(clusterSchema, { deletedByOmission: true });
/** Cluster load assignments (EDS), decoded only; named by `cluster_name`. */
export const rawEndpointsType = lazyMessageType(clusterLoadAssignmentSchema, {
  deletedByOmission: false,
  name: (m) => m.clusterName,
});
/** Istio's NDS name table, decoded only; its one resource is named "". */
export const rawNameTableType = lazyMessageType(nameTableSchema, { deletedByOmission: false, name: () => "", unnamed: true });
/** The five types decoded only, as the core's defaults. */
export const rawResourceTypes: readonly ResourceType[] = [
  rawListenerType,
  rawRouteConfigurationType,
  rawClusterType,
  rawEndpointsType,
  rawNameTableType,
] as readonly ResourceType[];
