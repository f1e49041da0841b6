import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import fc from "fast-check";
import { ClusterSchema, Cluster_DiscoveryType } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { Route, RouteAction, RouteActionSchema, RouteSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { ClusterConfigSchema } from "../../gen/envoy/extensions/clusters/aggregate/v3/cluster_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { RouteConfigurationSchema as ThriftRouteConfigurationSchema } from "../../gen/envoy/extensions/filters/network/thrift_proxy/v3/route_pb.js";
import { ThriftProxySchema } from "../../gen/envoy/extensions/filters/network/thrift_proxy/v3/thrift_proxy_pb.js";
import { TargetBalancer } from "../../src/balancing/target-balancer.js";
import { validateCluster } from "../../src/resources/cluster.js";
import { validateClusterLoadAssignment } from "../../src/resources/endpoints.js";
import { validateListener, type ListenerModel } from "../../src/resources/listener.js";
import type { RandomSource } from "../../src/resources/match/route-match.js";
import { validateRouteConfiguration, type RouteConfigurationModel } from "../../src/resources/route-configuration.js";
import { createRouter, type RouteDecision, type Router } from "../../src/routing/router.js";
import { createServiceSnapshot, type ClusterSnapshot, type ServiceSnapshot } from "../../src/routing/service-snapshot.js";
import { XdsError, type XdsErrorCode } from "../../src/xds-error.js";
import { seededRandom } from "../support/seeded-random.js";

type RouteInit = Exclude<MessageInitShape<typeof RouteSchema>, Route>;
type ActionInit = Exclude<MessageInitShape<typeof RouteActionSchema>, RouteAction>;
type ActionChoice = NonNullable<RouteInit["action"]>;

const HOST = "kitex-server.default.svc.cluster.local";
const TARGET = `${HOST}:8888`;
const RDS_NAME = `outbound|8888||${HOST}`;
const DEFAULT = `outbound|8888||${HOST}`;
const V1 = `outbound|8888|v1|${HOST}`;
const V2 = `outbound|8888|v2|${HOST}`;
const SAY_HELLO = "/proxyless.GreetService/SayHello";

const seconds = (s: number) => ({ seconds: BigInt(Math.floor(s)), nanos: Math.round((s % 1) * 1e9) });
const ads = { configSourceSpecifier: { case: "ads" as const, value: {} } };
const routerFilter = { name: "envoy.filters.http.router", configType: { case: "typedConfig" as const, value: anyPack(RouterSchema, create(RouterSchema, {})) } };

function apiListener(hcmMaxStreamDuration?: number): ListenerModel {
  const hcm = create(HttpConnectionManagerSchema, {
    routeSpecifier: { case: "rds", value: { configSource: ads, routeConfigName: RDS_NAME } },
    httpFilters: [routerFilter],
    ...(hcmMaxStreamDuration === undefined ? {} : { commonHttpProtocolOptions: { maxStreamDuration: seconds(hcmMaxStreamDuration) } }),
  });
  return validateListener(create(ListenerSchema, { name: TARGET, apiListener: { apiListener: anyPack(HttpConnectionManagerSchema, hcm) } }), TARGET);
}

function thriftListener(proxy: MessageInitShape<typeof ThriftProxySchema>): ListenerModel {
  const name = "10.96.73.130_8888";
  const typedConfig = anyPack(ThriftProxySchema, create(ThriftProxySchema, proxy));
  return validateListener(
    create(ListenerSchema, { name, filterChains: [{ filters: [{ name: "envoy.filters.network.thrift_proxy", configType: { case: "typedConfig", value: typedConfig } }] }] }),
    name,
  );
}

function routes(...list: RouteInit[]): RouteConfigurationModel {
  return validateRouteConfiguration(
    create(RouteConfigurationSchema, { name: RDS_NAME, virtualHosts: [{ name: `${HOST}:8888`, domains: [HOST, TARGET, "kitex-server", "kitex-server:8888"], routes: list }] }),
    RDS_NAME,
  );
}

const to = (cluster: string, extra: ActionInit = {}): ActionChoice => ({ case: "route", value: { clusterSpecifier: { case: "cluster", value: cluster }, ...extra } });
const any = { pathSpecifier: { case: "prefix" as const, value: "/" } };

function cluster(name: string, addresses: string[], health = HealthStatus.HEALTHY): ClusterSnapshot {
  const model = validateCluster(
    create(ClusterSchema, { name, clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { edsConfig: ads } }),
    name,
  );
  const cla = create(ClusterLoadAssignmentSchema, {
    clusterName: name,
    endpoints: [
      {
        loadBalancingWeight: 1,
        lbEndpoints: addresses.map((address) => ({
          healthStatus: health,
          hostIdentifier: { case: "endpoint" as const, value: { address: { address: { case: "socketAddress" as const, value: { address, portSpecifier: { case: "portValue" as const, value: 8888 } } } } } },
        })),
      },
    ],
  });
  return { name, cluster: model, endpoints: validateClusterLoadAssignment(cla, name), error: undefined, children: [] };
}

const standardClusters = (): ClusterSnapshot[] => [cluster(DEFAULT, ["10.0.0.1"]), cluster(V1, ["10.0.1.1"]), cluster(V2, ["10.0.2.1"])];

interface SnapshotParts {
  listener?: ListenerModel | undefined;
  listenerError?: XdsError;
  routeConfiguration?: RouteConfigurationModel | undefined;
  routeConfigurationError?: XdsError;
  clusters?: ClusterSnapshot[];
}

function snapshot(parts: SnapshotParts): ServiceSnapshot {
  const listener = "listener" in parts ? parts.listener : apiListener();
  const routeConfiguration = parts.routeConfiguration;
  return createServiceSnapshot({
    target: TARGET,
    listenerName: listener?.name ?? TARGET,
    listener,
    listenerError: parts.listenerError,
    routeConfigurationName: RDS_NAME,
    routeConfiguration,
    routeConfigurationError: parts.routeConfigurationError,
    virtualHost: routeConfiguration?.selectVirtualHost(TARGET),
    clusters: new Map((parts.clusters ?? standardClusters()).map((c) => [c.name, c])),
  });
}

/** A Router over `s` with a fresh balancer, as XdsClient builds the first one of a target. */
function routerOf(s: ServiceSnapshot, options: { random?: RandomSource } = {}): Router {
  return createRouter(s, { ...options, picking: new TargetBalancer() });
}

/** The decision, its call reported done at once (as an OK call), so that picks do not pile up in flight. */
function decided(result: RouteDecision | XdsError): RouteDecision {
  if (result instanceof XdsError) throw result;
  result.done(0);
  return result;
}

function failed(result: RouteDecision | XdsError, code: XdsErrorCode): string {
  expect(result).to.be.instanceOf(XdsError);
  expect((result as XdsError).code).to.equal(code);
  return (result as XdsError).message;
}

/** The two VirtualService examples of the kitex-contrib/xds README, as istiod translates them, plus the default route. */
function kitexExamples(proxyless: boolean): RouteConfigurationModel {
  const timeout = (s: number): ActionInit => (proxyless ? { timeout: seconds(s), maxStreamDuration: { maxStreamDuration: seconds(s) } } : { timeout: seconds(s) });
  return routes(
    { name: "route-based-on-tags", match: { ...any, headers: [{ name: "stage", headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "exact", value: "canary" } } } }] }, action: to(V1, timeout(0.5)) },
    { name: "route-based-on-path", match: { pathSpecifier: { case: "path", value: SAY_HELLO } }, action: to(V2, timeout(0.5)) },
    { name: "default", match: any, action: to(DEFAULT, timeout(0)) },
  );
}

