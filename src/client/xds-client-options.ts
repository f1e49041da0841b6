import { create, type JsonObject } from "@bufbuild/protobuf";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { CallCredentialsConfig, ChannelCredentialsConfig } from "../bootstrap/credentials-config.js";
import type { AdsTransport } from "../transport/ads-transport.js";
import type { BackoffOptions } from "../transport/backoff.js";
import type { Logger } from "../logger.js";
import { XdsError } from "../xds-error.js";
import type { MetricsMeterProvider } from "./metrics-meter.js";
import { coreBaseModule } from "./resource-schemas.js";
import type { ResourceType } from "./resource-type.js";

/** One xDS server to talk to; structurally the bootstrap's `xds_servers` entry. */
export interface XdsServerOptions {
  /** Its address: `host:port`, or any grpc-js target (`dns:///host:port`, `unix:///path`). */
  readonly uri: string;
  /** How the channel is secured: `{ type: "insecure" }` (the default) or TLS from certificate files (gRFC A65). */
  readonly channelCreds?: ChannelCredentialsConfig;
  /** Call credentials: a JWT token file sent as a bearer token (gRFC A97); only over TLS. */
  readonly callCreds?: readonly CallCredentialsConfig[];
  /** `ignore_resource_deletion` (gRFC A53) keeps what this server's SotW responses omit; `xds_v3` is what rxds speaks anyway; others are ignored. */
  readonly serverFeatures?: readonly string[];
}

/** Who this client is, as sent to the control plane in the Node proto. */
export interface XdsNodeOptions {
  /** The node id, e.g. `sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local` for istiod. */
  readonly id: string;
  /** The node's cluster. Default "". */
  readonly cluster?: string;
  /** Node metadata (a protobuf Struct), e.g. `{ GENERATOR: "grpc", NAMESPACE: "default" }`. */
  readonly metadata?: JsonObject;
  /** Where the node runs. */
  readonly locality?: { readonly region?: string; readonly zone?: string; readonly subZone?: string };
}

/** How an XdsClient connects and behaves. */
export interface XdsClientOptions {
  /**
   * The control plane: the first server, then the others in order as fallbacks (gRFC A71), used while the ones
   * before cannot be reached and a watched resource has not been received; the client goes back to the first
   * server once it answers again.
   */
  readonly servers: readonly XdsServerOptions[];
  /** Makes the transport to one server (the core's only view of the wire). Default: grpc-js, with the server's credentials. */
  readonly transport?: (server: XdsServerOptions) => AdsTransport;
  /** This client's identity. */
  readonly node: XdsNodeOptions;
  /** Resource types beyond (or replacing, by type URL) the built-in listener, route, cluster, endpoint and name-table types. */
  readonly resourceTypes?: readonly ResourceType[];
  /** How long a requested resource may go unanswered on a connected stream before it is reported absent. Default 15000 ms. */
  readonly doesNotExistTimeoutMs?: number;
  /** Keep listeners and clusters that a SotW response omits instead of reporting them absent. Default false. */
  readonly ignoreResourceDeletion?: boolean;
  /** Reconnection backoff. Defaults: 1 s initial, ×1.6, 30 s max, ±20% jitter. */
  readonly backoff?: BackoffOptions;
  /** The largest ADS response accepted, in bytes; a larger one fails the stream (and is logged). Default: no limit, as in Envoy. */
  readonly maxResponseBytes?: number;
  /** Where the client logs. Default: stderr, at the level of the RXDS_LOG environment variable (warn when unset). */
  readonly logger?: Logger;
  /**
   * Where metrics go (gRFC A78's xDS client metrics; per-call metrics of its Routers): an OpenTelemetry MeterProvider.
   * Default: the global one registered with @opentelemetry/api; with none, nothing is recorded.
   */
  readonly meterProvider?: MetricsMeterProvider;
}

/** Checks what the client cannot work without; throws an XdsError naming the option. */
export function checkClientOptions(options: XdsClientOptions): void {
  const servers = options?.servers;
  if (!Array.isArray(servers) || servers.length === 0) throw new XdsError("INVALID_ARGUMENT", "xDS client: options.servers must name at least one server uri");
  servers.forEach((server: XdsServerOptions, i) => {
    if (typeof server?.uri !== "string" || server.uri === "") throw new XdsError("INVALID_ARGUMENT", `xDS client: options.servers[${i}].uri: expected a non-empty string`);
  });
  if (!options.node?.id) throw new XdsError("INVALID_ARGUMENT", "xDS client: options.node.id is required");
  checkPositive(options.doesNotExistTimeoutMs, "doesNotExistTimeoutMs");
  checkPositive(options.maxResponseBytes, "maxResponseBytes");
}

/** The Node proto the client sends: the options' identity, with rxds (at `version`) as the user agent and its client features. */
export function nodeOf(node: XdsNodeOptions, version: string): Node {
  return create(coreBaseModule().NodeSchema, {
    id: node.id,
    cluster: node.cluster ?? "",
    ...(node.metadata ? { metadata: node.metadata } : {}),
    ...(node.locality ? { locality: node.locality } : {}),
    userAgentName: "rxds",
    userAgentVersionType: { case: "userAgentVersion", value: version },
    clientFeatures: ["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"],
  });
}

function checkPositive(value: number | undefined, name: string): void {
  if (value !== undefined && !(typeof value === "number" && value > 0)) {
    throw new XdsError("INVALID_ARGUMENT", `xDS client: options.${name}: expected a positive number, got ${String(value)}`);
  }
}
