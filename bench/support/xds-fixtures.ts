// Simple, valid xDS resources for the scenarios, built with create() and packed for the ControlPlane.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { LbEndpointSchema, type LbEndpoint } from "../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { RetryPolicySchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";

/** Type URLs of the four resource types the scenarios serve. */
export const LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
export const RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
export const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
export const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

/** The port every endpoint listens on unless a scenario says otherwise. */
export const defaultPort = 8080;

/** The names istiod would give a gRPC target's resources: listener = target, route and cluster `outbound|port||host`. */
export function istioNames(host: string, port: number): { listener: string; route: string; cluster: string } {
  const outbound = `outbound|${port}||${host}`;
  return { listener: `${host}:${port}`, route: outbound, cluster: outbound };
}

/** An api_listener whose HTTP connection manager takes its routes from `routeName` over ADS and ends with the router filter. */
export function listenerResource(name: string, routeName: string): Any {
  const hcm = create(HttpConnectionManagerSchema, {
    statPrefix: name,
    routeSpecifier: { case: "rds", value: { routeConfigName: routeName, configSource: { configSourceSpecifier: { case: "ads", value: {} } } } },
    httpFilters: [{ name: "envoy.filters.http.router", configType: { case: "typedConfig", value: anyPack(RouterSchema, create(RouterSchema)) } }],
  });
  return anyPack(ListenerSchema, create(ListenerSchema, { name, apiListener: { apiListener: anyPack(HttpConnectionManagerSchema, hcm) } }));
}

/**
 * A route configuration with one virtual host for `domain`, one prefix-"" route per cluster (the last one catches all),
 * each with `retryPolicy` when given.
 */
export function routeConfigurationResource(name: string, domain: string, clusters: readonly string[], retryPolicy?: MessageInitShape<typeof RetryPolicySchema>): Any {
  const routes = clusters.map((cluster, i) => ({
    match: { pathSpecifier: i === clusters.length - 1 ? { case: "prefix" as const, value: "" } : { case: "path" as const, value: `/svc.Service${i}/Call` } },
    action: { case: "route" as const, value: { clusterSpecifier: { case: "cluster" as const, value: cluster }, ...(retryPolicy === undefined ? {} : { retryPolicy }) } },
  }));
  return anyPack(RouteConfigurationSchema, create(RouteConfigurationSchema, { name, virtualHosts: [{ name: domain, domains: [domain], routes }] }));
}

/** An EDS cluster, round robin, whose endpoints come over ADS under `serviceName`. */
export function clusterResource(name: string, serviceName: string = name): Any {
  return anyPack(
    ClusterSchema,
    create(ClusterSchema, {
      name,
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
      lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
      edsClusterConfig: { serviceName, edsConfig: { configSourceSpecifier: { case: "ads", value: {} } } },
    }),
  );
}

/** The IPv4 address of endpoint `i`: distinct for the first 2^24 endpoints. */
export function endpointAddress(i: number): string {
  return `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
}

/** One ClusterLoadAssignment of `count` distinct endpoints in one locality; `portOf(i)` and `weightOf(i)` pick each endpoint's port and weight. */
export function assignmentResource(clusterName: string, count: number, portOf: (i: number) => number = () => defaultPort, weightOf: (i: number) => number = () => 1): Any {
  const lbEndpoints: LbEndpoint[] = [];
  for (let i = 0; i < count; i++) {
    lbEndpoints.push(
      create(LbEndpointSchema, {
        hostIdentifier: {
          case: "endpoint",
          value: { address: { address: { case: "socketAddress", value: { address: endpointAddress(i), portSpecifier: { case: "portValue", value: portOf(i) } } } } },
        },
        loadBalancingWeight: weightOf(i),
      }),
    );
  }
  return anyPack(
    ClusterLoadAssignmentSchema,
    create(ClusterLoadAssignmentSchema, { clusterName, endpoints: [{ locality: { region: "bench", zone: "bench-a" }, loadBalancingWeight: 1, lbEndpoints }] }),
  );
}

/** A ClusterLoadAssignment of one endpoint, `address:port` (e.g. a backend on 127.0.0.1). */
export function singleEndpointAssignment(clusterName: string, address: string, port: number): Any {
  return anyPack(
    ClusterLoadAssignmentSchema,
    create(ClusterLoadAssignmentSchema, {
      clusterName,
      endpoints: [
        {
          locality: { region: "bench", zone: "bench-a" },
          loadBalancingWeight: 1,
          lbEndpoints: [
            {
              hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address, portSpecifier: { case: "portValue", value: port } } } } } },
              loadBalancingWeight: 1,
            },
          ],
        },
      ],
    }),
  );
}
