/**
 * What the grpc and sidecar translations share: the catalog a view's clients see, the cache that keeps what was
 * built across views and reloads, and the parts both views serve (virtual hosts, clusters, endpoints), each encoded
 * once and rebuilt only when what it is built from changed.
 */
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { VirtualHostSchema } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema } from "../../../gen/envoy/config/route/v3/route_pb.js";
import { dependsOnLocality, serviceClusters, serviceEndpoints, type ClusterBuildOptions } from "./cluster-translation.js";
import type { ClientLocality } from "./locality-load-balancing.js";
import { buildMeshCatalog, type MeshCatalog, type MeshService } from "./mesh-catalog.js";
import type { MeshConfig, VirtualService } from "./mesh-config-model.js";
import { encodeMessage, packBytes, packMessage, writeBytes } from "./message-encoding.js";
import { buildVirtualHost } from "./route-translation.js";
import { IdentityCache } from "./identity-cache.js";

/** Options of the translations. */
export interface TranslationOptions {
  /**
   * The namespace the clients run in, which decides the short domains of a virtual host
   * (`name` and `name:port` only from the same namespace). Default: each service's own namespace.
   */
  readonly clientNamespace?: string;
  /** The clients' locality (their node's), which a DestinationRule's localityLbSetting is applied for. Default: none. */
  readonly clientLocality?: ClientLocality;
  /**
   * The clients' address (their node's IP): the service instances there are their workload (see client-workload.ts),
   * which gets its inbound listeners and the EnvoyFilters that select it. Default: none.
   */
  readonly clientAddress?: string;
}

/** One view being translated: the config, what its clients see of it, and the cache shared with other views and reloads. */
export interface ViewTranslation {
  readonly config: MeshConfig;
  readonly catalog: MeshCatalog;
  readonly options: TranslationOptions;
  readonly cache: IdentityCache;
}

/**
 * Starts translating `config` for clients in `options.clientNamespace`, reusing what `cache` kept; its catalog is
 * derived from `previous` (the catalog of the config the view served before) where it can be.
 */
export function viewTranslation(config: MeshConfig, options: TranslationOptions, cache: IdentityCache = new IdentityCache(), previous?: MeshCatalog): ViewTranslation {
  return { config, catalog: buildMeshCatalog(config, options.clientNamespace, previous), options, cache };
}

/** The number of a field of `schema`, by its local name. */
export function fieldNumber(schema: DescMessage, localName: string): number {
  const field = schema.fields.find((each) => each.localName === localName);
  if (field === undefined) throw new Error(`${schema.typeName} has no field ${localName}`);
  return field.number;
}

const routeConfigurationName = fieldNumber(RouteConfigurationSchema, "name");
const routeConfigurationHosts = fieldNumber(RouteConfigurationSchema, "virtualHosts");

/**
 * A RouteConfiguration named `name` holding encoded virtual hosts, with `rest` (fields numbered after
 * `virtual_hosts`), written as `toBinary` would write it.
 */
export function packRouteConfiguration(
  name: string,
  virtualHosts: readonly Uint8Array[],
  rest: MessageInitShape<typeof RouteConfigurationSchema> = {},
): Any {
  const bytes = writeBytes((writer) => {
    writer.string(routeConfigurationName, name);
    for (const host of virtualHosts) writer.bytes(routeConfigurationHosts, host);
    writer.fields(RouteConfigurationSchema, rest as Record<string, unknown>);
  });
  return packBytes(RouteConfigurationSchema, bytes);
}

/** A resource a view serves: its type URL, name and packed value. */
export interface ServedResource {
  readonly typeUrl: string;
  readonly name: string;
  readonly resource: Any;
}

/** How a view's clients stand to a service: in its namespace, in another, or in one not known (the default view). */
export function namespaceRelation(t: ViewTranslation, service: MeshService): "own" | "other" | "unknown" {
  const namespace = t.options.clientNamespace;
  return namespace === undefined ? "unknown" : namespace === service.namespace ? "own" : "other";
}

