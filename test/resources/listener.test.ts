import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { HTTPFaultSchema } from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import {
  HttpConnectionManagerSchema,
  type HttpFilterSchema,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { ThriftProxySchema } from "../../gen/envoy/extensions/filters/network/thrift_proxy/v3/thrift_proxy_pb.js";
import { TypedStructSchema } from "../../gen/xds/type/v3/typed_struct_pb.js";
import type { DecodeResult } from "../../src/client/resource-type.js";
import { listenerType, validateListener, type ListenerModel } from "../../src/resources/listener.js";

type HcmInit = MessageInitShape<typeof HttpConnectionManagerSchema>;
type HttpFilterInit = MessageInitShape<typeof HttpFilterSchema>;

const NAME = "echo.default.svc.cluster.local:8080";
const ROUTE_NAME = "outbound|8080||echo.default.svc.cluster.local";

function pack<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Any {
  return anyPack(schema, create(schema, init));
}

/** An Any of a type this project has no schema for (istio.stats, tcp_proxy…): only its type URL matters. */
function opaque(typeName: string): Any {
  return { $typeName: "google.protobuf.Any", typeUrl: `type.googleapis.com/${typeName}`, value: new Uint8Array([8, 1]) };
}

const router: HttpFilterInit = { name: "envoy.filters.http.router", configType: { case: "typedConfig", value: pack(RouterSchema, {}) } };
const fault: HttpFilterInit = { name: "envoy.filters.http.fault", configType: { case: "typedConfig", value: pack(HTTPFaultSchema, {}) } };
const ads = { configSourceSpecifier: { case: "ads" as const, value: {} } };

function hcm(init: HcmInit = {}): HcmInit {
  return { routeSpecifier: { case: "rds", value: { configSource: ads, routeConfigName: ROUTE_NAME } }, httpFilters: [fault, router], ...init };
}

function apiListener(init: HcmInit = {}): Listener {
  return create(ListenerSchema, { name: NAME, apiListener: { apiListener: pack(HttpConnectionManagerSchema, hcm(init)) } });
}

function decode(message: Listener): DecodeResult<ListenerModel> {
  const result = listenerType.decode(toBinary(ListenerSchema, message));
  expect(result.name).to.equal(message.name);
  return result;
}

function valid(message: Listener): ListenerModel {
  const result = decode(message);
  if (result.error !== undefined) throw new Error(result.error);
  return result.value!;
}

function reason(message: Listener): string {
  const result = decode(message);
  expect(result.error, "expected a rejection").to.be.a("string");
  return result.error!;
}

/** A sidecar listener the way istiod writes one for an HTTP port, with the filters a client must skip. */
function sidecarListener(): Listener {
  return create(ListenerSchema, {
    name: "0.0.0.0_8080",
    address: { address: { case: "socketAddress", value: { address: "0.0.0.0", portSpecifier: { case: "portValue", value: 8080 } } } },
    listenerFilters: [
      { name: "envoy.filters.listener.tls_inspector", configType: { case: "typedConfig", value: opaque("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector") } },
      { name: "envoy.filters.listener.http_inspector", configType: { case: "typedConfig", value: opaque("envoy.extensions.filters.listener.http_inspector.v3.HttpInspector") } },
    ],
    filterChains: [
      {
        name: "0.0.0.0_8080",
        filterChainMatch: { destinationPort: 8080 },
        filters: [
          { name: "istio.stats", configType: { case: "typedConfig", value: opaque("stats.PluginConfig") } },
          {
            name: "envoy.filters.network.http_connection_manager",
            configType: {
              case: "typedConfig",
              value: pack(
                HttpConnectionManagerSchema,
                hcm({
                  routeSpecifier: { case: "rds", value: { configSource: ads, routeConfigName: "8080" } },
                  httpFilters: [
                    { name: "istio.metadata_exchange", configType: { case: "typedConfig", value: opaque("io.istio.http.peer_metadata.Config") } },
                    { name: "envoy.filters.http.cors", configType: { case: "typedConfig", value: opaque("envoy.extensions.filters.http.cors.v3.Cors") } },
                    router,
                  ],
                }),
              ),
            },
          },
        ],
      },
      {
        name: "PassthroughFilterChain",
        filters: [{ name: "envoy.filters.network.tcp_proxy", configType: { case: "typedConfig", value: opaque("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy") } }],
      },
    ],
  });
}

describe("listener (LDS)", () => {
  it("reads a gRPC-style api_listener's RDS name, HTTP filters and max_stream_duration", () => {
    const model = valid(apiListener({ commonHttpProtocolOptions: { maxStreamDuration: { seconds: 2n, nanos: 500_000_000 } } }));
    expect(model).to.include({ name: NAME, kind: "api", hasRoutes: true });
    expect(model.httpConnectionManagers).to.have.length(1);
    const [entry] = model.httpConnectionManagers;
    expect(entry!.routes).to.deep.equal({ kind: "rds", routeConfigName: ROUTE_NAME });
    expect(entry!.maxStreamDurationMs).to.equal(2500);
    expect(entry!.path).to.equal("api_listener.api_listener");
    expect(entry!.httpFilters.map((f) => [f.name, f.typeName, f.applied?.kind])).to.deep.equal([
      ["envoy.filters.http.fault", "envoy.extensions.filters.http.fault.v3.HTTPFault", "fault"],
      ["envoy.filters.http.router", "envoy.extensions.filters.http.router.v3.Router", "router"],
    ]);
    expect(Object.isFrozen(model)).to.equal(true);
  });

  it("keeps an inline route_config message as it is", () => {
    const model = valid(apiListener({ routeSpecifier: { case: "routeConfig", value: { name: "inline", virtualHosts: [{ name: "vh", domains: ["*"] }] } } }));
    const routes = model.httpConnectionManagers[0]!.routes;
    expect(routes.kind).to.equal("inline");
    expect(routes.kind === "inline" && routes.routeConfig.virtualHosts[0]!.domains).to.deep.equal(["*"]);
  });

  it("rejects an RDS config source that is neither ADS nor self, naming the field path", () => {
    const message = apiListener({ routeSpecifier: { case: "rds", value: { configSource: { configSourceSpecifier: { case: "path", value: "/etc/rds.yaml" } }, routeConfigName: ROUTE_NAME } } });
    expect(reason(message)).to.equal(`listener "${NAME}": api_listener.api_listener.rds.config_source: must be an ADS or self config source, got path`);
  });

  it("rejects an api_listener that is not an HttpConnectionManager", () => {
    const message = create(ListenerSchema, { name: NAME, apiListener: { apiListener: pack(RouterSchema, {}) } });
    expect(reason(message)).to.equal(
      `listener "${NAME}": api_listener.api_listener: must be envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager, got envoy.extensions.filters.http.router.v3.Router`,
    );
  });

  it("rejects a router filter that is not last", () => {
    expect(reason(apiListener({ httpFilters: [router, fault] }))).to.equal(
      `listener "${NAME}": api_listener.api_listener.http_filters[0]: the router filter is terminal and must be last (it is at 0 of 2)`,
    );
  });

  it("rejects HTTP filters that do not end with the router, and an empty filter list", () => {
    expect(reason(apiListener({ httpFilters: [fault] }))).to.contain(
      "api_listener.api_listener.http_filters[0]: the last filter must be the router (envoy.extensions.filters.http.router.v3.Router), got envoy.extensions.filters.http.fault.v3.HTTPFault",
    );
    expect(reason(apiListener({ httpFilters: [] }))).to.contain("api_listener.api_listener.http_filters: must end with the router filter");
  });

  it("rejects duplicate HTTP filter names", () => {
    expect(reason(apiListener({ httpFilters: [fault, { ...fault }, router] }))).to.contain(
      'http_filters[1].name: duplicate filter name "envoy.filters.http.fault"',
    );
  });

  it("rejects an unknown non-optional HTTP filter on an api_listener (gRFC A39) and skips an optional one", () => {
    const unknown: HttpFilterInit = { name: "x", configType: { case: "typedConfig", value: opaque("example.Unknown") } };
    expect(reason(apiListener({ httpFilters: [unknown, router] }))).to.equal(
      `listener "${NAME}": api_listener.api_listener.http_filters[0].typed_config: rxds does not apply filter type example.Unknown (it applies the router, fault and local_ratelimit filters); set is_optional to let clients skip it`,
    );
    const model = valid(apiListener({ httpFilters: [{ ...unknown, isOptional: true }, router] }));
    expect(model.httpConnectionManagers[0]!.httpFilters[0]).to.include({ typeName: "example.Unknown", applied: undefined, isOptional: true });
  });

  it("looks through a TypedStruct to the filter type it carries", () => {
    const wrapped: HttpFilterInit = { name: "fault", configType: { case: "typedConfig", value: pack(TypedStructSchema, { typeUrl: "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault" }) } };
    const model = valid(apiListener({ httpFilters: [wrapped, router] }));
    expect(model.httpConnectionManagers[0]!.httpFilters[0]!.typeName).to.equal("envoy.extensions.filters.http.fault.v3.HTTPFault");
    expect(model.httpConnectionManagers[0]!.httpFilters[0]!.applied?.kind).to.equal("fault");
  });

  it("rejects scoped routes and a negative max_stream_duration", () => {
    expect(reason(apiListener({ routeSpecifier: { case: "scopedRoutes", value: {} } }))).to.contain("api_listener.api_listener.scoped_routes: scoped routes are not supported");
    expect(reason(apiListener({ commonHttpProtocolOptions: { maxStreamDuration: { seconds: -1n } } }))).to.contain(
      "api_listener.api_listener.common_http_protocol_options.max_stream_duration: must not be negative",
    );
  });

  it("accepts an istiod sidecar listener with listener_filters, istio.stats, tcp_proxy and Envoy-only HTTP filters", () => {
    const model = valid(sidecarListener());
    expect(model).to.include({ name: "0.0.0.0_8080", kind: "socket", hasRoutes: true });
    expect(model.address).to.deep.equal({ host: "0.0.0.0", port: 8080 });
    expect(model.httpConnectionManagers).to.have.length(1);
    const [entry] = model.httpConnectionManagers;
    expect(entry).to.include({ path: "filter_chains[0].filters[1].typed_config", filterChainName: "0.0.0.0_8080", destinationPort: 8080 });
    expect(entry!.routes).to.deep.equal({ kind: "rds", routeConfigName: "8080" });
    expect(entry!.httpFilters.map((f) => f.applied?.kind)).to.deep.equal([undefined, undefined, "router"]);
  });

  it("still rejects a sidecar HTTP connection manager whose router is not last", () => {
    const message = sidecarListener();
    const filter = message.filterChains[0]!.filters[1]!;
    filter.configType = { case: "typedConfig", value: pack(HttpConnectionManagerSchema, hcm({ httpFilters: [router, fault] })) };
    expect(reason(message)).to.equal(
      `listener "0.0.0.0_8080": filter_chains[0].filters[1].typed_config.http_filters[0]: the router filter is terminal and must be last (it is at 0 of 2)`,
    );
  });

  it("collects every ThriftProxy and HCM across filter chains and the default chain", () => {
    const thrift = pack(ThriftProxySchema, { statPrefix: "outbound|8888||kitex", routeConfig: { name: "thrift", routes: [{ match: { matchSpecifier: { case: "methodName", value: "SayHello" } }, route: { clusterSpecifier: { case: "cluster", value: "v2" } } }] } });
    const message = create(ListenerSchema, {
      name: "10.96.73.130_8888",
      filterChains: [{ filters: [{ name: "envoy.filters.network.thrift_proxy", configType: { case: "typedConfig", value: thrift } }] }],
      defaultFilterChain: { name: "default", filters: [{ name: "hcm", configType: { case: "typedConfig", value: pack(HttpConnectionManagerSchema, hcm()) } }] },
    });
    const model = valid(message);
    expect(model.thriftProxies).to.have.length(1);
    const [proxy] = model.thriftProxies;
    expect(proxy!.path).to.equal("filter_chains[0].filters[0].typed_config");
    const routes = proxy!.routes.kind === "inline" ? proxy!.routes.routeConfig : undefined;
    expect(routes?.route({ service: "", method: "SayHello", headers: {} })?.index).to.equal(0);
    expect(routes?.route({ service: "", method: "SayHello1", headers: {} })).to.equal(undefined);
    expect(model.httpConnectionManagers.map((h) => h.path)).to.deep.equal(["default_filter_chain.filters[0].typed_config"]);
  });

  it("accepts a listener with only tcp_proxy, or nothing at all, and says it has no routes", () => {
    const tcpOnly = sidecarListener();
    tcpOnly.filterChains.shift();
    expect(valid(tcpOnly)).to.include({ kind: "socket", hasRoutes: false });
    expect(validateListener(create(ListenerSchema, { name: "empty" }), "empty")).to.deep.include({ hasRoutes: false, httpConnectionManagers: [] });
  });

  it("rejects a ThriftProxy whose trds config source is not ADS or self", () => {
    const thrift = pack(ThriftProxySchema, { trds: { routeConfigName: "t", configSource: { configSourceSpecifier: { case: "path", value: "/x" } } } });
    const message = create(ListenerSchema, { name: "t", filterChains: [{ filters: [{ name: "thrift", configType: { case: "typedConfig", value: thrift } }] }] });
    expect(reason(message)).to.equal(`listener "t": filter_chains[0].filters[0].typed_config.trds.config_source: must be an ADS or self config source, got path`);
  });
});
