import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { NameTableSchema } from "../../gen/istio/networking/nds/v1/nds_pb.js";
import { messageType, type ResourceType } from "./resource-type.js";

/** Listeners (LDS), decoded only; SotW omission deletes. */
export const rawListenerType = messageType(ListenerSchema, { deletedByOmission: true });
/** Route configurations (RDS), decoded only. */
export const rawRouteConfigurationType = messageType(RouteConfigurationSchema, { deletedByOmission: false });
/** Clusters (CDS), decoded only; SotW omission deletes. */
export const rawClusterType = messageType(ClusterSchema, { deletedByOmission: true });
/** Cluster load assignments (EDS), decoded only; named by `cluster_name`. */
export const rawEndpointsType = messageType(ClusterLoadAssignmentSchema, {
  deletedByOmission: false,
  name: (m) => m.clusterName,
});
/** Istio's NDS name table, decoded only; its one resource is named "". */
export const rawNameTableType = messageType(NameTableSchema, { deletedByOmission: false, name: () => "", unnamed: true });

/** The five types decoded only, as the core's defaults. */
export const rawResourceTypes: readonly ResourceType[] = [
  rawListenerType,
  rawRouteConfigurationType,
  rawClusterType,
  rawEndpointsType,
  rawNameTableType,
] as readonly ResourceType[];
