import type { ClusterModel } from "../resources/cluster.js";
import type { EndpointsModel } from "../resources/endpoints.js";
import type { ListenerModel } from "../resources/listener.js";
import type { RouteConfigurationModel, VirtualHostModel } from "../resources/route-configuration.js";
import type { XdsError } from "../xds-error.js";
import { serviceSnapshotJson, type ServiceSnapshotJson } from "./service-snapshot-json.js";

/** One cluster a snapshot's routes reference: its model and its endpoints, or undefined where absent or in error. */
export interface ClusterSnapshot {
  /** The cluster's name. */
  readonly name: string;
  /** The validated cluster, or undefined when it does not exist or has a resource error. */
  readonly cluster: ClusterModel | undefined;
  /** Its endpoints (EDS, inline STATIC, or resolved DNS); undefined when none are known to exist. */
  readonly endpoints: EndpointsModel | undefined;
  /** Why the cluster cannot be used, when that is not simple absence: its own resource error, or its endpoints' (gRFC A88). */
  readonly error: XdsError | undefined;
  /** For an aggregate cluster: its leaf clusters in priority order (themselves in `clusters`); otherwise empty. */
  readonly children: readonly string[];
}

/** Everything needed to route calls to one target, immutable: a new snapshot is emitted whenever any part changes. */
export interface ServiceSnapshot {
  /** The target as dialled, normalised to `host:port`. */
  readonly target: string;
  /** The listener resource name the target maps to. */
  readonly listenerName: string;
  /** The validated listener, or undefined when it does not exist or has a resource error. */
  readonly listener: ListenerModel | undefined;
  /** The listener's resource error (its first version rejected, or no control plane to ask), if any (gRFC A88). */
  readonly listenerError: XdsError | undefined;
  /** The route configuration's name (RDS), or undefined for an inline one or when there is none. */
  readonly routeConfigurationName: string | undefined;
  /** The route configuration, or undefined when it does not exist or has a resource error. */
  readonly routeConfiguration: RouteConfigurationModel | undefined;
  /** The route configuration's resource error, if any (gRFC A88). */
  readonly routeConfigurationError: XdsError | undefined;
  /** The virtual host chosen for the target's authority, or undefined when none matches. */
  readonly virtualHost: VirtualHostModel | undefined;
  /** Every cluster the virtual host's routes and the listener's Thrift routes reference (and aggregate clusters' children), by name. */
  readonly clusters: ReadonlyMap<string, ClusterSnapshot>;
  /** The snapshot as plain, bounded JSON (names, states, routes, cluster policies, endpoints): what logs and console.log show. */
  toJSON(): ServiceSnapshotJson;
}

/** The parts of a snapshot, as resolve() puts them together. */
export type ServiceSnapshotParts = Omit<ServiceSnapshot, "toJSON">;

const inspect = Symbol.for("nodejs.util.inspect.custom");

/** What every snapshot inherits: toJSON, and the same view for util.inspect (console.log). */
const snapshotPrototype = Object.freeze({
  toJSON(this: ServiceSnapshot): ServiceSnapshotJson {
    return serviceSnapshotJson(this);
  },
  [inspect](this: ServiceSnapshot, depth: number, options: object, nodeInspect: (value: unknown, options: object) => string): string {
    return `ServiceSnapshot ${nodeInspect(this.toJSON(), { ...options, depth: depth + 6 })}`;
  },
});

/** A frozen ServiceSnapshot of `parts`. */
export function createServiceSnapshot(parts: ServiceSnapshotParts): ServiceSnapshot {
  return Object.freeze(Object.assign(Object.create(snapshotPrototype) as ServiceSnapshot, parts));
}
