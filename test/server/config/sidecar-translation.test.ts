import { toJson, type Message } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import type { Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../../gen/envoy/config/route/v3/route_pb.js";
import type { HttpConnectionManager } from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { TcpProxy } from "../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { NameTableSchema, type NameTable } from "../../../gen/istio/networking/nds/v1/nds_pb.js";
import { translateForGrpc } from "../../../src/server/config/grpc-translation.js";
import { parseMeshConfig } from "../../../src/server/config/mesh-config.js";
import { translateForSidecar } from "../../../src/server/config/sidecar-translation.js";
import {
  clusterTypeUrl,
  endpointsTypeUrl,
  listenerTypeUrl,
  nameTableTypeUrl,
  packResource,
  routeConfigurationTypeUrl,
  xdsResourceRegistry,
  type XdsResources,
} from "../../../src/server/config/xds-resources.js";

const mesh = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: kitex-server, namespace: proxyless}
spec:
  hosts: [kitex-server]
  addresses: [10.96.73.130]
  ports: [{number: 8080, name: http, protocol: HTTP}, {number: 9000, name: db, protocol: TCP}]
  endpoints: [{address: 10.0.0.1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: proxyless}
spec:
  hosts: [echo]
  ports: [{number: 8080, name: http}]
  endpoints: [{address: 10.0.0.9}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: kitex-server, namespace: proxyless}
spec:
  host: kitex-server
  trafficPolicy: {connectionPool: {http: {http2MaxRequests: 100, http1MaxPendingRequests: 10}}}
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: kitex-server, namespace: proxyless}
spec:
  hosts: [kitex-server]
  http:
  - match: [{headers: {stage: {exact: canary}}}]
    route: [{destination: {host: kitex-server, subset: v1}}]
    timeout: 2s
`;

function get<T extends Message>(resources: XdsResources, typeUrl: string, name: string): T {
  const found = resources.get(typeUrl)?.get(name);
  expect(found, `${typeUrl} ${name}`).to.not.equal(undefined);
  return found as T;
}

describe("translateForSidecar", () => {
  const resources = translateForSidecar(parseMeshConfig(mesh, "mesh.yaml"));

  it("serves one listener 0.0.0.0_<port> per HTTP port whose HttpConnectionManager reads RDS <port>", () => {
    expect([...(resources.get(listenerTypeUrl)?.keys() ?? [])].sort()).to.deep.equal(["0.0.0.0_8080", "10.96.73.130_9000"]);
    const listener = get<Listener>(resources, listenerTypeUrl, "0.0.0.0_8080");
    const filter = listener.filterChains[0]?.filters[0];
    expect(filter?.name).to.equal("envoy.filters.network.http_connection_manager");
    const manager = anyUnpack(filter?.configType.case === "typedConfig" ? filter.configType.value : undefined!, xdsResourceRegistry) as HttpConnectionManager;
    expect(manager.routeSpecifier.case === "rds" ? manager.routeSpecifier.value.routeConfigName : undefined).to.equal("8080");
    expect(manager.httpFilters.map((f) => f.name), "the fault filter routes configure, then the router, as istiod writes them").to.deep.equal(["envoy.filters.http.fault", "envoy.filters.http.router"]);
  });

  it("serves a TCP port of a service with a VIP as listener <vip>_<port>, a tcp_proxy to the port's cluster", () => {
    const listener = get<Listener>(resources, listenerTypeUrl, "10.96.73.130_9000");
    const filter = listener.filterChains[0]?.filters[0];
    expect(filter?.name).to.equal("envoy.filters.network.tcp_proxy");
    const proxy = anyUnpack(filter?.configType.case === "typedConfig" ? filter.configType.value : undefined!, xdsResourceRegistry) as TcpProxy;
    expect(proxy.clusterSpecifier).to.deep.equal({ case: "cluster", value: "outbound|9000||kitex-server.proxyless.svc.cluster.local" });
  });

  it("shares route configuration <port> among the services on the port, one virtual host each with FQDN, port and short domains", () => {
    const config = get<RouteConfiguration>(resources, routeConfigurationTypeUrl, "8080");
    expect(config.virtualHosts.map((vh) => vh.name)).to.deep.equal([
      "echo.proxyless.svc.cluster.local:8080",
      "kitex-server.proxyless.svc.cluster.local:8080",
    ]);
    const kitex = config.virtualHosts[1];
    expect(kitex?.domains).to.include.members([
      "kitex-server.proxyless.svc.cluster.local",
      "kitex-server.proxyless.svc.cluster.local:8080",
      "kitex-server",
      "kitex-server.proxyless",
      "10.96.73.130",
    ]);
    const action = kitex?.routes[0]?.action;
    const route = action?.case === "route" ? action.value : undefined;
    expect(route?.clusterSpecifier).to.deep.equal({ case: "cluster", value: "outbound|8080|v1|kitex-server.proxyless.svc.cluster.local" });
    expect(route?.maxGrpcTimeout, "Envoy gets max_grpc_timeout, not max_stream_duration").to.include({ seconds: 2n });
    expect(route?.maxStreamDuration).to.equal(undefined);
  });

  it("serves the same cluster and endpoint names as the grpc translation, with the full connection pool mapping", () => {
    const grpc = translateForGrpc(parseMeshConfig(mesh, "mesh.yaml"));
    expect([...(resources.get(clusterTypeUrl)?.keys() ?? [])]).to.deep.equal([...(grpc.get(clusterTypeUrl)?.keys() ?? [])]);
    expect([...(resources.get(endpointsTypeUrl)?.keys() ?? [])]).to.deep.equal([...(grpc.get(endpointsTypeUrl)?.keys() ?? [])]);
    const cluster = resources.get(clusterTypeUrl)?.get("outbound|8080||kitex-server.proxyless.svc.cluster.local");
    expect(toJson(xdsResourceRegistry.getMessage("envoy.config.cluster.v3.Cluster")!, cluster!)).to.deep.include({
      circuitBreakers: { thresholds: [{ maxPendingRequests: 10, maxRequests: 100 }] },
    });
  });

  it("serves the NDS name table \"\" mapping each FQDN with addresses to its VIPs", () => {
    const table = get<NameTable>(resources, nameTableTypeUrl, "");
    expect(toJson(NameTableSchema, table)).to.deep.equal({
      table: {
        "kitex-server.proxyless.svc.cluster.local": {
          ips: ["10.96.73.130"],
          registry: "Kubernetes",
          shortname: "kitex-server",
          namespace: "proxyless",
        },
      },
    });
  });

  it("produces only resources that pack into an Any for a DiscoveryResponse", () => {
    for (const all of [resources, translateForGrpc(parseMeshConfig(mesh, "mesh.yaml"))]) {
      for (const [typeUrl, byName] of all) {
        for (const message of byName.values()) expect(packResource(message).typeUrl).to.equal(typeUrl);
      }
    }
  });
});
