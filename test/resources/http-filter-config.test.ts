// Which HTTP filters a listener may carry (gRFC A39) and how the fault and local rate limit configs are read, in the
// connection manager and in typed_per_filter_config overrides.
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { FilterConfigSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { HTTPFaultSchema } from "../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { LocalRateLimitSchema } from "../../gen/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema, type HttpFilterSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { FractionalPercent_DenominatorType } from "../../gen/envoy/type/v3/percent_pb.js";
import { TypedStructSchema as UdpaTypedStructSchema } from "../../gen/udpa/type/v1/typed_struct_pb.js";
import { listenerType, type ListenerModel } from "../../src/resources/listener.js";
import { routeConfigurationType, type RouteConfigurationModel } from "../../src/resources/route-configuration.js";

type HttpFilterInit = MessageInitShape<typeof HttpFilterSchema>;
const NAME = "echo.default.svc.cluster.local:8080";
const ads = { configSourceSpecifier: { case: "ads" as const, value: {} } };

function pack<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Any {
  return anyPack(schema, create(schema, init));
}

const router: HttpFilterInit = { name: "envoy.filters.http.router", configType: { case: "typedConfig", value: pack(RouterSchema, {}) } };
const filter = (name: string, value: Any, more: Partial<HttpFilterInit> = {}): HttpFilterInit => ({ name, configType: { case: "typedConfig", value }, ...more });
const opaque = (typeName: string): Any => ({ $typeName: "google.protobuf.Any", typeUrl: `type.googleapis.com/${typeName}`, value: new Uint8Array() });
const ms = (n: number) => ({ seconds: BigInt(Math.floor(n / 1000)), nanos: (n % 1000) * 1e6 });

/** Decodes an api_listener (strict) or a sidecar listener (tolerant) with `filters` then the router: its model or the NACK reason. */
function decodeListener(filters: HttpFilterInit[], style: "api" | "sidecar" = "api"): ListenerModel | string {
  const hcm = pack(HttpConnectionManagerSchema, { routeSpecifier: { case: "rds", value: { configSource: ads, routeConfigName: "rc" } }, httpFilters: [...filters, router] });
  const listener =
    style === "api"
      ? create(ListenerSchema, { name: NAME, apiListener: { apiListener: hcm } })
      : create(ListenerSchema, { name: "0.0.0.0_8080", filterChains: [{ filters: [{ name: "hcm", configType: { case: "typedConfig", value: hcm } }] }] });
  const result = listenerType.decode(toBinary(ListenerSchema, listener));
  return result.error ?? result.value!;
}

function filtersOf(decoded: ListenerModel | string) {
  if (typeof decoded === "string") throw new Error(decoded);
  return decoded.httpConnectionManagers[0]!.httpFilters;
}

function decodeRoutes(typedPerFilterConfig: Record<string, Any>): RouteConfigurationModel | string {
  const message = create(RouteConfigurationSchema, {
    name: "rc",
    virtualHosts: [{ name: "vh", domains: ["*"], routes: [{ match: { pathSpecifier: { case: "prefix", value: "/" } }, action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: "c" } } }, typedPerFilterConfig }] }],
  });
  const result = routeConfigurationType.decode(toBinary(RouteConfigurationSchema, message));
  return result.error ?? result.value!;
}