describe("router", () => {
  for (const proxyless of [false, true]) {
    describe(`the kitex-contrib/xds README examples (${proxyless ? "proxyless: timeout and max_stream_duration" : "sidecar-style: route timeout only"})`, () => {
      const router = routerOf(snapshot({ routeConfiguration: kitexExamples(proxyless) }));

      it("sends header stage: canary to subset v1 with a 500 ms timeout", () => {
        const d = decided(router.route({ path: "/proxyless.GreetService/SayHello1", headers: { stage: "canary" } }));
        expect(d).to.deep.include({ routeName: "route-based-on-tags", routeIndex: 0, cluster: V1, leafCluster: V1, timeoutMs: 500 });
        expect(d.endpoint).to.include({ address: "10.0.1.1", port: 8888 });
      });

      it("sends uri exact /proxyless.GreetService/SayHello to subset v2 with a 500 ms timeout", () => {
        const d = decided(router.route({ path: SAY_HELLO, headers: { stage: "prod" } }));
        expect(d).to.deep.include({ routeName: "route-based-on-path", cluster: V2, timeoutMs: 500 });
        expect(d.endpoint.address).to.equal("10.0.2.1");
      });

      it("sends everything else to the default cluster with no timeout (0s means none)", () => {
        const d = decided(router.route({ path: "/proxyless.GreetService/SayHello2", headers: {} }));
        expect(d).to.deep.include({ routeName: "default", cluster: DEFAULT, timeoutMs: undefined });
      });
    });
  }

  it("exposes the snapshot it was built from", () => {
    const s = snapshot({ routeConfiguration: kitexExamples(false) });
    expect(routerOf(s).snapshot).to.equal(s);
  });

  describe("timeout precedence (gRFC A31, then the route timeout)", () => {
    const cases: [string, ActionInit, number | undefined, number | undefined][] = [
      ["grpc_timeout_header_max wins over max_stream_duration, the HCM default and timeout", { timeout: seconds(9), maxStreamDuration: { maxStreamDuration: seconds(2), grpcTimeoutHeaderMax: seconds(1) } }, 3, 1000],
      ["max_stream_duration wins over the HCM default and timeout", { timeout: seconds(9), maxStreamDuration: { maxStreamDuration: seconds(2) } }, 3, 2000],
      ["the HCM max_stream_duration wins over the route timeout", { timeout: seconds(9) }, 3, 3000],
      ["the route timeout applies when no stream duration is set", { timeout: seconds(9) }, undefined, 9000],
      ["a set grpc_timeout_header_max of 0 means no timeout, whatever follows", { timeout: seconds(9), maxStreamDuration: { maxStreamDuration: seconds(2), grpcTimeoutHeaderMax: {} } }, 3, undefined],
      ["a set max_stream_duration of 0 means no timeout", { timeout: seconds(9), maxStreamDuration: { maxStreamDuration: {} } }, 3, undefined],
      ["nothing set means no timeout", {}, undefined, undefined],
    ];
    for (const [what, action, hcm, expected] of cases) {
      it(what, () => {
        const router = routerOf(snapshot({ listener: apiListener(hcm), routeConfiguration: routes({ match: any, action: to(V1, action) }) }));
        expect(decided(router.route({ path: "/a", headers: {} })).timeoutMs).to.equal(expected);
      });
    }
  });

  it("returns the route's retry policy and hash policy in the decision", () => {
    const router = routerOf(
      snapshot({
        routeConfiguration: routes({
          match: any,
          action: to(V1, {
            retryPolicy: { retryOn: "unavailable,cancelled", numRetries: 2 },
            hashPolicy: [{ policySpecifier: { case: "header", value: { headerName: "x-user" } }, terminal: true }],
          }),
        }),
      }),
    );
    const d = decided(router.route({ path: "/a", headers: {} }));
    expect([...d.retryPolicy!.retryOn].sort()).to.deep.equal(["CANCELLED", "UNAVAILABLE"]);
    expect(d.retryPolicy!.numRetries).to.equal(2);
    expect(d.hashPolicy).to.deep.equal([{ kind: "header", headerName: "x-user", regexRewrite: undefined, terminal: true }]);
  });

  it("splits weighted clusters by weight (fixed-seed 20000 calls within 4 standard deviations of 1:3)", () => {
    const router = routerOf(
      snapshot({
        routeConfiguration: routes({
          match: any,
          action: { case: "route", value: { clusterSpecifier: { case: "weightedClusters", value: { clusters: [{ name: V1, weight: 25 }, { name: V2, weight: 75 }, { name: DEFAULT, weight: 0 }] } } } },
        }),
      }),
      { random: seededRandom(7) },
    );
    const n = 20_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const c = decided(router.route({ path: "/x", headers: {} })).cluster;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    const sd = Math.sqrt(n * 0.25 * 0.75);
    expect(Math.abs((counts.get(V1) ?? 0) - n * 0.25)).to.be.below(4 * sd);
    expect((counts.get(V1) ?? 0) + (counts.get(V2) ?? 0)).to.equal(n);
    expect(counts.has(DEFAULT)).to.equal(false);
  });

  it("routes by cluster_header to the named cluster", () => {
    const router = routerOf(snapshot({ routeConfiguration: routes({ match: any, action: { case: "route", value: { clusterSpecifier: { case: "clusterHeader", value: "x-cluster" } } } }) }));
    expect(decided(router.route({ path: "/a", headers: { "x-cluster": [V2, V1] } })).cluster).to.equal(V2);
    expect(failed(router.route({ path: "/a", headers: {} }), "CLUSTER_ABSENT")).to.include(`header "x-cluster", which the request lacks`);
    expect(failed(router.route({ path: "/a", headers: { "x-cluster": "nope" } }), "CLUSTER_ABSENT")).to.include(`cluster "nope" does not exist`);
  });

  it("reports the aggregate cluster as the route's cluster and its serving child as leafCluster", () => {
    const typedConfig = anyPack(ClusterConfigSchema, create(ClusterConfigSchema, { clusters: [V2, V1] }));
    const agg = validateCluster(create(ClusterSchema, { name: "agg", clusterDiscoveryType: { case: "clusterType", value: { name: "envoy.clusters.aggregate", typedConfig } } }), "agg");
    const router = routerOf(
      snapshot({
        routeConfiguration: routes({ match: any, action: to("agg") }),
        clusters: [{ name: "agg", cluster: agg, endpoints: undefined, error: undefined, children: [V2, V1] }, cluster(V1, ["10.0.1.1"]), cluster(V2, ["10.0.2.1"], HealthStatus.UNHEALTHY)],
      }),
    );
    expect(decided(router.route({ path: "/a", headers: {} }))).to.deep.include({ cluster: "agg", leafCluster: V1 });
  });

  describe("errors name what is missing", () => {
    it("LISTENER_ABSENT when the snapshot has no listener", () => {
      const router = routerOf(snapshot({ listener: undefined, routeConfiguration: undefined }));
      expect(failed(router.route({ path: "/a", headers: {} }), "LISTENER_ABSENT")).to.equal(`listener "${TARGET}" for target "${TARGET}" does not exist`);
      expect(failed(router.routeThrift({ service: "S", method: "m", headers: {} }), "LISTENER_ABSENT")).to.include(`listener "${TARGET}"`);
    });

    it("ROUTE_CONFIGURATION_ABSENT when the route configuration does not exist", () => {
      const router = routerOf(snapshot({ routeConfiguration: undefined }));
      expect(failed(router.route({ path: "/a", headers: {} }), "ROUTE_CONFIGURATION_ABSENT")).to.equal(`route configuration "${RDS_NAME}" (of listener "${TARGET}") does not exist`);
    });

    it("NO_ROUTE naming the virtual host and the path when no route matches", () => {
      const router = routerOf(snapshot({ routeConfiguration: routes({ match: { pathSpecifier: { case: "path", value: SAY_HELLO } }, action: to(V2) }) }));
      expect(failed(router.route({ path: "/other.Service/Call", headers: {} }), "NO_ROUTE")).to.equal(
        `no route of virtual host "${HOST}:8888" (target "${TARGET}") matches path "/other.Service/Call"`,
      );
    });

    it("NO_ROUTE naming the route configuration and target when no virtual host matches", () => {
      const config = validateRouteConfiguration(create(RouteConfigurationSchema, { name: RDS_NAME, virtualHosts: [{ name: "other", domains: ["other.example"], routes: [{ match: any, action: to(V1) }] }] }), RDS_NAME);
      const router = routerOf(snapshot({ routeConfiguration: config }));
      expect(failed(router.route({ path: "/a", headers: {} }), "NO_ROUTE")).to.equal(`no virtual host of route configuration "${RDS_NAME}" matches target "${TARGET}"`);
    });

    it("UNSUPPORTED_ACTION naming the route and its action, for that call only", () => {
      const router = routerOf(
        snapshot({
          routeConfiguration: routes(
            { name: "moved", match: { pathSpecifier: { case: "prefix", value: "/old" } }, action: { case: "redirect", value: { hostRedirect: "new.example" } } },
            { match: any, action: to(V1) },
          ),
        }),
      );
      expect(failed(router.route({ path: "/old/x", headers: {} }), "UNSUPPORTED_ACTION")).to.equal(
        `route "moved" (virtual host "${HOST}:8888" routes[0]) has a redirect action, which a client cannot forward`,
      );
      expect(decided(router.route({ path: "/new", headers: {} })).cluster).to.equal(V1);
    });

    it("CLUSTER_ABSENT naming the cluster when the route's cluster does not exist", () => {
      const router = routerOf(snapshot({ routeConfiguration: routes({ name: "r", match: any, action: to("missing") }) }));
      expect(failed(router.route({ path: "/a", headers: {} }), "CLUSTER_ABSENT")).to.equal(`cluster "missing" does not exist (picked by route "r" (virtual host "${HOST}:8888" routes[0]))`);
    });

    it("NO_HEALTHY_ENDPOINT naming the cluster when none of its endpoints is usable", () => {
      const router = routerOf(snapshot({ routeConfiguration: routes({ match: any, action: to(V1) }), clusters: [cluster(V1, ["10.0.1.1", "10.0.1.2"], HealthStatus.UNHEALTHY)] }));
      expect(failed(router.route({ path: "/a", headers: {} }), "NO_HEALTHY_ENDPOINT")).to.include(`cluster "${V1}" has no healthy endpoint`);
    });
  });

  describe("Thrift calls through the listener's ThriftProxy (as kitex-contrib/xds users configure it)", () => {
    type ThriftConfigInit = MessageInitShape<typeof ThriftRouteConfigurationSchema>;
    const thriftRoutes: ThriftConfigInit = {
      name: "kitex-thrift",
      routes: [
        { match: { matchSpecifier: { case: "methodName", value: "" }, headers: [{ name: "stage", headerMatchSpecifier: { case: "exactMatch", value: "canary" } }] }, route: { clusterSpecifier: { case: "cluster", value: V1 } } },
        { match: { matchSpecifier: { case: "methodName", value: "SayHello" } }, route: { clusterSpecifier: { case: "cluster", value: V2 } } },
      ],
    };
    let router: Router;
    before(() => {
      router = routerOf(snapshot({ listener: thriftListener({ routeConfig: thriftRoutes }), routeConfiguration: undefined }));
    });

    it("routes by header and by method, with no timeout, retry or hash policy", () => {
      expect(decided(router.routeThrift({ service: "GreetService", method: "SayHello", headers: { stage: "canary" } }))).to.deep.include({
        cluster: V1,
        routeIndex: 0,
        routeName: "",
        timeoutMs: undefined,
        retryPolicy: undefined,
      });
      expect(decided(router.routeThrift({ service: "GreetService", method: "SayHello", headers: {} })).cluster).to.equal(V2);
    });

    it("gives HTTP calls NO_HTTP_ROUTES on a listener that holds only ThriftProxy routes", () => {
      expect(failed(router.route({ path: "/a", headers: {} }), "NO_HTTP_ROUTES")).to.equal(
        `listener "10.96.73.130_8888" (target "${TARGET}") has no HTTP routes: it holds only ThriftProxy routes (for routeThrift)`,
      );
    });

    it("reports NO_ROUTE naming the service and method when no Thrift route matches", () => {
      expect(failed(router.routeThrift({ service: "GreetService", method: "Other", headers: {} }), "NO_ROUTE")).to.include(`matches service "GreetService" method "Other"`);
    });

    it("reports ROUTE_CONFIGURATION_ABSENT for a listener without ThriftProxy routes, or with trds ones", () => {
      const http = routerOf(snapshot({ routeConfiguration: kitexExamples(false) }));
      expect(failed(http.routeThrift({ service: "S", method: "m", headers: {} }), "ROUTE_CONFIGURATION_ABSENT")).to.include("has no ThriftProxy filter with routes");
      const trds = routerOf(snapshot({ listener: thriftListener({ trds: { configSource: ads, routeConfigName: "thrift-rds" } }), routeConfiguration: undefined }));
      expect(failed(trds.routeThrift({ service: "S", method: "m", headers: {} }), "ROUTE_CONFIGURATION_ABSENT")).to.include(`"thrift-rds"`);
    });

    it("rejects the listener of an invalid inline Thrift route configuration, naming its field path", () => {
      expect(() => thriftListener({ routeConfig: { routes: [{ match: { matchSpecifier: { case: "methodName", value: "x" } } }] } })).to.throw(
        'listener "10.96.73.130_8888": filter_chains[0].filters[0].typed_config.route_config.routes[0].route: is required',
      );
    });
  });
});

