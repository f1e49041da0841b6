// Builders of valid xDS resources, shaped as istiod's gRPC generator sends them, for tests over the wire.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";

const ads = { configSourceSpecifier: { case: "ads" as const, value: {} } };

/** An api_listener whose HttpConnectionManager takes its routes from RDS `routeConfigName`. */
export function apiListener(name: string, routeConfigName: string): Any {
  const hcm = create(HttpConnectionManagerSchema, {
    routeSpecifier: { case: "rds", value: { configSource: ads, routeConfigName } },
    httpFilters: [{ name: "envoy.filters.http.router", configType: { case: "typedConfig", value: anyPack(RouterSchema, create(RouterSchema)) } }],
  });
  return anyPack(ListenerSchema, create(ListenerSchema, { name, apiListener: { apiListener: anyPack(HttpConnectionManagerSchema, hcm) } }));
}

/** A route configuration with one virtual host for `domains` holding `routes`. */
export function routeConfiguration(name: string, domains: string[], routes: MessageInitShape<typeof RouteSchema>[]): Any {
  return anyPack(RouteConfigurationSchema, create(RouteConfigurationSchema, { name, virtualHosts: [{ name, domains, routes }] }));
}

/** A route sending everything under `prefix` to `cluster`. */
export function prefixRoute(prefix: string, cluster: string): MessageInitShape<typeof RouteSchema> {
  return { name: `${prefix}→${cluster}`, match: { pathSpecifier: { case: "prefix", value: prefix } }, action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: cluster } } } };
}

/** An EDS cluster over ADS, its endpoints under `serviceName` (default: its own name). */
export function edsCluster(name: string, serviceName = name): Any {
  return anyPack(
    ClusterSchema,
    create(ClusterSchema, {
      name,
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
      edsClusterConfig: { edsConfig: ads, serviceName },
    }),
  );
}

/** A ClusterLoadAssignment with one locality of loopback endpoints on `ports`. */
export function loopbackEndpoints(clusterName: string, ports: number[]): Any {
  return anyPack(
    ClusterLoadAssignmentSchema,
    create(ClusterLoadAssignmentSchema, {
      clusterName,
      endpoints: [
        {
          locality: { region: "local" },
          loadBalancingWeight: 1,
          lbEndpoints: ports.map((port) => ({
            hostIdentifier: {
              case: "endpoint" as const,
              value: { address: { address: { case: "socketAddress" as const, value: { address: "127.0.0.1", portSpecifier: { case: "portValue" as const, value: port } } } } },
            },
          })),
        },
      ],
    }),
  );
}