/**
 * What a service's part of a view is built from besides the service itself: its VirtualService and DestinationRule,
 * and each route destination's service and DestinationRule. A view reuses the part while these are the same objects.
 */
export function serviceInputs(t: ViewTranslation, service: MeshService): unknown[] {
  const vs = t.catalog.virtualService(service.host);
  const inputs: unknown[] = [vs, t.catalog.destinationRule(service.host)];
  if (vs !== undefined) {
    for (const host of destinationHosts(vs)) inputs.push(t.catalog.service(host)?.entry, t.catalog.destinationRule(host));
  }
  return inputs;
}

const destinationHostsOf = new WeakMap<VirtualService, readonly string[]>();

/** The hosts a VirtualService's routes send to, each once. */
export function destinationHosts(vs: VirtualService): readonly string[] {
  let hosts = destinationHostsOf.get(vs);
  if (hosts === undefined) {
    hosts = [...new Set(vs.http.flatMap((http) => http.route.map((destination) => destination.host)))];
    destinationHostsOf.set(vs, hosts);
  }
  return hosts;
}

/** The encoded virtual host of a service's port, for the view's clients (see `buildVirtualHost`). */
export function virtualHostBytes(t: ViewTranslation, service: MeshService, port: number, proxyless: boolean): Uint8Array {
  return encodeMessage(VirtualHostSchema, buildVirtualHost(t.catalog, service, port, proxyless, t.options.clientNamespace ?? service.namespace));
}

function packAll<Desc extends DescMessage>(schema: Desc, built: ReadonlyMap<string, MessageInitShape<Desc>>): ReadonlyMap<string, Any> {
  const out = new Map<string, Any>();
  for (const [name, value] of built) out.set(name, packMessage(schema, value));
  return out;
}

/** How the view's clusters are built, for clients that are `proxyless` or not. */
function clusterOptions(t: ViewTranslation, proxyless: boolean): ClusterBuildOptions {
  const clientLocality = t.options.clientLocality;
  return clientLocality === undefined ? { proxyless } : { proxyless, clientLocality };
}

/**
 * The part of a service's cache keys that tells views apart by their clients' locality: `@<region>/<zone>/<subzone>`
 * when the service's DestinationRule has a localityLbSetting (its endpoints then differ by locality), else "", so
 * that views in every locality share what is built for the service.
 */
export function localityKey(t: ViewTranslation, service: MeshService): string {
  const locality = t.options.clientLocality;
  if (locality === undefined || !dependsOnLocality(t.catalog.destinationRule(service.host))) return "";
  return `@${locality.region}/${locality.zone}/${locality.subZone}`;
}

/** A service's clusters (CDS, see `serviceClusters`), packed once per change of the service or its DestinationRule. */
export function packedClusters(t: ViewTranslation, service: MeshService, proxyless: boolean): ReadonlyMap<string, Any> {
  const rule = t.catalog.destinationRule(service.host);
  const key = `${proxyless ? "cds proxyless" : "cds sidecar"}${localityKey(t, service)}`;
  return t.cache.get(service, key, [rule], () => packAll(ClusterSchema, serviceClusters(service, rule, clusterOptions(t, proxyless))));
}

/**
 * A service's ClusterLoadAssignments (EDS, see `serviceEndpoints`), packed once per change and shared by every view
 * (of one locality, when they differ by it).
 */
export function packedEndpoints(t: ViewTranslation, service: MeshService): ReadonlyMap<string, Any> {
  const rule = t.catalog.destinationRule(service.host);
  // Endpoints are the same for proxyless clients and sidecars: `proxyless` only shapes clusters.
  return t.cache.get(service, `eds${localityKey(t, service)}`, [rule], () => packAll(ClusterLoadAssignmentSchema, serviceEndpoints(service, rule, clusterOptions(t, false))));
}