describe("HTTP filters: applied or NACKed (gRFC A39)", () => {
  it("applies the router, fault and local_ratelimit filters in an api_listener, with their configs", () => {
    const filters = filtersOf(
      decodeListener([
        filter("envoy.filters.http.fault", pack(HTTPFaultSchema, { abort: { errorType: { case: "httpStatus", value: 429 }, percentage: { numerator: 25, denominator: FractionalPercent_DenominatorType.TEN_THOUSAND } } })),
        filter("envoy.filters.http.local_ratelimit", pack(LocalRateLimitSchema, { statPrefix: "rl", tokenBucket: { maxTokens: 10, fillInterval: ms(1000) } })),
      ]),
    );
    expect(filters.map((f) => f.applied?.kind)).to.deep.equal(["fault", "local_ratelimit", "router"]);
    const fault = filters[0]!.applied!;
    if (fault.kind !== "fault") throw new Error("not a fault");
    expect(fault.config.abort).to.deep.equal({ kind: "status", code: 14, httpStatus: 429, percentage: { numerator: 25, denominator: 10_000 } });
    const limit = filters[1]!.applied!;
    if (limit.kind !== "local_ratelimit") throw new Error("not a rate limit");
    expect(limit.config).to.deep.equal({
      tokenBucket: { maxTokens: 10, tokensPerFill: 1, fillIntervalMs: 1000 },
      enabled: { numerator: 0, denominator: 100 },
      enforced: { numerator: 0, denominator: 100 },
      httpStatus: 429,
      grpcStatus: 14,
    });
  });

  it("NACKs an api_listener with RBAC or stateful_session, which rxds does not apply, unless the filter is optional", () => {
    for (const type of ["envoy.extensions.filters.http.rbac.v3.RBAC", "envoy.extensions.filters.http.stateful_session.v3.StatefulSession"]) {
      expect(decodeListener([filter("f", opaque(type))])).to.equal(
        `listener "${NAME}": api_listener.api_listener.http_filters[0].typed_config: rxds does not apply filter type ${type} (it applies the router, fault and local_ratelimit filters); set is_optional to let clients skip it`,
      );
      expect(filtersOf(decodeListener([filter("f", opaque(type), { isOptional: true })]))[0]!.applied).to.equal(undefined);
    }
  });

  it("tolerates in a sidecar listener the filters istiod always adds, and still applies the known ones", () => {
    const filters = filtersOf(
      decodeListener(
        [
          filter("istio.metadata_exchange", opaque("io.istio.http.peer_metadata.Config")),
          filter("envoy.filters.http.rbac", opaque("envoy.extensions.filters.http.rbac.v3.RBAC")),
          filter("envoy.filters.http.fault", pack(HTTPFaultSchema, {})),
        ],
        "sidecar",
      ),
    );
    expect(filters.map((f) => f.applied?.kind)).to.deep.equal([undefined, undefined, "fault", "router"]);
  });

  it("NACKs a fault or rate limit config that is wrong, naming the field", () => {
    const cases: [HttpFilterInit, string][] = [
      [filter("fault", pack(HTTPFaultSchema, { abort: { errorType: { case: "grpcStatus", value: 17 } } })), "http_filters[0].typed_config.abort.grpc_status: must be a gRPC status code (0..16), got 17"],
      [filter("fault", pack(HTTPFaultSchema, { abort: { errorType: { case: "httpStatus", value: 600 } } })), "http_filters[0].typed_config.abort.http_status: must be in 200..599, got 600"],
      [filter("fault", pack(HTTPFaultSchema, { abort: {} })), "http_filters[0].typed_config.abort: must set grpc_status, http_status or header_abort"],
      [filter("fault", pack(HTTPFaultSchema, { delay: {} })), "http_filters[0].typed_config.delay: must set fixed_delay or header_delay"],
      [filter("fault", pack(HTTPFaultSchema, { headers: [{ name: "x", headerMatchSpecifier: { case: "safeRegexMatch", value: { regex: "(" } } }] })), "http_filters[0].typed_config.headers[0].safe_regex_match"],
      [filter("rl", pack(LocalRateLimitSchema, { statPrefix: "rl", tokenBucket: { maxTokens: 1, fillInterval: ms(10) } })), "http_filters[0].typed_config.token_bucket.fill_interval: must be at least 50 ms, got 10 ms"],
      [filter("rl", pack(LocalRateLimitSchema, { statPrefix: "rl", tokenBucket: { maxTokens: 0, fillInterval: ms(100) } })), "http_filters[0].typed_config.token_bucket.max_tokens: must be greater than 0"],
      [filter("rl", pack(LocalRateLimitSchema, { statPrefix: "rl", descriptors: [{ entries: [{ key: "k", value: "v" }] }] })), "http_filters[0].typed_config.descriptors: descriptor rate limits are not supported"],
      [filter("rl", pack(LocalRateLimitSchema, { statPrefix: "rl", localClusterRateLimit: {} })), "http_filters[0].typed_config.local_cluster_rate_limit: a bucket shared across a cluster's instances is not supported"],
    ];
    for (const [bad, reason] of cases) {
      for (const style of ["api", "sidecar"] as const) expect(decodeListener([bad], style)).to.be.a("string").that.contains(reason);
    }
  });

  it("reads a local rate limit config carried in a TypedStruct (as kitex's EnvoyFilter writes it) and maps its status", () => {
    const typedStruct = pack(UdpaTypedStructSchema, {
      typeUrl: "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
      value: { stat_prefix: "http_local_rate_limiter", token_bucket: { max_tokens: 4, tokens_per_fill: 2, fill_interval: "0.5s" }, status: { code: "Forbidden" } },
    });
    const [limit] = filtersOf(decodeListener([filter("envoy.filters.http.local_ratelimit", typedStruct)], "sidecar"));
    expect(limit!.typeName).to.equal("envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit");
    const applied = limit!.applied!;
    if (applied.kind !== "local_ratelimit") throw new Error("not a rate limit");
    expect(applied.config.tokenBucket).to.deep.equal({ maxTokens: 4, tokensPerFill: 2, fillIntervalMs: 500 });
    expect([applied.config.httpStatus, applied.config.grpcStatus]).to.deep.equal([403, 7]);
  });

  it("reads typed_per_filter_config: a FilterConfig wrapper, disabled entries, other types kept unread; a bad applied config NACKs", () => {
    const model = decodeRoutes({
      "envoy.filters.http.fault": pack(FilterConfigSchema, { config: pack(HTTPFaultSchema, { abort: { errorType: { case: "grpcStatus", value: 10 } } }), isOptional: true }),
      "envoy.filters.http.local_ratelimit": pack(FilterConfigSchema, { disabled: true }),
      "envoy.filters.http.cors": opaque("envoy.extensions.filters.http.cors.v3.CorsPolicy"),
    });
    if (typeof model === "string") throw new Error(model);
    const overrides = model.virtualHosts[0]!.routes[0]!.typedPerFilterConfig;
    expect(overrides.get("envoy.filters.http.fault")!.applied?.kind).to.equal("fault");
    expect(overrides.get("envoy.filters.http.local_ratelimit")).to.include({ disabled: true, applied: undefined });
    expect(overrides.get("envoy.filters.http.cors")).to.include({ typeName: "envoy.extensions.filters.http.cors.v3.CorsPolicy", applied: undefined });
    expect(decodeRoutes({ rl: pack(LocalRateLimitSchema, { statPrefix: "rl" }) })).to.equal(
      'route configuration "rc": virtual_hosts[0].routes[0].typed_per_filter_config["rl"].token_bucket: is required in a per-route config',
    );
  });
});
