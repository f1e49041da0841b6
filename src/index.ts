export { init } from "./init.js";
export type { InitOptions } from "./init.js";
export { XdsClient } from "./xds-client.js";
export type { XdsOptions } from "./xds-client.js";
export type { XdsClientOptions, XdsNodeOptions, XdsServerOptions } from "./client/ads-client.js";
export { messageType } from "./client/resource-type.js";
export type { DecodeResult, MessageTypeOptions, ResourceType } from "./client/resource-type.js";
export type { ResourceUpdate } from "./client/resource-update.js";
export type { ConnectionState, ResourceState, ResourceStatus, XdsStatus } from "./client/xds-status.js";
export type { BackoffOptions } from "./transport/backoff.js";
export type { AdsEvent, AdsTransport } from "./transport/ads-transport.js";
export { GrpcAdsTransport } from "./transport/grpc-ads-transport.js";
export type { GrpcAdsTransportOptions } from "./transport/grpc-ads-transport.js";
export type { CertificateFiles, CertificateMaterial } from "./transport/certificate-files.js";
export type {
  CallCredentialsConfig,
  CertificateFilesConfig,
  ChannelCredentialsConfig,
  JwtTokenFileConfig,
  TlsCredentialsConfig,
} from "./bootstrap/credentials-config.js";
export { createLogger, parseLogLevel } from "./logger.js";
export type { Logger, LogLevel } from "./logger.js";
export type { RouteDecision } from "./routing/route-decision.js";
export type { BalancingStatus, ClusterBalancingStatus, Ejection, EndpointBalancingStatus } from "./balancing/balancing-status.js";
export { XdsError } from "./xds-error.js";
export type { XdsErrorCode } from "./xds-error.js";
