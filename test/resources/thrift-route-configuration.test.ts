import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "chai";
import {
  RouteConfigurationSchema,
  type Route,
  type RouteConfiguration,
  type RouteMatch,
  type RouteSchema,
} from "../../gen/envoy/extensions/filters/network/thrift_proxy/v3/route_pb.js";
import {
  thriftRouteConfigurationType,
  validateThriftRouteConfiguration,
  type ThriftCall,
  type ThriftRouteConfigurationModel,
} from "../../src/resources/thrift-route-configuration.js";
import { XdsError } from "../../src/xds-error.js";

type RouteInit = Exclude<MessageInitShape<typeof RouteSchema>, Route>;
type MatchExtra = { invert?: boolean; headers?: NonNullable<Exclude<NonNullable<RouteInit["match"]>, RouteMatch>["headers"]> };

const NAME = "kitex-thrift-routes";
const V1 = "outbound|8888|v1|kitex-server.default.svc.cluster.local";
const V2 = "outbound|8888|v2|kitex-server.default.svc.cluster.local";

const byMethod = (methodName: string, extra: MatchExtra = {}): RouteInit["match"] => ({
  matchSpecifier: { case: "methodName", value: methodName },
  ...extra,
});
const byService = (serviceName: string, extra: MatchExtra = {}): RouteInit["match"] => ({
  matchSpecifier: { case: "serviceName", value: serviceName },
  ...extra,
});
const toCluster = (cluster: string): RouteInit["route"] => ({ clusterSpecifier: { case: "cluster", value: cluster } });

function config(...routes: RouteInit[]): RouteConfiguration {
  return create(RouteConfigurationSchema, { name: NAME, routes });
}

function valid(message: RouteConfiguration): ThriftRouteConfigurationModel {
  const result = thriftRouteConfigurationType.decode(toBinary(RouteConfigurationSchema, message));
  if (result.error !== undefined) throw new Error(result.error);
  return result.value;
}

function reason(message: RouteConfiguration): string {
  expect(() => validateThriftRouteConfiguration(message, NAME)).to.throw(XdsError);
  const result = thriftRouteConfigurationType.decode(toBinary(RouteConfigurationSchema, message));
  return result.error!;
}

const call = (method: string, headers: ThriftCall["headers"] = {}, service = "GreetService"): ThriftCall => ({ service, method, headers });
const clusterOf = (model: ThriftRouteConfigurationModel, c: ThriftCall): string | undefined => {
  const action = model.route(c)?.action;
  return action?.kind === "cluster" ? action.cluster : action?.kind;
};

describe("thrift route configuration (ThriftProxy)", () => {
  it("matches method_name exactly, first match wins, and an empty method_name matches any method", () => {
    const model = valid(config({ match: byMethod("SayHello"), route: toCluster(V2) }, { match: byMethod(""), route: toCluster(V1) }));
    expect(clusterOf(model, call("SayHello"))).to.equal(V2);
    expect(clusterOf(model, call("SayHello1"))).to.equal(V1);
    expect(clusterOf(model, call("sayhello"))).to.equal(V1);
  });

  it("matches service_name against the call's service (kitex-contrib/xds never does), a trailing ':' ignored", () => {
    const model = valid(config({ match: byService("GreetService:"), route: toCluster(V2) }, { match: byService(""), route: toCluster(V1) }));
    expect(clusterOf(model, call("SayHello", {}, "GreetService"))).to.equal(V2);
    expect(clusterOf(model, call("SayHello", {}, "OtherService"))).to.equal(V1);
  });

  it("inverts the method match with invert, but not the header match (kitex-contrib/xds ignores invert)", () => {
    const model = valid(
      config({
        match: byMethod("SayHello", { invert: true, headers: [{ name: "stage", headerMatchSpecifier: { case: "exactMatch", value: "canary" } }] }),
        route: toCluster(V1),
      }),
    );
    expect(model.route(call("SayHello", { stage: "canary" }))).to.equal(undefined);
    expect(clusterOf(model, call("Other", { stage: "canary" }))).to.equal(V1);
    expect(model.route(call("Other", { stage: "prod" }))).to.equal(undefined);
  });

  it("applies the deprecated exact_match header form that kitex-contrib/xds silently drops", () => {
    const model = valid(
      config({ match: byMethod("", { headers: [{ name: "stage", headerMatchSpecifier: { case: "exactMatch", value: "canary" } }] }), route: toCluster(V1) }),
    );
    expect(clusterOf(model, call("SayHello", { stage: "canary" }))).to.equal(V1);
    expect(model.route(call("SayHello", { stage: "prod" }))).to.equal(undefined);
    expect(model.route(call("SayHello"))).to.equal(undefined);
  });

  it("reads weighted clusters and cluster_header, and lists the clusters named", () => {
    const model = valid(
      config(
        { match: byMethod("A"), route: { clusterSpecifier: { case: "weightedClusters", value: { clusters: [{ name: V1, weight: 90 }, { name: V2, weight: 10 }] } } } },
        { match: byMethod("B"), route: { clusterSpecifier: { case: "clusterHeader", value: "X-Cluster" } } },
      ),
    );
    const weighted = model.routes[0]!.action;
    if (weighted.kind !== "weighted_clusters") throw new Error("not weighted");
    expect(weighted.totalWeight).to.equal(100);
    expect(weighted.pick(() => 0.899).name).to.equal(V1);
    expect(weighted.pick(() => 0.9).name).to.equal(V2);
    expect(model.routes[1]!.action).to.deep.equal({ kind: "cluster_header", header: "x-cluster" });
    expect([...model.clusterNames].sort()).to.deep.equal([V1, V2]);
  });

  describe("rejections name the resource and the field path", () => {
    const table: [string, RouteConfiguration, string][] = [
      ["a route without match", config({ route: toCluster(V1) }), "routes[0].match: is required"],
      ["a route without route action", config({ match: byMethod("A") }), "routes[0].route: is required"],
      ["a match without method_name or service_name", config({ match: {}, route: toCluster(V1) }), "routes[0].match: one of method_name and service_name is required"],
      ["invert with a wildcard method_name", config({ match: byMethod("", { invert: true }), route: toCluster(V1) }), "routes[0].match.invert: cannot be combined with an empty (wildcard) method_name"],
      ["an action without cluster specifier", config({ match: byMethod("A"), route: {} }), "routes[0].route: no cluster specifier"],
      ["an empty cluster", config({ match: byMethod("A"), route: toCluster("") }), "routes[0].route.cluster: must not be empty"],
      [
        "a weighted cluster of weight 0",
        config({ match: byMethod("A"), route: { clusterSpecifier: { case: "weightedClusters", value: { clusters: [{ name: V1, weight: 0 }] } } } }),
        "routes[0].route.weighted_clusters.clusters[0].weight: must be at least 1",
      ],
      [
        "no weighted cluster",
        config({ match: byMethod("A"), route: { clusterSpecifier: { case: "weightedClusters", value: { clusters: [] } } } }),
        "routes[0].route.weighted_clusters.clusters: must not be empty",
      ],
      [
        "an invalid header regex",
        config({ match: byMethod("A", { headers: [{ name: "x", headerMatchSpecifier: { case: "safeRegexMatch", value: { regex: "(" } } }] }), route: toCluster(V1) }),
        `routes[0].match.headers[0].safe_regex_match.regex: invalid regex "("`,
      ],
    ];
    for (const [what, message, expected] of table) {
      it(`rejects ${what}`, () => {
        const r = reason(message);
        expect(r.startsWith(`thrift route configuration "${NAME}": ${expected}`), r).to.equal(true);
      });
    }
  });
});
