import { loadBootstrap, sameBootstrapOptions, type LoadBootstrapOptions } from "./bootstrap/bootstrap-options.js";
import { XdsError } from "./xds-error.js";
import { XdsClient, type XdsOptions } from "./xds-client.js";

/** What init() is given: where the bootstrap comes from and what to override, plus the client's own settings. */
export interface InitOptions extends LoadBootstrapOptions {
  /** Client settings beyond the bootstrap (timers, backoff, naming, DNS); servers and node come from the bootstrap. */
  readonly client?: Omit<XdsOptions, "servers" | "node">;
}

let current: { readonly client: XdsClient; readonly options: InitOptions | undefined } | undefined;

/**
 * The process-wide XdsClient, created on the first call from a gRPC xDS bootstrap (GRPC_XDS_BOOTSTRAP or
 * GRPC_XDS_BOOTSTRAP_CONFIG) or else Istio's pod environment (POD_NAMESPACE, POD_NAME, INSTANCE_IP), with
 * `options` over both. Later calls return the same client; a call with different options throws rather
 * than ignore them. After the client is closed, the next call creates a new one.
 */
export function init(options?: InitOptions): XdsClient {
  if (current && !current.client.isClosed) {
    // Deep equality over every option, the client settings included; functions compare by identity.
    if (!sameBootstrapOptions(current.options, options)) {
      throw new XdsError("INVALID_ARGUMENT", "init: the process-wide xDS client already exists with other options; call init() with the same options, or close it first");
    }
    return current.client;
  }
  const { client: settings, ...bootstrapOptions } = options ?? {};
  const bootstrap = loadBootstrap(bootstrapOptions);
  const client = new XdsClient({
    ...settings,
    servers: bootstrap.servers,
    ...(settings?.certificateProviders === undefined && bootstrap.certificateProviders !== undefined ? { certificateProviders: bootstrap.certificateProviders } : {}),
    node: { id: bootstrap.node.id, cluster: bootstrap.node.cluster, metadata: bootstrap.node.metadata, ...(bootstrap.node.locality ? { locality: bootstrap.node.locality } : {}) },
    ...(settings?.namespace === undefined && bootstrap.namespace !== undefined ? { namespace: bootstrap.namespace } : {}),
    ...(settings?.serverListenerResourceNameTemplate === undefined && bootstrap.serverListenerResourceNameTemplate !== undefined
      ? { serverListenerResourceNameTemplate: bootstrap.serverListenerResourceNameTemplate }
      : {}),
  });
  current = { client, options };
  return client;
}
