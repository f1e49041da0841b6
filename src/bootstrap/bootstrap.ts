import type { JsonObject } from "@bufbuild/protobuf";
import type { CallCredentialsConfig, CertificateFilesConfig, ChannelCredentialsConfig } from "./credentials-config.js";

/** Where a Bootstrap came from: a gRPC xDS bootstrap (file or inline JSON), or Istio's pod environment. */
export type BootstrapSource = "grpc-bootstrap" | "istio-env";

/** One xDS server; structurally an XdsClient `XdsServerOptions` with what the bootstrap adds. */
export interface BootstrapServer {
  /** The server's address as written (`host:port`, `dns:///host:port`, `unix:///path`). */
  readonly uri: string;
  /** The credentials to connect with: the first type rxds supports in `channel_creds` (insecure or tls). */
  readonly channelCreds: ChannelCredentialsConfig;
  /** The call credentials of `call_creds` that rxds supports (gRFC A97's jwt_token_file); absent when none. */
  readonly callCreds?: readonly CallCredentialsConfig[];
  /** The server's features (`xds_v3`, `ignore_resource_deletion`, …); unknown ones are kept and ignored. */
  readonly serverFeatures: readonly string[];
}

/** Where a node runs, as in Envoy's `Locality`. */
export interface BootstrapLocality {
  /** The region. */
  readonly region?: string;
  /** The zone. */
  readonly zone?: string;
  /** The sub-zone. */
  readonly subZone?: string;
}

/** The identity sent to the control plane; structurally an XdsClient `XdsNodeOptions`. */
export interface BootstrapNode {
  /** The node id, e.g. `sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local`; "" when the bootstrap gives none. */
  readonly id: string;
  /** The node's service cluster; "" when none. */
  readonly cluster: string;
  /** The node metadata (a protobuf Struct in JSON form). */
  readonly metadata: JsonObject;
  /** Where the node runs, when known. */
  readonly locality?: BootstrapLocality;
}

/** One entry of `authorities` (gRFC A47), kept for later federation work. */
export interface BootstrapAuthority {
  /** The listener name template for this authority, when given. */
  readonly clientListenerResourceNameTemplate?: string;
  /** The servers for this authority, when given (else the top-level servers apply). */
  readonly servers?: readonly BootstrapServer[];
}

/** Everything init() needs to build its XdsClient, whichever source it came from. */
export interface Bootstrap {
  /** Which source was used. */
  readonly source: BootstrapSource;
  /** A readable name for the source, e.g. `GRPC_XDS_BOOTSTRAP=/etc/istio/proxy/grpc-bootstrap.json`. */
  readonly origin: string;
  /** The control plane servers, in order; the first is used. */
  readonly servers: readonly BootstrapServer[];
  /** This client's identity. */
  readonly node: BootstrapNode;
  /** The client's own namespace, used to expand short targets (`svc:port`, `svc.ns:port`); absent when unknown. */
  readonly namespace?: string;
  /** Certificate provider instances by name (gRFC A29): the files of each `file_watcher` instance. */
  readonly certificateProviders?: Readonly<Record<string, CertificateFilesConfig>>;
  /** The listener name template for xDS servers (gRFC A36), e.g. `xds.istio.io/grpc/lds/inbound/%s`. */
  readonly serverListenerResourceNameTemplate?: string;
  /** The listener name template for client channels (gRFC A47); gRPC's default is `%s`. */
  readonly clientDefaultListenerResourceNameTemplate?: string;
  /** Per-authority configuration (gRFC A47). */
  readonly authorities?: Readonly<Record<string, BootstrapAuthority>>;
}
