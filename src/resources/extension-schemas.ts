// The message types that arrive packed in an Any inside a resource (filters, transport sockets, load-balancing
// policies, cluster types, TypedStruct wrappers), each known by its type name and loaded the first time a resource
// carries it (src/lazy-schema.ts): a plain gRPC client never meets most of them.

import type { DescMessage } from "@bufbuild/protobuf";
import { generated, lazySchema, type LazySchema } from "../lazy-schema.js";

const httpConnectionManagerPb = generated<typeof import("../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js")>("envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager");
/** envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager */
export const httpConnectionManager = lazySchema("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", () => httpConnectionManagerPb().HttpConnectionManagerSchema);
const thriftProxyPb = generated<typeof import("../../gen/envoy/extensions/filters/network/thrift_proxy/v3/thrift_proxy_pb.js")>("envoy/extensions/filters/network/thrift_proxy/v3/thrift_proxy");
/** envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy */
export const thriftProxy = lazySchema("envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy", () => thriftProxyPb().ThriftProxySchema);
const thriftRoutePb = generated<typeof import("../../gen/envoy/extensions/filters/network/thrift_proxy/v3/route_pb.js")>("envoy/extensions/filters/network/thrift_proxy/v3/route");
/** envoy.extensions.filters.network.thrift_proxy.v3.RouteConfiguration: Thrift RDS resources. */
export const thriftRouteConfiguration = lazySchema("envoy.extensions.filters.network.thrift_proxy.v3.RouteConfiguration", () => thriftRoutePb().RouteConfigurationSchema);
const routeComponentsPb = generated<typeof import("../../gen/envoy/config/route/v3/route_components_pb.js")>("envoy/config/route/v3/route_components");
/** envoy.config.route.v3.FilterConfig: the wrapper of a `typed_per_filter_config` entry. */
export const filterConfig = lazySchema("envoy.config.route.v3.FilterConfig", () => routeComponentsPb().FilterConfigSchema);
const routerFilterPb = generated<typeof import("../../gen/envoy/extensions/filters/http/router/v3/router_pb.js")>("envoy/extensions/filters/http/router/v3/router");
/** envoy.extensions.filters.http.router.v3.Router */
export const routerFilter = lazySchema("envoy.extensions.filters.http.router.v3.Router", () => routerFilterPb().RouterSchema);
const faultFilterPb = generated<typeof import("../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js")>("envoy/extensions/filters/http/fault/v3/fault");
/** envoy.extensions.filters.http.fault.v3.HTTPFault */
export const faultFilter = lazySchema("envoy.extensions.filters.http.fault.v3.HTTPFault", () => faultFilterPb().HTTPFaultSchema);
const localRateLimitFilterPb = generated<typeof import("../../gen/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js")>("envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit");
/** envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit */
export const localRateLimitFilter = lazySchema("envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit", () => localRateLimitFilterPb().LocalRateLimitSchema);
const tlsPb = generated<typeof import("../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js")>("envoy/extensions/transport_sockets/tls/v3/tls");
/** envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext */
export const upstreamTlsContext = lazySchema("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", () => tlsPb().UpstreamTlsContextSchema);
/** envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext */
export const downstreamTlsContext = lazySchema("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", () => tlsPb().DownstreamTlsContextSchema);
const aggregateClusterConfigPb = generated<typeof import("../../gen/envoy/extensions/clusters/aggregate/v3/cluster_pb.js")>("envoy/extensions/clusters/aggregate/v3/cluster");
/** envoy.extensions.clusters.aggregate.v3.ClusterConfig */
export const aggregateClusterConfig = lazySchema("envoy.extensions.clusters.aggregate.v3.ClusterConfig", () => aggregateClusterConfigPb().ClusterConfigSchema);
const roundRobinPolicyPb = generated<typeof import("../../gen/envoy/extensions/load_balancing_policies/round_robin/v3/round_robin_pb.js")>("envoy/extensions/load_balancing_policies/round_robin/v3/round_robin");
/** envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin */
export const roundRobinPolicy = lazySchema("envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin", () => roundRobinPolicyPb().RoundRobinSchema);
const leastRequestPolicyPb = generated<typeof import("../../gen/envoy/extensions/load_balancing_policies/least_request/v3/least_request_pb.js")>("envoy/extensions/load_balancing_policies/least_request/v3/least_request");
/** envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest */
export const leastRequestPolicy = lazySchema("envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest", () => leastRequestPolicyPb().LeastRequestSchema);
const ringHashPolicyPb = generated<typeof import("../../gen/envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash_pb.js")>("envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash");
/** envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash */
export const ringHashPolicy = lazySchema("envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash", () => ringHashPolicyPb().RingHashSchema);
const maglevPolicyPb = generated<typeof import("../../gen/envoy/extensions/load_balancing_policies/maglev/v3/maglev_pb.js")>("envoy/extensions/load_balancing_policies/maglev/v3/maglev");
/** envoy.extensions.load_balancing_policies.maglev.v3.Maglev */
export const maglevPolicy = lazySchema("envoy.extensions.load_balancing_policies.maglev.v3.Maglev", () => maglevPolicyPb().MaglevSchema);
const randomPolicyPb = generated<typeof import("../../gen/envoy/extensions/load_balancing_policies/random/v3/random_pb.js")>("envoy/extensions/load_balancing_policies/random/v3/random");
/** envoy.extensions.load_balancing_policies.random.v3.Random */
export const randomPolicy = lazySchema("envoy.extensions.load_balancing_policies.random.v3.Random", () => randomPolicyPb().RandomSchema);
const pickFirstPolicyPb = generated<typeof import("../../gen/envoy/extensions/load_balancing_policies/pick_first/v3/pick_first_pb.js")>("envoy/extensions/load_balancing_policies/pick_first/v3/pick_first");
/** envoy.extensions.load_balancing_policies.pick_first.v3.PickFirst */
export const pickFirstPolicy = lazySchema("envoy.extensions.load_balancing_policies.pick_first.v3.PickFirst", () => pickFirstPolicyPb().PickFirstSchema);
const wrrLocalityPolicyPb = generated<typeof import("../../gen/envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality_pb.js")>("envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality");
/** envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality */
export const wrrLocalityPolicy = lazySchema("envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality", () => wrrLocalityPolicyPb().WrrLocalitySchema);
const xdsTypedStructPb = generated<typeof import("../../gen/xds/type/v3/typed_struct_pb.js")>("xds/type/v3/typed_struct");
/** xds.type.v3.TypedStruct: an extension's config as JSON (gRFC A39). */
export const xdsTypedStruct = lazySchema("xds.type.v3.TypedStruct", () => xdsTypedStructPb().TypedStructSchema);
const udpaTypedStructPb = generated<typeof import("../../gen/udpa/type/v1/typed_struct_pb.js")>("udpa/type/v1/typed_struct");
/** udpa.type.v1.TypedStruct: the older form of xds.type.v3.TypedStruct. */
export const udpaTypedStruct = lazySchema("udpa.type.v1.TypedStruct", () => udpaTypedStructPb().TypedStructSchema);

/** Every schema above, for the test that checks the written type names. */
export const extensionSchemas: readonly LazySchema<DescMessage>[] = [
  httpConnectionManager,
  thriftProxy,
  thriftRouteConfiguration,
  filterConfig,
  routerFilter,
  faultFilter,
  localRateLimitFilter,
  upstreamTlsContext,
  downstreamTlsContext,
  aggregateClusterConfig,
  roundRobinPolicy,
  leastRequestPolicy,
  ringHashPolicy,
  maglevPolicy,
  randomPolicy,
  pickFirstPolicy,
  wrrLocalityPolicy,
  xdsTypedStruct,
  udpaTypedStruct,
];
