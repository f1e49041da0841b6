// The regex program size limit reaches every place a control plane can put a regex: each built-in type
// NACKs a regex over the limit there, naming the field path, and accepts it once the limit is raised.
import { create, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { RouteConfigurationSchema as ThriftRouteConfigurationSchema } from "../../gen/envoy/extensions/filters/network/thrift_proxy/v3/route_pb.js";
import { ThriftProxySchema } from "../../gen/envoy/extensions/filters/network/thrift_proxy/v3/thrift_proxy_pb.js";
import type { ResourceType } from "../../src/client/resource-type.js";
import { clusterType } from "../../src/resources/cluster.js";
import { createListenerType, listenerType } from "../../src/resources/listener.js";
import { createRouteConfigurationType, routeConfigurationType } from "../../src/resources/route-configuration.js";
import { createThriftRouteConfigurationType } from "../../src/resources/thrift-route-configuration.js";
import { validatedResourceTypes } from "../../src/resources/validated-resource-types.js";
import { thrown } from "../support/thrown.js";

/** A DNS label: 127 instructions, over the default limit of 100. */
const LABEL = "[a-z0-9-]{1,63}";
const over = "regex program size 127 exceeds the limit 100 (maxRegexProgramSize)";
const raised = { maxProgramSize: 127 };

type RouteInit = MessageInitShape<typeof RouteSchema>;
const toV1 = { case: "route" as const, value: { clusterSpecifier: { case: "cluster" as const, value: "v1" } } };
const regex = { regex: LABEL };

function pack<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Any {
  return anyPack(schema, create(schema, init));
}

function routes(...list: RouteInit[]): MessageInitShape<typeof RouteConfigurationSchema> {
  return { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: list }] };
}

const router = { name: "envoy.filters.http.router", configType: { case: "typedConfig" as const, value: pack(RouterSchema, {}) } };
const thriftRoutes = pack(ThriftProxySchema, {
  routeConfig: { name: "trc", routes: [{ match: { matchSpecifier: { case: "methodName", value: "Get" }, headers: [{ name: "x-tenant", headerMatchSpecifier: { case: "safeRegexMatch", value: regex } }] }, route: { clusterSpecifier: { case: "cluster", value: "v1" } } }] },
});

/** Where a regex sits, the resource holding it, and the field path the rejection must name. */
interface Site {
  readonly what: string;
  readonly type: (limits: { maxProgramSize: number }) => ResourceType;
  readonly bytes: Uint8Array;
  readonly field: string;
}

function rds(what: string, route: RouteInit, field: string): Site {
  return { what, type: createRouteConfigurationType, bytes: toBinary(RouteConfigurationSchema, create(RouteConfigurationSchema, routes(route))), field };
}

function encoded<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Uint8Array {
  return toBinary(schema, create(schema, init) as MessageShape<Desc>);
}

