// @grpc/grpc-js-xds, the Node peer, driven from outside a channel through its own (deep-imported) internals:
// its XdsClient with a bootstrap object pointing at the bench's ControlPlane, its per-type resource watchers,
// its XdsDependencyManager for a target's whole LDS → RDS → CDS → EDS chain, and its xds resolver (through
// grpc-js's resolver registry) for the config selector a channel would consult on each call.
// See /work/shared/reference/grpc-js-xds.md §3.
import { experimental, getClientChannel, Metadata, type Client, type ClientOptions, type StatusObject } from "@grpc/grpc-js";
import { register } from "@grpc/grpc-js-xds";
import { validateBootstrapConfig } from "@grpc/grpc-js-xds/build/src/xds-bootstrap.js";
import { Watcher, XdsClient as PeerXdsClient } from "@grpc/grpc-js-xds/build/src/xds-client.js";
import { XdsDependencyManager, type XdsConfig } from "@grpc/grpc-js-xds/build/src/xds-dependency-manager.js";
import type { ClusterLoadAssignment__Output } from "@grpc/grpc-js-xds/build/src/generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js";
import { ClusterResourceType, type CdsUpdate } from "@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js";
import { EndpointResourceType } from "@grpc/grpc-js-xds/build/src/xds-resource-type/endpoint-resource-type.js";
import type { CallRouter, CallSpec, TargetSnapshot, Unwatch, XdsSubject, XdsSubjectClient } from "./xds-subject.js";

// Without register() the router HTTP filter is unknown and every client Listener is NACKed; it also
// registers the `xds` resolver and the xDS LB policies with grpc-js. Once per process.
register();

/** The node every peer client announces: the same identity as the rxds subject's, GENERATOR=grpc. */
const node = {
  id: "sidecar~127.0.0.1~bench.default~default.svc.cluster.local",
  locality: {},
  metadata: { GENERATOR: "grpc", NAMESPACE: "default" },
};

/** The bootstrap (as JSON) of a client of the control plane at `address`. */
function bootstrapJson(address: string): Record<string, unknown> {
  return { xds_servers: [{ server_uri: address, channel_creds: [{ type: "insecure" }] }], node };
}

/** @grpc/grpc-js-xds 1.14.1 (with @grpc/grpc-js 1.14.7), through its XdsClient, watchers, dependency manager and resolver. */
export const grpcJsXdsSubject: XdsSubject = {
  name: "grpc-js-xds",
  moduleSpecifiers: ["@grpc/grpc-js-xds"],
  registerModule: "@grpc/grpc-js-xds",
  createClient: (address) => new GrpcJsXdsSubjectClient(address),
};

/** What of the peer's XdsClient close() reaches into: it has no close() of its own (reference §2.2). */
interface PeerClientInternals {
  readonly clients: readonly {
    readonly client: { handleAdsConnectivityStateUpdate(): void; readonly adsClient: { close(): void } };
  }[];
}

/**
 * Closes the xDS channels of a peer XdsClient; its watches must be cancelled first. Its connectivity
 * callback re-arms itself on every state change and throws on a shut-down channel, so it is silenced first.
 */
function closeChannels(client: PeerXdsClient): void {
  for (const { client: server } of (client as unknown as PeerClientInternals).clients) {
    server.handleAdsConnectivityStateUpdate = () => undefined;
    server.adsClient.close();
  }
}

/** The endpoint count of one raw ClusterLoadAssignment as the peer delivers it. */
function assignmentEndpoints(assignment: { readonly endpoints: readonly { readonly lb_endpoints: readonly unknown[] }[] }): number {
  let count = 0;
  for (const locality of assignment.endpoints) count += locality.lb_endpoints.length;
  return count;
}

/** The clusters and endpoints of a complete XdsConfig from the dependency manager. */
function snapshotOf(config: XdsConfig): TargetSnapshot {
  let endpoints = 0;
  for (const result of config.clusters.values()) {
    if (!result.ok || result.value.children.type !== "endpoint") continue;
    for (const priority of result.value.children.endpoints?.priorities ?? []) {
      for (const locality of priority.localities) endpoints += locality.endpoints.length;
    }
  }
  return { clusters: config.clusters.size, endpoints };
}

/** The channel option that gives a resolver its own bootstrap (and so its own XdsClient). */
const bootstrapOptionKey = "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config";
/** The resolver attribute that carries the XdsConfig its ConfigSelector was built from (resolver-xds XDS_CONFIG_KEY). */
const xdsConfigKey = "grpc.internal.no_subchannel.xds_config";

const ignoreError = (_status: StatusObject) => undefined;
const ignore = () => undefined;

class GrpcJsXdsSubjectClient implements XdsSubjectClient {
  private readonly client: PeerXdsClient;
  /** Every live watch, dependency manager and resolver, stopped by close(). */
  private readonly stops = new Set<Unwatch>();
  /** The XdsClients made by resolvers (one each, from the bootstrap channel option), closed by close(). */
  private readonly resolverClients: PeerXdsClient[] = [];
  /** The clients grpcClient made, and the XdsClient each one's resolver made, closed by close(). */
  private readonly grpcClients: { readonly client: Client; readonly xdsClient: PeerXdsClient }[] = [];

  constructor(private readonly address: string) {
    this.client = new PeerXdsClient(validateBootstrapConfig(bootstrapJson(address)));
  }

  private track(stop: Unwatch): Unwatch {
    let stopped = false;
    const once = () => {
      if (stopped) return;
      stopped = true;
      this.stops.delete(once);
      stop();
    };
    this.stops.add(once);
    return once;
  }