describe("Router: skipping routes by literal path prefix", () => {
  it("picks the same route as trying every route in order (property)", () => {
    const segment = fc.constantFrom("/", "a", "b", ".", "S", "A");
    const text = fc.string({ unit: segment, maxLength: 6 });
    const regexText = fc.array(fc.constantFrom("a", "b", "/", "\\.", "S", "[ab]", ".", "a?", "(a|b)", "b*", "(?i)a"), { minLength: 1, maxLength: 5 }).map((parts) => parts.join(""));
    const match = fc.oneof(
      text.map((value) => ({ pathSpecifier: { case: "prefix" as const, value } })),
      text.map((value) => ({ pathSpecifier: { case: "path" as const, value } })),
      fc.tuple(text, fc.boolean()).map(([value, cs]) => ({ pathSpecifier: { case: "prefix" as const, value }, caseSensitive: cs })),
      regexText.map((regex) => ({ pathSpecifier: { case: "safeRegex" as const, value: { regex } } })),
      text.map((value) => ({ pathSpecifier: { case: "pathSeparatedPrefix" as const, value: `/x${value.replaceAll("/", "")}` } })),
      text.map((value) => ({
        pathSpecifier: { case: "prefix" as const, value },
        headers: [{ name: "x-h", headerMatchSpecifier: { case: "exactMatch" as const, value: "1" } }],
      })),
      text.map((value) => ({ pathSpecifier: { case: "prefix" as const, value }, runtimeFraction: { defaultValue: { numerator: 50 } } })),
    );
    const request = fc.record({
      path: fc.tuple(text, fc.option(text)).map(([p, q]) => (q === null ? p : `${p}?${q}`)),
      headers: fc.constantFrom({}, { "x-h": "1" }),
    });
    fc.assert(
      fc.property(fc.array(match, { minLength: 1, maxLength: 12 }), fc.array(request, { minLength: 1, maxLength: 8 }), fc.nat(), (matches, requests, seed) => {
        let config: RouteConfigurationModel;
        try {
          config = routes(...matches.map((m, i) => ({ name: `r${i}`, match: m, action: to(V1) })));
        } catch {
          return; // a generated regex RE2 rejects
        }
        const routeModels = config.virtualHosts[0]!.routes;
        const router = routerOf(snapshot({ routeConfiguration: config }), { random: seededRandom(seed) });
        const reference = seededRandom(seed);
        for (const r of requests) {
          const expected = routeModels.findIndex((route) => route.matches(r, reference));
          const result = router.route(r);
          if (expected < 0) failed(result, "NO_ROUTE");
          else expect(decided(result).routeIndex, `${r.path} ${JSON.stringify(r.headers)}`).to.equal(expected);
        }
      }),
      { numRuns: 1500 },
    );
  });
});
