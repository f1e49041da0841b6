export { XdsClient } from "./client/xds-client.js";
export type { XdsClientOptions, XdsNodeOptions, XdsServerOptions } from "./client/xds-client.js";
export { messageType } from "./client/resource-type.js";
export type { DecodeResult, MessageTypeOptions, ResourceType } from "./client/resource-type.js";
export type { ResourceUpdate } from "./client/resource-update.js";
export type { ConnectionState, ResourceState, ResourceStatus, XdsStatus } from "./client/xds-status.js";
export type { BackoffOptions } from "./transport/backoff.js";
export { XdsError } from "./xds-error.js";
export type { XdsErrorCode } from "./xds-error.js";