  watchTarget(listenerName: string, onSnapshot: (snapshot: TargetSnapshot) => void): Unwatch {
    // The dependency manager emits only complete trees; the data-plane authority picks the virtual host.
    const manager = new XdsDependencyManager(this.client, listenerName, listenerName, {
      onUpdate: (config) => {
        if (config.ok) onSnapshot(snapshotOf(config.value));
      },
    });
    return this.track(() => manager.destroy());
  }

  watchCluster(name: string, onEndpoints: (endpointCount: number) => void): Unwatch {
    let serviceName: string | undefined;
    const endpointsWatcher = new Watcher<ClusterLoadAssignment__Output>({
      onResourceChanged: (assignment) => onEndpoints(assignmentEndpoints(assignment)),
      onError: ignoreError,
      onResourceDoesNotExist: ignore,
    });
    const clusterWatcher = new Watcher<CdsUpdate>({
      onResourceChanged: (cluster) => {
        const next = cluster.type === "EDS" ? (cluster.edsServiceName ?? cluster.name) : undefined;
        if (next === serviceName) return;
        if (serviceName !== undefined) EndpointResourceType.cancelWatch(this.client, serviceName, endpointsWatcher);
        serviceName = next;
        if (serviceName !== undefined) EndpointResourceType.startWatch(this.client, serviceName, endpointsWatcher);
      },
      onError: ignoreError,
      onResourceDoesNotExist: ignore,
    });
    ClusterResourceType.startWatch(this.client, name, clusterWatcher);
    return this.track(() => {
      ClusterResourceType.cancelWatch(this.client, name, clusterWatcher);
      if (serviceName !== undefined) EndpointResourceType.cancelWatch(this.client, serviceName, endpointsWatcher);
    });
  }

  watchEndpoints(serviceName: string, onAssignment: (endpointCount: number, value: unknown) => void): Unwatch {
    const watcher = new Watcher<ClusterLoadAssignment__Output>({
      onResourceChanged: (assignment) => onAssignment(assignmentEndpoints(assignment), assignment),
      onError: ignoreError,
      onResourceDoesNotExist: ignore,
    });
    EndpointResourceType.startWatch(this.client, serviceName, watcher);
    return this.track(() => EndpointResourceType.cancelWatch(this.client, serviceName, watcher));
  }

  async callRouter(target: string, clusters: number): Promise<CallRouter> {
    // The xds resolver, as a channel to `xds:///<target>` creates it; with the bootstrap channel option it
    // makes its own XdsClient of the same control plane. Its listener gets the ConfigSelector a channel
    // consults on every call, once the dependency manager has the whole tree.
    let settle: ((selector: experimental.ConfigSelector) => void) | undefined;
    const ready = new Promise<experimental.ConfigSelector>((resolve) => (settle = resolve));
    const listener: experimental.ResolverListener = (_endpoints, attributes) => {
      const selector = attributes[experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY] as experimental.ConfigSelector | undefined;
      const config = attributes[xdsConfigKey] as XdsConfig | undefined;
      if (selector && config) {
        const snapshot = snapshotOf(config);
        if (snapshot.clusters === clusters && [...config.clusters.values()].every((c) => c.ok && c.value.children.type === "endpoint" && c.value.children.endpoints)) {
          settle?.(selector);
          settle = undefined;
        }
      }
      return true;
    };
    const options = { [bootstrapOptionKey]: JSON.stringify(bootstrapJson(this.address)) };
    const resolver = experimental.createResolver({ scheme: "xds", authority: "", path: target }, listener, options);
    this.resolverClients.push((resolver as unknown as { readonly xdsClient: PeerXdsClient }).xdsClient);
    this.track(() => resolver.destroy());
    resolver.updateResolution();
    const selector = await ready;
    return {
      prepare(calls: readonly CallSpec[]): (i: number) => string {
        const metadata = calls.map(metadataOf);
        const paths = calls.map((call) => call.path);
        const channelId = 1;
        return (i) => {
          const result = selector.invoke(paths[i]!, metadata[i]!, channelId);
          result.onCommitted?.();
          return result.status === 0 ? (result.pickInformation["cluster"] ?? "") : "";
        };
      },
    };
  }

  grpcClient<C extends Client>(target: string, make: (address: string, options: ClientOptions) => C): C {
    // As a grpc-js-xds user dials: `xds:///host:port`, with the bootstrap given as the channel option (not
    // the process environment), so the channel's xds resolver makes its own XdsClient of the bench's plane.
    const client = make(`xds:///${target}`, { [bootstrapOptionKey]: JSON.stringify(bootstrapJson(this.address)) });
    // That XdsClient has no close(): once the channel is closed (which destroys the resolver and so its
    // watches), close() below closes its ADS channel, as for the resolvers callRouter makes.
    const internals = getClientChannel(client) as unknown as {
      readonly internalChannel: { readonly resolvingLoadBalancer: { readonly innerResolver: { readonly xdsClient?: PeerXdsClient } } };
    };
    const resolverClient = internals.internalChannel.resolvingLoadBalancer.innerResolver.xdsClient;
    if (resolverClient === undefined) throw new Error("bench: the xds:/// channel has no XdsClient where grpc-js-xds 1.14 keeps it");
    this.grpcClients.push({ client, xdsClient: resolverClient });
    return client;
  }

  async close(): Promise<void> {
    for (const { client } of this.grpcClients) client.close();
    for (const stop of [...this.stops]) stop();
    closeChannels(this.client);
    for (const client of this.resolverClients) closeChannels(client);
    for (const { xdsClient } of this.grpcClients) closeChannels(xdsClient);
    this.grpcClients.length = 0;
  }
}

/** The metadata a channel would hand the config selector for `call`. */
export function metadataOf(call: CallSpec): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(call.headers)) metadata.set(key, value);
  return metadata;
}
