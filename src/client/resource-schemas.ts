// The message types of the resources XdsClient watches, each loaded when the first resource of its type is decoded
// (src/lazy-schema.ts).

import { generated, lazySchema } from "../lazy-schema.js";

const listenerPb = generated<typeof import("../../gen/envoy/config/listener/v3/listener_pb.js")>("envoy/config/listener/v3/listener");
const routePb = generated<typeof import("../../gen/envoy/config/route/v3/route_pb.js")>("envoy/config/route/v3/route");
/** The generated module of envoy/config/cluster/v3/cluster.proto (its enums), loaded on the first call. */
export const clusterModule = generated<typeof import("../../gen/envoy/config/cluster/v3/cluster_pb.js")>("envoy/config/cluster/v3/cluster");
const endpointPb = generated<typeof import("../../gen/envoy/config/endpoint/v3/endpoint_pb.js")>("envoy/config/endpoint/v3/endpoint");
const ndsPb = generated<typeof import("../../gen/istio/networking/nds/v1/nds_pb.js")>("istio/networking/nds/v1/nds");
/** The generated module of envoy/config/core/v3/base.proto (the Node), loaded on the first call. */
export const coreBaseModule = generated<typeof import("../../gen/envoy/config/core/v3/base_pb.js")>("envoy/config/core/v3/base");
/** The generated module of google/rpc/status.proto (a NACK's error_detail), loaded on the first call. */
export const rpcStatusModule = generated<typeof import("../../gen/google/rpc/status_pb.js")>("google/rpc/status");

/** envoy.config.listener.v3.Listener (LDS) */
export const listenerSchema = lazySchema("envoy.config.listener.v3.Listener", () => listenerPb().ListenerSchema);
/** envoy.config.route.v3.RouteConfiguration (RDS) */
export const routeConfigurationSchema = lazySchema("envoy.config.route.v3.RouteConfiguration", () => routePb().RouteConfigurationSchema);
/** envoy.config.cluster.v3.Cluster (CDS) */
export const clusterSchema = lazySchema("envoy.config.cluster.v3.Cluster", () => clusterModule().ClusterSchema);
/** envoy.config.endpoint.v3.ClusterLoadAssignment (EDS) */
export const clusterLoadAssignmentSchema = lazySchema("envoy.config.endpoint.v3.ClusterLoadAssignment", () => endpointPb().ClusterLoadAssignmentSchema);
/** istio.networking.nds.v1.NameTable (Istio's NDS) */
export const nameTableSchema = lazySchema("istio.networking.nds.v1.NameTable", () => ndsPb().NameTableSchema);

/** Every schema above, for the test that checks the written type names. */
export const resourceSchemas = [listenerSchema, routeConfigurationSchema, clusterSchema, clusterLoadAssignmentSchema, nameTableSchema] as const;
