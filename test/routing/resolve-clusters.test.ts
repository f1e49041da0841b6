import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { XdsError } from "rxds";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { ClusterConfigSchema } from "../../gen/envoy/extensions/clusters/aggregate/v3/cluster_pb.js";
import { ThriftProxySchema } from "../../gen/envoy/extensions/filters/network/thrift_proxy/v3/thrift_proxy_pb.js";
import type { RouteDecision } from "../../src/routing/router.js";
import { apiListener, edsCluster, loopbackEndpoints, prefixRoute, routeConfiguration } from "../support/resources.js";
import { CDS, EDS, Harness, LDS, next, RDS } from "../support/wire.js";

const target = "svc.default.svc.cluster.local:8080";

function decided(result: RouteDecision | XdsError): RouteDecision {
  if (result instanceof XdsError) throw result;
  return result;
}

describe("resolve() across cluster kinds", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await new Harness().start();
    h.cp.set(LDS, { [target]: apiListener(target, "rc") });
    h.cp.set(RDS, { rc: routeConfiguration("rc", ["*"], [prefixRoute("/", "top")]) });
  });
  afterEach(async () => h.stop());

  it("follows an aggregate cluster to its first child with a usable endpoint, and fails over when that child empties", async () => {
    const aggregate = create(ClusterSchema, {
      name: "top",
      clusterDiscoveryType: { case: "clusterType", value: { name: "envoy.clusters.aggregate", typedConfig: anyPack(ClusterConfigSchema, create(ClusterConfigSchema, { clusters: ["primary", "secondary"] })) } },
    });
    h.cp.set(CDS, { top: anyPack(ClusterSchema, aggregate), primary: edsCluster("primary"), secondary: edsCluster("secondary") });
    h.cp.set(EDS, { primary: loopbackEndpoints("primary", [9001]), secondary: loopbackEndpoints("secondary", [9002]) });
    const client = h.xds();
    const router = await next(client.router(target), (r) => r.snapshot.clusters.size === 3);
    expect(decided(router.route({ path: "/x", headers: {} }))).to.deep.include({ cluster: "top", leafCluster: "primary" });
    h.cp.set(EDS, { primary: loopbackEndpoints("primary", []) });
    const after = await next(client.router(target), (r) => r.snapshot.clusters.get("primary")?.endpoints?.endpointCount === 0);
    const failover = decided(after.route({ path: "/x", headers: {} }));
    expect(failover).to.include({ leafCluster: "secondary" });
    expect(failover.endpoint.port).to.equal(9002);
  });

  it("resolves a LOGICAL_DNS cluster's host with the platform's DNS", async () => {
    const dns = create(ClusterSchema, {
      name: "top",
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.LOGICAL_DNS },
      loadAssignment: {
        clusterName: "top",
        endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address: "localhost", portSpecifier: { case: "portValue", value: 9005 } } } } } } }] }],
      },
    });
    h.cp.set(CDS, { top: anyPack(ClusterSchema, dns) });
    const router = await next(h.xds().router(target), (r) => r.snapshot.clusters.get("top")?.endpoints !== undefined);
    const decision = decided(router.route({ path: "/", headers: {} }));
    expect(["127.0.0.1", "::1"]).to.include(decision.endpoint.address);
    expect(decision.endpoint.port).to.equal(9005);
  });

  it("re-resolves a STRICT_DNS cluster and emits when the addresses change", async () => {
    const strict = create(ClusterSchema, {
      name: "top",
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STRICT_DNS },
      loadAssignment: {
        clusterName: "top",
        endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address: "backend.test", portSpecifier: { case: "portValue", value: 80 } } } } } } }] }],
      },
    });
    h.cp.set(CDS, { top: anyPack(ClusterSchema, strict) });
    const answers = [["127.0.0.1"], ["127.0.0.2", "127.0.0.3"]];
    let lookups = 0;
    const client = h.xds({ hostResolver: async (host) => (host === "backend.test" ? answers[Math.min(lookups++, 1)]! : []), dnsRefreshMs: 20 });
    const later = await next(client.resolve(target), (s) => s.clusters.get("top")?.endpoints?.endpointCount === 2);
    expect(lookups).to.be.greaterThan(1);
    expect(later.clusters.get("top")?.endpoints?.priorities[0]?.[0]?.endpoints.map((e) => e.address)).to.deep.equal(["127.0.0.2", "127.0.0.3"]);
  });

  it("routes Thrift calls by method through a sidecar listener's ThriftProxy, watching the clusters its routes name", async () => {
    const thrift = create(ThriftProxySchema, {
      statPrefix: "outbound|8080||svc",
      routeConfig: {
        name: "thrift",
        routes: [
          { match: { matchSpecifier: { case: "methodName", value: "SayHello" } }, route: { clusterSpecifier: { case: "cluster", value: "v2" } } },
          { match: { matchSpecifier: { case: "methodName", value: "" } }, route: { clusterSpecifier: { case: "cluster", value: "v1" } } },
        ],
      },
    });
    const listener = create(ListenerSchema, {
      name: "0.0.0.0_8080",
      filterChains: [{ filters: [{ name: "envoy.filters.network.thrift_proxy", configType: { case: "typedConfig", value: anyPack(ThriftProxySchema, thrift) } }] }],
    });
    h.cp.set(LDS, { "0.0.0.0_8080": anyPack(ListenerSchema, listener) });
    h.cp.set(CDS, { v1: edsCluster("v1"), v2: edsCluster("v2") });
    h.cp.set(EDS, { v1: loopbackEndpoints("v1", [9001]), v2: loopbackEndpoints("v2", [9002]) });
    const client = h.xds({ listenerNaming: "sidecar", doesNotExistTimeoutMs: 50 });
    const router = await next(client.router(target), (r) => r.snapshot.clusters.size === 2);
    expect(decided(router.routeThrift({ service: "GreetService", method: "SayHello", headers: {} })).cluster).to.equal("v2");
    expect(decided(router.routeThrift({ service: "GreetService", method: "SayHello1", headers: {} })).cluster).to.equal("v1");
  });

  it("gives calls that an allow_any virtual host sends to istiod's ORIGINAL_DST PassthroughCluster UNSUPPORTED_CLUSTER, naming it; the target gets a Router", async () => {
    const hcm = create(HttpConnectionManagerSchema, {
      statPrefix: "outbound_0.0.0.0_8080",
      routeSpecifier: { case: "rds", value: { configSource: { configSourceSpecifier: { case: "ads", value: {} } }, routeConfigName: "8080" } },
      httpFilters: [{ name: "envoy.filters.http.router", configType: { case: "typedConfig", value: anyPack(RouterSchema, create(RouterSchema)) } }],
    });
    const listener = create(ListenerSchema, {
      name: "0.0.0.0_8080",
      filterChains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", configType: { case: "typedConfig", value: anyPack(HttpConnectionManagerSchema, hcm) } }] }],
    });
    const routes = create(RouteConfigurationSchema, {
      name: "8080",
      virtualHosts: [
        { name: "svc.default.svc.cluster.local:8080", domains: ["svc.default.svc.cluster.local", "svc.default.svc.cluster.local:8080"], routes: [prefixRoute("/", "top")] },
        { name: "allow_any", domains: ["*"], routes: [prefixRoute("/", "PassthroughCluster")] },
      ],
    });
    const passthrough = create(ClusterSchema, {
      name: "PassthroughCluster",
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.ORIGINAL_DST },
      lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
    });
    h.cp.set(LDS, { "0.0.0.0_8080": anyPack(ListenerSchema, listener) });
    h.cp.set(RDS, { "8080": anyPack(RouteConfigurationSchema, routes) });
    h.cp.set(CDS, { top: edsCluster("top"), PassthroughCluster: anyPack(ClusterSchema, passthrough) });
    h.cp.set(EDS, { top: loopbackEndpoints("top", [9001]) });
    const client = h.xds({ listenerNaming: "sidecar", doesNotExistTimeoutMs: 50 });

    const outside = await next(client.router("api.example.com:8080"), (r) => r.snapshot.clusters.has("PassthroughCluster"));
    const call = outside.route({ path: "/anything", headers: {} });
    expect(call).to.be.instanceOf(XdsError);
    expect(call).to.include({ code: "UNSUPPORTED_CLUSTER" });
    expect((call as XdsError).message).to.match(/^cluster "PassthroughCluster" is an ORIGINAL_DST cluster.*\(picked by route "\/→PassthroughCluster" \(virtual host "allow_any" routes\[0\]\)\)$/);
    const inside = await next(client.router(target), (r) => r.snapshot.clusters.get("top")?.endpoints !== undefined);
    expect(decided(inside.route({ path: "/x", headers: {} })).endpoint.port).to.equal(9001);
  });
});
