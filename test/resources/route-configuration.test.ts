import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import fc from "fast-check";
import type {
  Route,
  RouteAction,
  RouteActionSchema,
  RouteSchema,
  VirtualHost,
  VirtualHostSchema,
} from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import type { WeightedClusterModel } from "../../src/resources/route-action.js";
import {
  routeConfigurationType,
  validateRouteConfiguration,
  type RouteConfigurationModel,
  type RouteModel,
} from "../../src/resources/route-configuration.js";
import { XdsError } from "../../src/xds-error.js";

type RouteInit = Exclude<MessageInitShape<typeof RouteSchema>, Route>;
type VirtualHostInit = Exclude<MessageInitShape<typeof VirtualHostSchema>, VirtualHost>;
type ActionInit = Exclude<MessageInitShape<typeof RouteActionSchema>, RouteAction>;
type ActionChoice = NonNullable<RouteInit["action"]>;

const NAME = "outbound|8888||kitex-server.default.svc.cluster.local";
const V1 = "outbound|8888|v1|kitex-server.default.svc.cluster.local";
const V2 = "outbound|8888|v2|kitex-server.default.svc.cluster.local";

const seconds = (s: number) => ({ seconds: BigInt(Math.floor(s)), nanos: Math.round((s % 1) * 1e9) });
const prefix = (value = "/") => ({ pathSpecifier: { case: "prefix" as const, value } });
const to = (cluster: string, extra: ActionInit = {}): ActionChoice => ({
  case: "route",
  value: { clusterSpecifier: { case: "cluster", value: cluster }, ...extra },
});
const route = (extra: RouteInit = {}): RouteInit => ({ match: prefix(), action: to(V1), ...extra });
const host = (extra: VirtualHostInit = {}): VirtualHostInit => ({ name: "vh", domains: ["*"], routes: [route()], ...extra });

function config(...virtualHosts: VirtualHostInit[]): RouteConfiguration {
  return create(RouteConfigurationSchema, { name: NAME, virtualHosts });
}

function valid(message: RouteConfiguration): RouteConfigurationModel {
  const result = routeConfigurationType.decode(toBinary(RouteConfigurationSchema, message));
  if (result.error !== undefined) throw new Error(result.error);
  return result.value;
}

function reason(message: RouteConfiguration): string {
  const result = routeConfigurationType.decode(toBinary(RouteConfigurationSchema, message));
  expect(result.error, "expected a rejection").to.be.a("string");
  expect(result.name).to.equal(NAME);
  return result.error!;
}

/** The only route of a config with one host and the given route. */
function onlyRoute(init: RouteInit): RouteModel {
  return valid(config(host({ routes: [init] }))).virtualHosts[0]!.routes[0]!;
}

const prefixOf = `route configuration "${NAME}": `;