const sites: Site[] = [
  rds("a route's safe_regex path", { match: { pathSpecifier: { case: "safeRegex", value: regex } }, action: toV1 }, "virtual_hosts[0].routes[0].match.safe_regex.regex"),
  rds(
    "a header's safe_regex_match",
    { match: { pathSpecifier: { case: "prefix", value: "/" }, headers: [{ name: "x", headerMatchSpecifier: { case: "safeRegexMatch", value: regex } }] }, action: toV1 },
    "virtual_hosts[0].routes[0].match.headers[0].safe_regex_match.regex",
  ),
  rds(
    "a header's string_match.safe_regex",
    { match: { pathSpecifier: { case: "prefix", value: "/" }, headers: [{ name: "x", headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "safeRegex", value: regex } } } }] }, action: toV1 },
    "virtual_hosts[0].routes[0].match.headers[0].string_match.safe_regex.regex",
  ),
  rds(
    "a query parameter's string_match.safe_regex",
    { match: { pathSpecifier: { case: "prefix", value: "/" }, queryParameters: [{ name: "q", queryParameterMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "safeRegex", value: regex } } } }] }, action: toV1 },
    "virtual_hosts[0].routes[0].match.query_parameters[0].string_match.safe_regex.regex",
  ),
  rds(
    "a hash policy's regex_rewrite",
    {
      match: { pathSpecifier: { case: "prefix", value: "/" } },
      action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: "v1" }, hashPolicy: [{ policySpecifier: { case: "header", value: { headerName: "x", regexRewrite: { pattern: regex, substitution: "" } } } }] } },
    },
    "virtual_hosts[0].routes[0].route.hash_policy[0].header.regex_rewrite.pattern.regex",
  ),
  {
    what: "an api_listener's inline route_config",
    type: createListenerType,
    bytes: encoded(ListenerSchema, {
      name: "l",
      apiListener: {
        apiListener: pack(HttpConnectionManagerSchema, {
          routeSpecifier: { case: "routeConfig", value: routes({ match: { pathSpecifier: { case: "safeRegex", value: regex } }, action: toV1 }) },
          httpFilters: [router],
        }),
      },
    }),
    field: "api_listener.api_listener.route_config.virtual_hosts[0].routes[0].match.safe_regex.regex",
  },
  {
    what: "a filter chain's HttpConnectionManager inline route_config",
    type: createListenerType,
    bytes: encoded(ListenerSchema, {
      name: "l",
      filterChains: [
        {
          filters: [
            {
              name: "hcm",
              configType: {
                case: "typedConfig",
                value: pack(HttpConnectionManagerSchema, {
                  routeSpecifier: { case: "routeConfig", value: routes({ match: { pathSpecifier: { case: "safeRegex", value: regex } }, action: toV1 }) },
                  httpFilters: [router],
                }),
              },
            },
          ],
        },
      ],
    }),
    field: "filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match.safe_regex.regex",
  },
  {
    what: "a ThriftProxy's inline route_config",
    type: createListenerType,
    bytes: encoded(ListenerSchema, { name: "l", filterChains: [{ filters: [{ name: "thrift", configType: { case: "typedConfig", value: thriftRoutes } }] }] }),
    field: "filter_chains[0].filters[0].typed_config.route_config.routes[0].match.headers[0].safe_regex_match.regex",
  },
  {
    what: "a thrift route configuration (trds)",
    type: createThriftRouteConfigurationType,
    bytes: encoded(ThriftRouteConfigurationSchema, {
      name: "trc",
      routes: [{ match: { matchSpecifier: { case: "serviceName", value: "" }, headers: [{ name: "x", headerMatchSpecifier: { case: "safeRegexMatch", value: regex } }] }, route: { clusterSpecifier: { case: "cluster", value: "v1" } } }],
    }),
    field: "routes[0].match.headers[0].safe_regex_match.regex",
  },
];

describe("regex program size limit in every resource type", () => {
  for (const site of sites) {
    it(`rejects ${site.what} over the default limit naming its field, and accepts it under a raised limit`, () => {
      const rejected = site.type({ maxProgramSize: 100 }).decode(site.bytes);
      expect(rejected.error).to.contain(`: ${site.field}: ${over}`);
      const accepted = site.type(raised).decode(site.bytes);
      expect(accepted.error).to.equal(undefined);
      expect(accepted.value).to.not.equal(undefined);
    });
  }
});

describe("validatedResourceTypes", () => {
  it("gives the exported constants for the default limit, so they can be watched on an XdsClient as before", () => {
    expect(validatedResourceTypes({})).to.deep.include({ listener: listenerType, routeConfiguration: routeConfigurationType, cluster: clusterType });
    expect(validatedResourceTypes({ maxRegexProgramSize: 100 }).listener).to.equal(listenerType);
  });

  it("gives listener and route configuration types of their own for another limit", () => {
    const types = validatedResourceTypes({ maxRegexProgramSize: 127 });
    expect(types.listener).to.not.equal(listenerType);
    expect(types.routeConfiguration.typeUrl).to.equal(routeConfigurationType.typeUrl);
    expect(types.routeConfiguration.decode(sites[0]!.bytes).error).to.equal(undefined);
    expect(types.cluster).to.equal(clusterType);
  });

  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`throws INVALID_ARGUMENT for maxRegexProgramSize ${bad}`, () => {
      const error = thrown(() => validatedResourceTypes({ maxRegexProgramSize: bad }), "INVALID_ARGUMENT");
      expect(error.message).to.equal(`maxRegexProgramSize: must be a positive integer, got ${bad}`);
    });
  }
});
