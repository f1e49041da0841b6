// rxds: a reactive xDS engine. The client, its options, and every type its streams carry.
//
//   import { init } from "rxds";
//   const xds = init(); // or init({ server: "127.0.0.1:15010", namespace: "default" }) outside a pod
//   xds.router("kitex-server:8888").subscribe((router) => router.route({ path, headers }));

/** The process-wide XdsClient, from a gRPC bootstrap, Istio's pod environment or explicit options. */
export { init } from "./init.js";
/** What init() reads and overrides: the bootstrap source, server, node, namespace, pod name and IP, and client settings. */
export type { InitOptions } from "./init.js";
/** Where the bootstrap comes from and what explicit options replace in it. */
export type { BootstrapNodeOverrides, LoadBootstrapOptions } from "./bootstrap/bootstrap-options.js";
export type { BootstrapLocality } from "./bootstrap/bootstrap.js";
export type { BootstrapFileReader } from "./bootstrap/grpc-bootstrap.js";
/** The resource shape asked of istiod: gRPC's (GENERATOR=grpc) or an Envoy sidecar's. */
export type { XdsMode } from "./bootstrap/istio-env.js";
/** The xDS client: validated resources, per-target snapshots and routers, status and CSDS dump. */
export { XdsClient } from "./xds-client.js";
/** XdsClient's options. */
export type { XdsOptions } from "./xds-client.js";
/** The ADS core XdsClient builds on (watch, status$, dump, close), and its options. */
export type { AdsClient } from "./client/ads-client.js";
/** The core's options: servers, node, transport, timers, backoff, limits, logger. */
export type { XdsClientOptions, XdsNodeOptions, XdsServerOptions } from "./client/xds-client-options.js";
/** Builds a ResourceType from a generated protobuf schema, with a validation hook. */
export { messageType } from "./client/resource-type.js";
/** A resource type descriptor, what decoding gives, and messageType's options. */
export type { DecodeResult, MessageTypeOptions, ResourceType } from "./client/resource-type.js";
/** What a watch emits: a resource's latest value, absence or error. */
export type { ResourceUpdate } from "./client/resource-update.js";
/** The client's status (connection, per-resource state) and its CSDS dump. */
export type { ConnectionState, ResourceDump, ResourceState, ResourceStatus, XdsDump, XdsStatus } from "./client/xds-status.js";
/** A server's inbound listener (`xds.inbound({ port })`) and where the server listens. */
export type { InboundAddress, InboundSnapshot } from "./routing/inbound-listener.js";
/** How listeners are named for a target, and how DNS clusters' hosts are resolved. */
export type { ListenerNaming } from "./routing/resolve-service.js";
export type { HostResolver } from "./routing/dns-endpoints.js";
/** A target's snapshot, one of its clusters, and their JSON views. */
export type { ClusterSnapshot, ServiceSnapshot } from "./routing/service-snapshot.js";
export type { ClusterJson, EndpointJson, ResourceStateJson, RouteJson, ServiceSnapshotJson } from "./routing/service-snapshot-json.js";
/** The Router of a snapshot, the decision it makes, and its JSON view. */
export type { RouteDecision, Router, RouterJson } from "./routing/router.js";
/** What route() and routeThrift() are given. */
export type { RequestHeaders, RouteRequest } from "./resources/match/route-match.js";
export type { ThriftCall } from "./resources/thrift-route-configuration.js";
/** The validated resource models: listeners, route configurations, clusters, endpoints, Istio's name table. */
export type { ListenerModel } from "./resources/listener.js";
export type { RouteConfigurationModel, RouteModel, VirtualHostModel } from "./resources/route-configuration.js";
export type { ClusterDiscovery, ClusterModel } from "./resources/cluster.js";
export type { EndpointHealth, EndpointModel, EndpointsModel, LocalityModel } from "./resources/endpoints.js";
export type { NameEntryModel, NameTableModel } from "./resources/name-table.js";
/** The parts of the models: listener filters, route matching and actions, route and cluster policies, endpoints. */
export type { FilterPlace, HttpConnectionManagerEntry, ThriftProxyEntry, ThriftRouteSource } from "./resources/listener.js";
export type { HttpConnectionManagerModel, HttpFilterModel, HttpRouteSource } from "./resources/listener-http-connection-manager.js";
/** The HTTP filters rxds applies (router, fault injection, local rate limit), their configs and per-route overrides. */
export type { AppliedHttpFilter, FilterOverrideModel } from "./resources/http-filter-config.js";
export type { FaultAbortModel, FaultConfigModel, FaultDelayModel } from "./resources/http-fault.js";
export type { LocalRateLimitModel, TokenBucketModel } from "./resources/local-rate-limit.js";
export type { FractionModel } from "./resources/fraction.js";
/** One HTTP filter as it applies to a route's calls (RouteDecision.httpFilters). */
export type { CallHttpFilter } from "./routing/route-http-filters.js";
export type { ThriftRouteConfigurationModel, ThriftRouteModel } from "./resources/thrift-route-configuration.js";
export type { RandomSource, RouteMatcher } from "./resources/match/route-match.js";
export type { HeaderPredicate } from "./resources/match/header-matcher.js";
export type { WeightedRandomPicker } from "./resources/match/weighted-pick.js";
export type { FilterConfigOverrides, RouteActionModel, UnsupportedActionKind, WeightedClusterModel } from "./resources/route-action.js";
export type { GrpcRetryCode, HashPolicyModel, HeaderRewriteModel, MaxStreamDurationModel, RetryPolicyModel } from "./resources/route-policies.js";
export type { LbPolicyModel } from "./resources/cluster-lb-policy.js";
export type { ConsecutiveEjectionModel, FailurePercentageEjectionModel, OutlierDetectionModel, SuccessRateEjectionModel } from "./resources/cluster-outlier-detection.js";
export type { CertificateProviderRef, UpstreamTlsModel } from "./resources/cluster-tls.js";
/** The TLS an inbound filter chain's transport socket asks of a server (gRFC A29's server side). */
export type { DownstreamTls } from "./resources/listener-tls.js";
export type { DropOverloadModel, EndpointMetadata, SocketAddressModel } from "./resources/endpoints-model.js";
/** The ADS transport interface (one bidirectional stream) and its grpc-js implementation. */
export type { AdsEvent, AdsTransport } from "./transport/ads-transport.js";
export { GrpcAdsTransport } from "./transport/grpc-ads-transport.js";
export type { GrpcAdsTransportOptions } from "./transport/grpc-ads-transport.js";
/** The discovery messages an AdsTransport carries, and the Node a client sends (generated from Envoy's protos; all of them under rxds/gen/*). */
export type { DiscoveryRequest, DiscoveryResponse } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
export type { Node } from "../gen/envoy/config/core/v3/base_pb.js";
/** Reconnection backoff. */
export type { BackoffOptions } from "./transport/backoff.js";
/** Certificate files (re-read as they change) and what they hold. */
export type { CertificateFiles, CertificateMaterial } from "./transport/certificate-files.js";
/** Channel and call credentials of a server, as the bootstrap gives them. */
export type {
  CallCredentialsConfig,
  CertificateFilesConfig,
  ChannelCredentialsConfig,
  JwtTokenFileConfig,
  TlsCredentialsConfig,
} from "./bootstrap/credentials-config.js";
/** The client's logger, the default one, and the RXDS_LOG level parser. */
export { createLogger, parseLogLevel } from "./logger.js";
export type { Logger, LogLevel } from "./logger.js";
/** What balancing shows of a target: each cluster's policy, calls in flight and ejections (`xds.balancing(target)`). */
export type { BalancingStatus, ClusterBalancingStatus, Ejection, EndpointBalancingStatus } from "./balancing/balancing-status.js";
/** The one error class, with a closed set of codes. */
export { XdsError } from "./xds-error.js";
export type { XdsErrorCode } from "./xds-error.js";
/** Where metrics go: the part of OpenTelemetry's MeterProvider and Meter that rxds uses (an OpenTelemetry MeterProvider fits). */
export type {
  MetricAttributes,
  MetricCounter,
  MetricHistogram,
  MetricInstrumentOptions,
  MetricObservableGauge,
  MetricObservation,
  MetricsMeter,
  MetricsMeterProvider,
} from "./client/metrics-meter.js";
