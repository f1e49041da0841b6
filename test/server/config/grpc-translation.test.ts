import { clone, toJson, type Message } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { ClusterSchema, Cluster_LbPolicy, type Cluster } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import type { Route } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../../../gen/envoy/config/route/v3/route_pb.js";
import { HTTPFaultSchema } from "../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { HttpConnectionManagerSchema, type HttpConnectionManager } from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { translateForGrpc } from "../../../src/server/config/grpc-translation.js";
import { parseMeshConfig } from "../../../src/server/config/mesh-config.js";
import {
  clusterTypeUrl,
  endpointsTypeUrl,
  listenerTypeUrl,
  routeConfigurationTypeUrl,
  xdsResourceRegistry,
  type XdsResources,
} from "../../../src/server/config/xds-resources.js";

const fqdn = "kitex-server.default.svc.cluster.local";

/** The service the kitex README examples route to: three instances, v1 and v2, behind a VIP. */
const kitexService = `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: kitex-server
spec:
  hosts: [kitex-server]
  addresses: [10.96.73.130]
  ports:
  - {number: 8888, name: thrift}
  resolution: STATIC
  endpoints:
  - {address: 10.0.0.1, labels: {version: v1}}
  - {address: 10.0.0.2, labels: {version: v2}}
  - {address: 10.0.0.3, labels: {version: v2}, ports: {thrift: 9999}}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: kitex-server
spec:
  host: kitex-server
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;

/** kitex-contrib/xds README, "route based on tags". */
const readmeTagRoute = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: kitex-server
spec:
  hosts:
    - kitex-server
  http:
  - name: "route-based-on-tags"
    match:
      - headers:
          stage:
            exact: "canary"
    route:
    - destination:
        host: kitex-server
        subset: v1
      weight: 100
    timeout: 0.5s
`;

/** kitex-contrib/xds README, "route based on method". */
const readmePathRoute = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: kitex-server
spec:
  hosts:
    - kitex-server
  http:
  - name: "route-based-on-path"
    match:
      - uri:
          # /\${PackageName}.\${ServiceName}/\${MethodName}
          exact: /proxyless.GreetService/SayHello
    route:
    - destination:
        host: kitex-server
        subset: v2
      weight: 100
    timeout: 0.5s