describe("route configuration (RDS)", () => {
  it("is an RDS resource type whose SotW omission does not delete", () => {
    expect(routeConfigurationType.typeUrl).to.equal("type.googleapis.com/envoy.config.route.v3.RouteConfiguration");
    expect(routeConfigurationType.deletedByOmission).to.equal(false);
  });

  it("keeps virtual hosts, domains and routes, and selects a virtual host by authority as Envoy does", () => {
    const model = valid(
      config(
        host({ name: "exact", domains: ["kitex-server.default.svc.cluster.local", "kitex-server.default.svc.cluster.local:8888"] }),
        host({ name: "suffix", domains: ["*.cluster.local"] }),
        host({ name: "any", domains: ["*"] }),
      ),
    );
    expect(model.name).to.equal(NAME);
    expect(model.virtualHosts.map((vh) => vh.name)).to.deep.equal(["exact", "suffix", "any"]);
    expect(model.selectVirtualHost("Kitex-Server.default.svc.cluster.local:8888")?.name).to.equal("exact");
    expect(model.selectVirtualHost("other.svc.cluster.local")?.name).to.equal("suffix");
    expect(model.selectVirtualHost("example.com")?.name).to.equal("any");
  });

  it("lists every cluster a host can send to by name: cluster and weighted entries, not cluster_header", () => {
    const model = valid(
      config(
        host({
          routes: [
            route({ action: to("a") }),
            route({
              action: {
                case: "route",
                value: {
                  clusterSpecifier: {
                    case: "weightedClusters",
                    value: { clusters: [{ name: "b", weight: 1 }, { name: "c", weight: 0 }, { clusterHeader: "x-cluster", weight: 1 }] },
                  },
                },
              },
            }),
            route({ action: { case: "route", value: { clusterSpecifier: { case: "clusterHeader", value: "x-pick" } } } }),
          ],
        }),
      ),
    );
    expect([...model.virtualHosts[0]!.clusterNames].sort()).to.deep.equal(["a", "b", "c"]);
  });

  describe("rejections name the resource and the field path", () => {
    const table: [what: string, message: RouteConfiguration, expected: string][] = [
      ["an empty domains list", config(host({ domains: [] })), "virtual_hosts[0].domains: must not be empty"],
      ["a domain with a * inside", config(host({ domains: ["a.com", "a*b.com"] })), `virtual_hosts[0].domains[1]: "a*b.com" is not a domain`],
      ["an empty domain", config(host({ domains: [""] })), `virtual_hosts[0].domains[0]: "" is not a domain`],
      ["two wildcards", config(host({ domains: ["*.a.*"] })), `virtual_hosts[0].domains[0]: "*.a.*" is not a domain`],
      [
        "a domain listed twice across hosts, case ignored",
        config(host({ domains: ["Foo.com"] }), host({ name: "vh2", domains: ["foo.com"] })),
        `virtual_hosts[1].domains[0]: duplicate domain "foo.com" (first listed at virtual_hosts[0].domains[0])`,
      ],
      ["a route without match", config(host({ routes: [{ action: to(V1) }] })), "virtual_hosts[0].routes[0].match: is required"],
      ["a route without action", config(host({ routes: [{ match: prefix() }] })), "virtual_hosts[0].routes[0]: has no action"],
      ["a match without path specifier", config(host({ routes: [route({ match: {} })] })), "virtual_hosts[0].routes[0].match: no path specifier"],
      [
        "an invalid safe_regex (NACKed, not ACKed then thrown as in grpc-js-xds)",
        config(host({ routes: [route({ match: { pathSpecifier: { case: "safeRegex", value: { regex: "(unclosed" } } } })] })),
        `virtual_hosts[0].routes[0].match.safe_regex.regex: invalid regex "(unclosed"`,
      ],
      [
        "an invalid header regex",
        config(host({ routes: [route({ match: { ...prefix(), headers: [{ name: "x", headerMatchSpecifier: { case: "safeRegexMatch", value: { regex: "a(" } } }] } })] })),
        `virtual_hosts[0].routes[0].match.headers[0].safe_regex_match.regex: invalid regex "a("`,
      ],
      ["a route action without cluster specifier", config(host({ routes: [route({ action: { case: "route", value: {} } })] })), "virtual_hosts[0].routes[0].route: no cluster specifier"],
      ["an empty cluster name", config(host({ routes: [route({ action: to("") })] })), "virtual_hosts[0].routes[0].route.cluster: must not be empty"],
      [
        "an empty cluster_header",
        config(host({ routes: [route({ action: { case: "route", value: { clusterSpecifier: { case: "clusterHeader", value: "" } } } })] })),
        "virtual_hosts[0].routes[0].route.cluster_header: must not be empty",
      ],
      [
        "weighted clusters summing to 0",
        config(host({ routes: [route({ action: { case: "route", value: { clusterSpecifier: { case: "weightedClusters", value: { clusters: [{ name: "a", weight: 0 }, { name: "b" }] } } } } })] })),
        "virtual_hosts[0].routes[0].route.weighted_clusters.clusters: the sum of the weights must be greater than 0",
      ],
      [
        "weighted clusters summing past uint32",
        config(host({ routes: [route({ action: { case: "route", value: { clusterSpecifier: { case: "weightedClusters", value: { clusters: [{ name: "a", weight: 0xffff_ffff }, { name: "b", weight: 1 }] } } } } })] })),
        "virtual_hosts[0].routes[0].route.weighted_clusters.clusters: the sum of the weights (4294967296) must not exceed 4294967295",
      ],
      [
        "no weighted cluster entry",
        config(host({ routes: [route({ action: { case: "route", value: { clusterSpecifier: { case: "weightedClusters", value: { clusters: [] } } } } })] })),
        "virtual_hosts[0].routes[0].route.weighted_clusters.clusters: must not be empty",
      ],
      [
        "a weighted entry with both name and cluster_header",
        config(host({ routes: [route({ action: { case: "route", value: { clusterSpecifier: { case: "weightedClusters", value: { clusters: [{ name: "a", clusterHeader: "x", weight: 1 }] } } } } })] })),
        "virtual_hosts[0].routes[0].route.weighted_clusters.clusters[0]: only one of name and cluster_header may be set",
      ],
      [
        "a weighted entry with neither",
        config(host({ routes: [route({ action: { case: "route", value: { clusterSpecifier: { case: "weightedClusters", value: { clusters: [{ weight: 1 }] } } } } })] })),
        "virtual_hosts[0].routes[0].route.weighted_clusters.clusters[0].name: must not be empty",
      ],
      ["a negative timeout", config(host({ routes: [route({ action: to(V1, { timeout: { seconds: -1n } }) })] })), "virtual_hosts[0].routes[0].route.timeout: must not be negative"],
      [
        "an out-of-range max_stream_duration",
        config(host({ routes: [route({ action: to(V1, { maxStreamDuration: { grpcTimeoutHeaderMax: { nanos: 1_000_000_000 } } }) })] })),
        "virtual_hosts[0].routes[0].route.max_stream_duration.grpc_timeout_header_max: nanos must be at most 999999999",
      ],
      [
        "num_retries 0 (gRFC A44)",
        config(host({ routes: [route({ action: to(V1, { retryPolicy: { retryOn: "unavailable", numRetries: 0 } }) })] })),
        "virtual_hosts[0].routes[0].route.retry_policy.num_retries: must be at least 1",
      ],
      [
        "retry_back_off without base_interval",
        config(host({ routes: [route({ action: to(V1, { retryPolicy: { retryBackOff: { maxInterval: seconds(1) } } }) })] })),
        "virtual_hosts[0].routes[0].route.retry_policy.retry_back_off.base_interval: is required when retry_back_off is set",
      ],
      [
        "a zero base_interval",
        config(host({ routes: [route({ action: to(V1, { retryPolicy: { retryBackOff: { baseInterval: {} } } }) })] })),
        "virtual_hosts[0].routes[0].route.retry_policy.retry_back_off.base_interval: must be greater than 0",
      ],
      [
        "max_interval below base_interval",
        config(host({ routes: [route({ action: to(V1, { retryPolicy: { retryBackOff: { baseInterval: seconds(1), maxInterval: seconds(0.5) } } }) })] })),
        "virtual_hosts[0].routes[0].route.retry_policy.retry_back_off.max_interval: must not be less than base_interval (500 ms < 1000 ms)",
      ],
      [
        "a bad virtual host retry policy",
        config(host({ retryPolicy: { numRetries: 0 } })),
        "virtual_hosts[0].retry_policy.num_retries: must be at least 1",
      ],
      [
        "a hash policy with an empty header name",
        config(host({ routes: [route({ action: to(V1, { hashPolicy: [{ policySpecifier: { case: "header", value: { headerName: "" } } }] }) })] })),
        "virtual_hosts[0].routes[0].route.hash_policy[0].header.header_name: must not be empty",
      ],
      [
        "a hash policy without specifier",
        config(host({ routes: [route({ action: to(V1, { hashPolicy: [{ terminal: true }] }) })] })),
        "virtual_hosts[0].routes[0].route.hash_policy[0]: no policy",
      ],
      [
        "a hash policy with a bad rewrite regex",
        config(host({ routes: [route({ action: to(V1, { hashPolicy: [{ policySpecifier: { case: "header", value: { headerName: "x", regexRewrite: { pattern: { regex: "[" }, substitution: "" } } } }] }) })] })),
        `virtual_hosts[0].routes[0].route.hash_policy[0].header.regex_rewrite.pattern.regex: invalid regex "["`,
      ],
      [
        "a hash policy rewrite naming a group its regex lacks",
        config(host({ routes: [route({ action: to(V1, { hashPolicy: [{ policySpecifier: { case: "header", value: { headerName: "x", regexRewrite: { pattern: { regex: "u-(.*)" }, substitution: "\\2" } } } }] }) })] })),
        "virtual_hosts[0].routes[0].route.hash_policy[0].header.regex_rewrite.substitution: \\2 names a group the regex does not have (it has 1)",
      ],
      [
        "a hash policy rewrite with an escape RE2 does not know",
        config(host({ routes: [route({ action: to(V1, { hashPolicy: [{ policySpecifier: { case: "header", value: { headerName: "x", regexRewrite: { pattern: { regex: "u" }, substitution: "\\n" } } } }] }) })] })),
        "virtual_hosts[0].routes[0].route.hash_policy[0].header.regex_rewrite.substitution: invalid escape \\n (only \\0..\\9 and \\\\ are allowed)",
      ],
    ];
    for (const [what, message, expected] of table) {
      it(`rejects ${what}`, () => {
        expect(reason(message)).to.satisfy((r: string) => r.startsWith(prefixOf + expected), `got: ${reason(message)}`);
      });
    }

    it("throws an INVALID_RESOURCE XdsError from validateRouteConfiguration", () => {
      expect(() => validateRouteConfiguration(config(host({ domains: [] })), NAME))
        .to.throw(XdsError, "virtual_hosts[0].domains")
        .with.property("code", "INVALID_RESOURCE");
    });

    it("names the listener and the inline route_config's path when validating an inline route configuration", () => {
      const place = { kind: "listener", name: "kitex-server:8888", path: "api_listener.api_listener.route_config" };
      expect(() => validateRouteConfiguration(config(host({ routes: [route({ action: to("") })] })), "", place)).to.throw(
        XdsError,
        `listener "kitex-server:8888": api_listener.api_listener.route_config.virtual_hosts[0].routes[0].route.cluster: must not be empty`,
      );
    });
  });

  describe("actions a client cannot forward are accepted and kept as unsupported (a per-call error, not a NACK)", () => {
    const table: [string, ActionChoice][] = [
      ["redirect", { case: "redirect", value: { hostRedirect: "example.com" } }],
      ["direct_response", { case: "directResponse", value: { status: 200 } }],
      ["non_forwarding_action", { case: "nonForwardingAction", value: {} }],
      ["filter_action", { case: "filterAction", value: {} }],
      ["cluster_specifier_plugin", { case: "route", value: { clusterSpecifier: { case: "clusterSpecifierPlugin", value: "plugin" } } }],
    ];
    for (const [kind, action] of table) {
      it(`keeps a ${kind} route as { kind: "unsupported", action: "${kind}" }`, () => {
        expect(onlyRoute(route({ action })).action).to.deep.equal({ kind: "unsupported", action: kind });
      });
    }
  });

  describe("weighted clusters", () => {
    const weighted = (clusters: { name: string; weight?: number }[], totalWeight?: number): ActionChoice => ({
      case: "route",
      value: { clusterSpecifier: { case: "weightedClusters", value: totalWeight === undefined ? { clusters } : { clusters, totalWeight } } },
    });

    it("uses the sum of the weights and ignores the deprecated total_weight, as the current Envoy docs say", () => {
      const action = onlyRoute(route({ action: weighted([{ name: "a", weight: 30 }, { name: "b", weight: 10 }], 100) })).action;
      expect(action.kind).to.equal("weighted_clusters");
      if (action.kind !== "weighted_clusters") return;
      expect(action.totalWeight).to.equal(40);
      expect(action.clusters.map((c) => [c.name, c.weight])).to.deep.equal([["a", 30], ["b", 10]]);
    });

    it("picks each entry exactly weight times over draws covering [0, total) evenly (unbiased, weight 0 never)", () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 6 }).filter((ws) => ws.some((w) => w > 0)), (weights) => {
          const action = onlyRoute(route({ action: weighted(weights.map((weight, i) => ({ name: `c${i}`, weight }))) })).action;
          if (action.kind !== "weighted_clusters") throw new Error("not weighted");
          const counts = new Map<string, number>();
          for (let k = 0; k < action.totalWeight; k++) {
            const picked: WeightedClusterModel = action.pick(() => (k + 0.5) / action.totalWeight);
            counts.set(picked.name, (counts.get(picked.name) ?? 0) + 1);
          }
          weights.forEach((w, i) => expect(counts.get(`c${i}`) ?? 0).to.equal(w));
        }),
        { seed: 2828, numRuns: 100 },
      );
    });

    it("keeps typed_per_filter_config per weighted entry, per route and per virtual host", () => {
      const any = anyPack(RouterSchema, create(RouterSchema, {}));
      const model = valid(
        config(
          host({
            typedPerFilterConfig: { "envoy.filters.http.fault": any },
            routes: [
              route({
                typedPerFilterConfig: { "envoy.filters.http.rbac": any },
                action: {
                  case: "route",
                  value: { clusterSpecifier: { case: "weightedClusters", value: { clusters: [{ name: "a", weight: 1, typedPerFilterConfig: { "envoy.filters.http.x": any } }] } } },
                },
              }),
            ],
          }),
        ),
      );
      const vh = model.virtualHosts[0]!;
      expect([...vh.typedPerFilterConfig.keys()]).to.deep.equal(["envoy.filters.http.fault"]);
      expect([...vh.routes[0]!.typedPerFilterConfig.keys()]).to.deep.equal(["envoy.filters.http.rbac"]);
      const action = vh.routes[0]!.action;
      if (action.kind !== "weighted_clusters") throw new Error("not weighted");
      expect([...action.clusters[0]!.typedPerFilterConfig.keys()]).to.deep.equal(["envoy.filters.http.x"]);
    });
  });

  describe("timeouts", () => {
    it("reads the route timeout in ms", () => {
      expect(onlyRoute(route({ action: to(V2, { timeout: seconds(0.5) }) })).timeoutMs).to.equal(500);
    });

    it("treats a timeout of 0 as no timeout", () => {
      expect(onlyRoute(route({ action: to(V2, { timeout: {} }) })).timeoutMs).to.equal(undefined);
    });

    it("has no timeout when none is set (not Envoy's 15 s proxy default)", () => {
      expect(onlyRoute(route()).timeoutMs).to.equal(undefined);
    });

    it("keeps max_stream_duration's two fields, unset as undefined and 0 as 0", () => {
      const r = onlyRoute(route({ action: to(V2, { maxStreamDuration: { maxStreamDuration: seconds(2), grpcTimeoutHeaderMax: {} } }) }));
      expect(r.maxStreamDuration).to.deep.equal({ maxStreamDurationMs: 2000, grpcTimeoutHeaderMaxMs: 0 });
      expect(onlyRoute(route()).maxStreamDuration).to.equal(undefined);
    });
  });

  describe("retry policy (gRFC A44)", () => {
    it("parses retry_on into gRPC status names, keeps other tokens, and applies A44 defaults", () => {
      const r = onlyRoute(route({ action: to(V1, { retryPolicy: { retryOn: "cancelled, Deadline-Exceeded,5xx,unavailable,,internal,resource-exhausted,bogus" } }) }));
      const policy = r.retryPolicy!;
      expect([...policy.retryOn].sort()).to.deep.equal(["CANCELLED", "DEADLINE_EXCEEDED", "INTERNAL", "RESOURCE_EXHAUSTED", "UNAVAILABLE"]);
      expect(policy.otherRetryOn).to.deep.equal(["5xx", "bogus"]);
      expect(policy.numRetries).to.equal(1);
      expect(policy.baseIntervalMs).to.equal(25);
      expect(policy.maxIntervalMs).to.equal(250);
      expect(policy.perTryTimeoutMs).to.equal(undefined);
    });

    it("reads num_retries, per_try_timeout and back-off, defaulting max_interval to 10 × base_interval", () => {
      const policy = onlyRoute(
        route({ action: to(V1, { retryPolicy: { retryOn: "unavailable", numRetries: 3, perTryTimeout: seconds(0.2), retryBackOff: { baseInterval: seconds(0.1) }, retriableStatusCodes: [503] } }) }),
      ).retryPolicy!;
      expect(policy).to.deep.include({ numRetries: 3, perTryTimeoutMs: 200, baseIntervalMs: 100, maxIntervalMs: 1000 });
      expect(policy.retriableStatusCodes).to.deep.equal([503]);
    });

    it("uses the route's policy instead of the virtual host's, and the virtual host's for routes without one", () => {
      const model = valid(
        config(
          host({
            retryPolicy: { retryOn: "cancelled", numRetries: 4 },
            routes: [route({ action: to(V1, { retryPolicy: { retryOn: "unavailable" } }) }), route()],
          }),
        ),
      );
      const [own, inherited] = model.virtualHosts[0]!.routes;
      expect([...own!.retryPolicy!.retryOn]).to.deep.equal(["UNAVAILABLE"]);
      expect(own!.retryPolicy!.numRetries).to.equal(1);
      expect([...inherited!.retryPolicy!.retryOn]).to.deep.equal(["CANCELLED"]);
      expect(inherited!.retryPolicy!.numRetries).to.equal(4);
    });
  });

  describe("hash policy (gRFC A42)", () => {
    it("reads header (lower-cased, with rewrite), filter_state, connection properties, query parameter and cookie, with terminal", () => {
      const r = onlyRoute(
        route({
          action: to(V1, {
            hashPolicy: [
              { policySpecifier: { case: "header", value: { headerName: "X-User", regexRewrite: { pattern: { regex: "u-(.*)" }, substitution: "\\1" } } }, terminal: true },
              { policySpecifier: { case: "filterState", value: { key: "io.grpc.channel_id" } } },
              { policySpecifier: { case: "connectionProperties", value: { sourceIp: true } } },
              { policySpecifier: { case: "queryParameter", value: { name: "user" } } },
              { policySpecifier: { case: "cookie", value: { name: "session", ttl: seconds(60), path: "/" } } },
            ],
          }),
        }),
      );
      const header = r.hashPolicy[0];
      const rewrite = header?.kind === "header" ? header.regexRewrite?.rewrite : undefined;
      expect(rewrite?.("u-alice")).to.equal("alice");
      expect(r.hashPolicy).to.deep.equal([
        { kind: "header", headerName: "x-user", regexRewrite: { regex: "u-(.*)", substitution: "\\1", rewrite }, terminal: true },
        { kind: "filter_state", key: "io.grpc.channel_id", terminal: false },
        { kind: "source_ip", terminal: false },
        { kind: "query_parameter", name: "user", terminal: false },
        { kind: "cookie", name: "session", path: "/", ttlMs: 60_000, terminal: false },
      ]);
    });
  });

  it("compiles matchers once: the route's matcher answers synchronously", () => {
    const r = onlyRoute(route({ match: { pathSpecifier: { case: "path", value: "/proxyless.GreetService/SayHello" } }, action: to(V2) }));
    const never = (): number => {
      throw new Error("no random");
    };
    expect(r.matches({ path: "/proxyless.GreetService/SayHello", headers: {} }, never)).to.equal(true);
    expect(r.matches({ path: "/proxyless.GreetService/SayHi", headers: {} }, never)).to.equal(false);
  });
});