`;

function translate(...documents: string[]): XdsResources {
  return translateForGrpc(parseMeshConfig(documents.join("---\n"), "mesh.yaml"));
}

function resource<T extends Message>(resources: XdsResources, typeUrl: string, name: string): T {
  const found = resources.get(typeUrl)?.get(name);
  expect(found, `${typeUrl} ${name}`).to.not.equal(undefined);
  return found as T;
}

function routesOf(resources: XdsResources, name = `outbound|8888||${fqdn}`): Route[] {
  const config = resource<RouteConfiguration>(resources, routeConfigurationTypeUrl, name);
  expect(config.virtualHosts).to.have.length(1);
  return config.virtualHosts[0]?.routes ?? [];
}

/** The route configuration as proto3 JSON, without retry host predicates (their Any type is not generated here). */
function routeConfigurationJson(config: RouteConfiguration): unknown {
  const copy = clone(RouteConfigurationSchema, config);
  for (const route of copy.virtualHosts.flatMap((vh) => vh.routes)) {
    if (route.action.case === "route" && route.action.value.retryPolicy) route.action.value.retryPolicy.retryHostPredicate = [];
  }
  return toJson(RouteConfigurationSchema, copy, { registry: xdsResourceRegistry });
}

const meshDefaultRetries = {
  retryOn: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
  numRetries: 2,
  hostSelectionRetryMaxAttempts: "5",
};

describe("translateForGrpc", () => {
  describe("kitex-contrib/xds README VirtualServices", () => {
    it("routes header stage=canary to subset v1 with a 0.5s timeout and max_stream_duration", () => {
      const resources = translate(kitexService, readmeTagRoute);
      const config = resource<RouteConfiguration>(resources, routeConfigurationTypeUrl, `outbound|8888||${fqdn}`);
      expect(routeConfigurationJson(config)).to.deep.equal({
        name: `outbound|8888||${fqdn}`,
        virtualHosts: [
          {
            name: `${fqdn}:8888`,
            domains: [
              fqdn,
              `${fqdn}:8888`,
              "kitex-server",
              "kitex-server:8888",
              "kitex-server.default.svc",
              "kitex-server.default.svc:8888",
              "kitex-server.default",
              "kitex-server.default:8888",
              "10.96.73.130",
              "10.96.73.130:8888",
            ],
            routes: [
              {
                name: "route-based-on-tags",
                match: { prefix: "/", caseSensitive: true, headers: [{ name: "stage", stringMatch: { exact: "canary" } }] },
                route: {
                  cluster: `outbound|8888|v1|${fqdn}`,
                  timeout: "0.500s",
                  retryPolicy: meshDefaultRetries,
                  maxStreamDuration: { maxStreamDuration: "0.500s" },
                },
                metadata: { filterMetadata: { istio: { config: "/apis/networking.istio.io/v1/namespaces/default/virtual-service/kitex-server" } } },
                decorator: { operation: `${fqdn}:8888/*` },
              },
            ],
            includeRequestAttemptCount: true,
          },
        ],
      });
    });

    it("routes uri exact /proxyless.GreetService/SayHello to subset v2 as a path match", () => {
      const [route, ...rest] = routesOf(translate(kitexService, readmePathRoute));
      expect(rest, "istiod adds no default route after a VirtualService").to.have.length(0);
      expect(route?.name).to.equal("route-based-on-path");
      expect(route?.match?.pathSpecifier).to.deep.equal({ case: "path", value: "/proxyless.GreetService/SayHello" });
      expect(route?.match?.headers).to.have.length(0);
      const action = route?.action.case === "route" ? route.action.value : undefined;
      expect(action?.clusterSpecifier).to.deep.equal({ case: "cluster", value: `outbound|8888|v2|${fqdn}` });
      expect(action?.timeout).to.include({ seconds: 0n, nanos: 500_000_000 });
      expect(action?.maxStreamDuration?.maxStreamDuration).to.include({ seconds: 0n, nanos: 500_000_000 });
      expect(action?.maxStreamDuration?.grpcTimeoutHeaderMax, "istiod sets no grpc_timeout_header_max").to.equal(undefined);
      expect(route?.decorator?.operation).to.equal(`${fqdn}:8888/proxyless.GreetService/SayHello`);
    });

    it("gives each subset a cluster and an EDS resource with the instances whose labels match", () => {
      const resources = translate(kitexService, readmePathRoute);
      const v2 = resource<ClusterLoadAssignment>(resources, endpointsTypeUrl, `outbound|8888|v2|${fqdn}`);
      expect(toJson(ClusterLoadAssignmentSchema, v2)).to.deep.equal({
        clusterName: `outbound|8888|v2|${fqdn}`,
        endpoints: [
          {
            locality: {},
            lbEndpoints: [
              { endpoint: { address: { socketAddress: { address: "10.0.0.2", portValue: 8888 } } }, healthStatus: "HEALTHY", loadBalancingWeight: 1 },
              { endpoint: { address: { socketAddress: { address: "10.0.0.3", portValue: 9999 } } }, healthStatus: "HEALTHY", loadBalancingWeight: 1 },
            ],
            loadBalancingWeight: 2,
          },
        ],
      });
      const all = resource<ClusterLoadAssignment>(resources, endpointsTypeUrl, `outbound|8888||${fqdn}`);
      expect(all.endpoints[0]?.lbEndpoints).to.have.length(3);
      const v1 = resource<ClusterLoadAssignment>(resources, endpointsTypeUrl, `outbound|8888|v1|${fqdn}`);
      expect(v1.endpoints[0]?.lbEndpoints).to.have.length(1);
      expect([...(resources.get(clusterTypeUrl)?.keys() ?? [])]).to.deep.equal([
        `outbound|8888||${fqdn}`,
        `outbound|8888|v1|${fqdn}`,
        `outbound|8888|v2|${fqdn}`,
      ]);
      expect(toJson(ClusterSchema, resource<Cluster>(resources, clusterTypeUrl, `outbound|8888|v1|${fqdn}`))).to.deep.equal({
        name: `outbound|8888|v1|${fqdn}`,
        type: "EDS",
        edsClusterConfig: { edsConfig: { ads: {} }, serviceName: `outbound|8888|v1|${fqdn}` },
      });
    });
  });

  it("names the api_listener <fqdn>:<port> and points its HttpConnectionManager at RDS outbound|<port>||<fqdn> over ADS, router last", () => {
    const listener = resource<Listener>(translate(kitexService), listenerTypeUrl, `${fqdn}:8888`);
    expect(listener.address?.address).to.deep.include({ case: "socketAddress" });
    expect(listener.address?.address.case === "socketAddress" ? listener.address.address.value.address : "").to.equal("10.96.73.130");
    const any = listener.apiListener?.apiListener;
    expect(any?.typeUrl).to.equal("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
    const manager = anyUnpack(any!, xdsResourceRegistry) as HttpConnectionManager;
    expect(manager.$typeName).to.equal(HttpConnectionManagerSchema.typeName);
    expect(manager.routeSpecifier.case).to.equal("rds");
    const rds = manager.routeSpecifier.case === "rds" ? manager.routeSpecifier.value : undefined;
    expect(rds?.routeConfigName).to.equal(`outbound|8888||${fqdn}`);
    expect(rds?.configSource?.configSourceSpecifier.case).to.equal("ads");
    expect(manager.httpFilters.map((f) => f.name)).to.deep.equal(["envoy.filters.http.fault", "envoy.filters.http.router"]);
  });

  it("without a VirtualService, routes prefix / to outbound|<port>||<fqdn> with the mesh default retries", () => {
    const [route, ...rest] = routesOf(translate(kitexService));
    expect(rest).to.have.length(0);
    expect(route?.name).to.equal("default");
    expect(route?.match?.pathSpecifier).to.deep.equal({ case: "prefix", value: "/" });
    const action = route?.action.case === "route" ? route.action.value : undefined;
    expect(action?.clusterSpecifier).to.deep.equal({ case: "cluster", value: `outbound|8888||${fqdn}` });
    expect(action?.timeout).to.include({ seconds: 0n, nanos: 0 });
    expect(action?.retryPolicy?.numRetries).to.equal(2);
    expect(action?.retryPolicy?.retryHostPredicate.map((p) => p.name)).to.deep.equal(["envoy.retry_host_predicates.previous_hosts"]);
  });

  describe("VirtualService → RouteConfiguration translation table", () => {
    const vs = (http: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: kitex-vs}
spec:
  hosts: [kitex-server]
  http:
${http}`;
    const actionOf = (route: Route | undefined) => (route?.action.case === "route" ? route.action.value : undefined);

    it("keeps VirtualService order and stops after the first catch-all, so the catch-all is last", () => {
      const routes = routesOf(
        translate(
          kitexService,
          vs(`  - name: a
    match: [{uri: {prefix: /a}}, {headers: {x-user: {regex: "adm.*"}}}]
    route: [{destination: {host: kitex-server, subset: v1}}]
  - name: rest
    route: [{destination: {host: kitex-server, subset: v2}}]
  - name: never
    match: [{uri: {exact: /never}}]
    route: [{destination: {host: kitex-server}}]
`),
        ),
      );
      expect(routes.map((r) => r.name)).to.deep.equal(["a", "a", "rest"]);
      expect(routes[0]?.match?.pathSpecifier).to.deep.equal({ case: "prefix", value: "/a" });
      expect(routes[1]?.match?.headers[0]?.headerMatchSpecifier.case).to.equal("stringMatch");
      const regex = routes[1]?.match?.headers[0]?.headerMatchSpecifier;
      expect(regex?.case === "stringMatch" ? regex.value.matchPattern : undefined).to.deep.include({ case: "safeRegex" });
      expect(routes[2]?.match?.pathSpecifier).to.deep.equal({ case: "prefix", value: "/" });
    });

    it("translates uri regex to safe_regex, header prefix to string_match.prefix, headers sorted by name, match names appended", () => {
      const [route] = routesOf(
        translate(
          kitexService,
          vs(`  - name: r
    match:
    - name: m
      uri: {regex: "/proxyless\\\\..*"}
      headers: {zone: {prefix: eu-}, app: {exact: web}}
    route: [{destination: {host: kitex-server}}]
`),
        ),
      );
      expect(route?.name).to.equal("r.m");
      const path = route?.match?.pathSpecifier;
      expect(path?.case === "safeRegex" ? path.value.regex : undefined).to.equal("/proxyless\\..*");
      expect(route?.match?.headers.map((h) => h.name)).to.deep.equal(["app", "zone"]);
      const zone = route?.match?.headers[1]?.headerMatchSpecifier;
      expect(zone?.case === "stringMatch" ? zone.value.matchPattern : undefined).to.deep.equal({ case: "prefix", value: "eu-" });
    });

    it("turns several destinations into weighted_clusters and drops weight-0 destinations", () => {
      const [route] = routesOf(
        translate(
          kitexService,
          vs(`  - route:
    - {destination: {host: kitex-server, subset: v1}, weight: 90}
    - {destination: {host: kitex-server, subset: v2}, weight: 10}
    - {destination: {host: kitex-server}, weight: 0}
`),
        ),
      );
      const specifier = actionOf(route)?.clusterSpecifier;
      expect(specifier?.case).to.equal("weightedClusters");
      const clusters = specifier?.case === "weightedClusters" ? specifier.value.clusters : [];
      expect(clusters.map((c) => [c.name, c.weight])).to.deep.equal([
        [`outbound|8888|v1|${fqdn}`, 90],
        [`outbound|8888|v2|${fqdn}`, 10],
      ]);
      expect(route?.decorator?.operation, "several clusters: the VirtualService name").to.equal("kitex-vs:8888/*");
    });

    it("maps retries to retry_policy: attempts → num_retries, perTryTimeout → per_try_timeout, status codes split out", () => {
      const [route] = routesOf(
        translate(
          kitexService,
          vs(`  - route: [{destination: {host: kitex-server}}]
    retries: {attempts: 3, perTryTimeout: 100ms, retryOn: "unavailable,cancelled,503"}
`),
        ),
      );
      const retry = actionOf(route)?.retryPolicy;
      expect(retry?.numRetries).to.equal(3);
      expect(retry?.retryOn).to.equal("unavailable,cancelled,retriable-status-codes");
      expect(retry?.retriableStatusCodes).to.deep.equal([503]);
      expect(retry?.perTryTimeout).to.include({ seconds: 0n, nanos: 100_000_000 });
      expect(retry?.hostSelectionRetryMaxAttempts).to.equal(5n);
    });

    it("maps retries.backoff to retry_back_off.base_interval, and retryIgnorePreviousHosts to the previous-hosts predicate, as istiod does", () => {
      const [route] = routesOf(translate(kitexService, vs(`  - route: [{destination: {host: kitex-server}}]\n    retries: {attempts: 2, backoff: 50ms, retryIgnorePreviousHosts: true}\n`)));
      const retry = actionOf(route)?.retryPolicy;
      expect(retry?.retryBackOff?.baseInterval).to.include({ seconds: 0n, nanos: 50_000_000 });
      expect(retry?.retryHostPredicate.map((p) => p.name)).to.deep.equal(["envoy.retry_host_predicates.previous_hosts"]);
    });

    it("maps fault to the route's typed_per_filter_config for envoy.filters.http.fault, percentages per million, gRPC statuses by name", () => {
      const [route] = routesOf(
        translate(
          kitexService,
          vs(`  - route: [{destination: {host: kitex-server}}]
    fault:
      delay: {fixedDelay: 0.2s, percentage: {value: 12.5}}
      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 0.5}}
`),
        ),
      );
      const packed = route?.typedPerFilterConfig["envoy.filters.http.fault"];
      expect(packed?.typeUrl).to.equal("type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault");
      const fault = anyUnpack(packed!, HTTPFaultSchema)!;
      expect(toJson(HTTPFaultSchema, fault)).to.deep.equal({
        delay: { fixedDelay: "0.200s", percentage: { numerator: 125000, denominator: "MILLION" } },
        abort: { grpcStatus: 14, percentage: { numerator: 5000, denominator: "MILLION" } },
      });
      const [httpAbort] = routesOf(translate(kitexService, vs(`  - route: [{destination: {host: kitex-server}}]\n    fault: {abort: {httpStatus: 503}, delay: {fixedDelay: 1s, percent: 30}}\n`)));
      expect(toJson(HTTPFaultSchema, anyUnpack(httpAbort!.typedPerFilterConfig["envoy.filters.http.fault"]!, HTTPFaultSchema)!)).to.deep.equal({
        delay: { fixedDelay: "1s", percentage: { numerator: 30 } },
        abort: { httpStatus: 503 },
      });
    });

    it("refuses a fault Istio would refuse, naming the field", () => {
      const errorOf = (fault: string) => {
        try {
          translate(kitexService, vs(`  - route: [{destination: {host: kitex-server}}]\n    fault: ${fault}\n`));
        } catch (e) {
          return (e as Error).message;
        }
        return expect.fail("no error");
      };
      expect(errorOf("{abort: {httpStatus: 700}}")).to.contain("spec.http[0].fault.abort.httpStatus: expected an integer 200..599, got 700");
      expect(errorOf("{abort: {grpcStatus: NOPE}}")).to.contain("spec.http[0].fault.abort.grpcStatus: expected one of OK, CANCELLED");
      expect(errorOf("{abort: {httpStatus: 503, grpcStatus: UNAVAILABLE}}")).to.contain("spec.http[0].fault.abort: expected only one of httpStatus and grpcStatus");
      expect(errorOf("{delay: {fixedDelay: 1s, percentage: {value: 101}}}")).to.contain("spec.http[0].fault.delay.percentage.value: expected a number 0..100, got 101");
    });

    it("gives no retry_policy for attempts 0, and a 0s timeout without max_stream_duration limit when timeout is unset", () => {
      const [route] = routesOf(translate(kitexService, vs(`  - route: [{destination: {host: kitex-server}}]\n    retries: {attempts: 0}\n`)));
      const action = actionOf(route);
      expect(action?.retryPolicy).to.equal(undefined);
      expect(action?.timeout).to.include({ seconds: 0n, nanos: 0 });
      expect(action?.maxStreamDuration?.maxStreamDuration).to.include({ seconds: 0n, nanos: 0 });
    });

    it("uses destination.port when given and otherwise the service's only port", () => {
      const routes = routesOf(
        translate(
          kitexService,
          vs(`  - match: [{uri: {prefix: /p}}]
    route: [{destination: {host: kitex-server, port: {number: 7000}}}]
  - route: [{destination: {host: kitex-server}}]
`),
        ),
      );
      expect(actionOf(routes[0])?.clusterSpecifier).to.deep.equal({ case: "cluster", value: `outbound|7000||${fqdn}` });
      expect(actionOf(routes[1])?.clusterSpecifier).to.deep.equal({ case: "cluster", value: `outbound|8888||${fqdn}` });
    });
  });

  describe("DestinationRule → Cluster translation table", () => {
    const rule = (trafficPolicy: string, subsetPolicy = ""): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: kitex-server}
spec:
  host: kitex-server
  trafficPolicy: ${trafficPolicy}
  subsets:
  - {name: v1, labels: {version: v1}${subsetPolicy === "" ? "" : `, trafficPolicy: ${subsetPolicy}`}}
`;
    const service = kitexService.slice(0, kitexService.indexOf("---"));
    const cluster = (resources: XdsResources, subset = ""): Cluster => resource<Cluster>(resources, clusterTypeUrl, `outbound|8888|${subset}|${fqdn}`);

    it("maps loadBalancer.simple LEAST_REQUEST and RANDOM to lb_policy, and a subset policy overrides the top level", () => {
      const resources = translate(service, rule("{loadBalancer: {simple: LEAST_REQUEST}}", "{loadBalancer: {simple: RANDOM}}"));
      expect(cluster(resources).lbPolicy).to.equal(Cluster_LbPolicy.LEAST_REQUEST);
      expect(cluster(resources, "v1").lbPolicy).to.equal(Cluster_LbPolicy.RANDOM);
    });

    it("maps consistentHash to RING_HASH on the cluster and a hash_policy on the routes, without the previous-hosts retry predicate", () => {
      const resources = translate(
        service,
        rule("{loadBalancer: {consistentHash: {httpHeaderName: x-user}}}"),
        `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: kitex-vs}
spec:
  hosts: [kitex-server]
  http: [{route: [{destination: {host: kitex-server, subset: v1}}]}]
`,
      );
      expect(cluster(resources).lbPolicy).to.equal(Cluster_LbPolicy.RING_HASH);
      const config = cluster(resources).lbConfig;
      expect(config.case === "ringHashLbConfig" ? config.value.minimumRingSize : undefined).to.equal(1024n);
      const action = routesOf(resources)[0]?.action;
      const route = action?.case === "route" ? action.value : undefined;
      expect(route?.hashPolicy[0]?.policySpecifier).to.deep.include({ case: "header" });
      expect(route?.retryPolicy?.retryHostPredicate).to.have.length(0);
    });

    it("maps http2MaxRequests to circuit_breakers max_requests only, and outlierDetection to outlier_detection", () => {
      const resources = translate(
        service,
        rule(
          "{connectionPool: {http: {http2MaxRequests: 500, http1MaxPendingRequests: 7}, tcp: {maxConnections: 9}}, outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50}}",
        ),
      );
      expect(toJson(ClusterSchema, cluster(resources))).to.deep.include({
        circuitBreakers: { thresholds: [{ maxRequests: 500 }] },
        outlierDetection: {
          consecutive5xx: 5,
          interval: "10s",
          baseEjectionTime: "30s",
          maxEjectionPercent: 50,
          enforcingConsecutive5xx: 100,
          enforcingSuccessRate: 0,
        },
      });
    });
  });

  it("lets a raw @type resource replace the generated one of the same type and name", () => {
    const resources = translate(
      kitexService,
      `"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
name: outbound|8888|v1|${fqdn}
type: EDS
lb_policy: MAGLEV
eds_cluster_config: {eds_config: {ads: {}}}
`,
    );
    expect(cluster(resources, "v1").lbPolicy).to.equal(Cluster_LbPolicy.MAGLEV);
    expect(cluster(resources, "v2").lbPolicy).to.equal(Cluster_LbPolicy.ROUND_ROBIN);

    function cluster(all: XdsResources, subset: string): Cluster {
      return resource<Cluster>(all, clusterTypeUrl, `outbound|8888|${subset}|${fqdn}`);
    }
  });
});
