import { visibleTo } from "./export-to.js";
import type { DestinationRule, MeshConfig, ResourceMeta, ServiceEntry, ServicePort, VirtualService } from "./mesh-config-model.js";

/** One service host of the mesh, from the ServiceEntry that declares it. */
export interface MeshService {
  /** The FQDN. */
  readonly host: string;
  readonly namespace: string;
  readonly ports: readonly ServicePort[];
  /** Virtual IPs (CIDR blocks left out); the listener address is the first, else 0.0.0.0 (as istiod does without a VIP). */
  readonly addresses: readonly string[];
  readonly entry: ServiceEntry;
}

/** The mesh config indexed by host, for the translations. */
export interface MeshCatalog {
  /** Every service host, sorted by host name. */
  readonly services: readonly MeshService[];
  /** The service declared for a host. */
  service(host: string): MeshService | undefined;
  /** The VirtualService whose hosts include `host`. */
  virtualService(host: string): VirtualService | undefined;
  /** The DestinationRule for `host`. */
  destinationRule(host: string): DestinationRule | undefined;
  /**
   * When the catalog was derived from `previous` (see `buildMeshCatalog`): the hosts whose service, VirtualService or
   * DestinationRule may differ from it; every other host's are the same objects.
   */
  readonly changes?: { readonly previous: MeshCatalog; readonly hosts: ReadonlySet<string> };
}

/** The services of each entry, one per host: the same objects for as long as the entry lives, so they can key caches. */
const servicesOf = new WeakMap<ServiceEntry, readonly MeshService[]>();

function entryServices(entry: ServiceEntry): readonly MeshService[] {
  let services = servicesOf.get(entry);
  if (services === undefined) {
    const addresses = entry.addresses.filter((address) => !address.includes("/"));
    services = entry.hosts.map((host) => ({ host, namespace: entry.namespace, ports: entry.ports, addresses, entry }));
    servicesOf.set(entry, services);
  }
  return services;
}

/** What a catalog is built from and of, to derive the next one from it. */
interface Index {
  readonly config: MeshConfig;
  readonly services: ReadonlyMap<string, MeshService>;
  readonly virtualServices: ReadonlyMap<string, VirtualService>;
  readonly destinationRules: ReadonlyMap<string, DestinationRule>;
  readonly sorted: readonly MeshService[];
}

const indexes = new WeakMap<MeshCatalog, Index>();

/**
 * The catalogs built for a config, by the namespace they are for; when nothing in the config has `exportTo`, the
 * first catalog built serves every namespace.
 */
const catalogsOf = new WeakMap<MeshConfig, { all: MeshCatalog | undefined; readonly byNamespace: Map<string | undefined, MeshCatalog> }>();

function catalogOf(index: Index, changes?: MeshCatalog["changes"]): MeshCatalog {
  const { services, virtualServices, destinationRules } = index;
  const catalog: MeshCatalog = {
    services: index.sorted,
    service: (host) => services.get(host),
    virtualService: (host) => virtualServices.get(host),
    destinationRule: (host) => destinationRules.get(host),
    ...(changes === undefined ? {} : { changes }),
  };
  indexes.set(catalog, index);
  return catalog;
}

const byHost = (a: MeshService, b: MeshService) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0);

/**
 * Indexes what clients in `clientNamespace` see of a parsed mesh config, by host: the resources whose
 * `exportTo` reaches that namespace (undefined: only those exported everywhere). The parser already
 * rejected two resources claiming the same host for a namespace that sees both. Built once per config
 * and namespace (once for every namespace when nothing in the config has `exportTo`). Given the catalog of an
 * earlier config (nothing of either having `exportTo`), it is derived from it by what the configs' resources differ
 * in, which it tells in `changes`.
 */
export function buildMeshCatalog(config: MeshConfig, clientNamespace?: string, previous?: MeshCatalog): MeshCatalog {
  const catalogs = catalogsOf.get(config);
  if (catalogs?.all !== undefined) return catalogs.all;
  const known = catalogs?.byNamespace.get(clientNamespace);
  if (known !== undefined) return known;
  const derived = previous === undefined ? undefined : derive(config, previous);
  const built = derived === undefined ? indexConfig(config, clientNamespace) : { catalog: derived, scoped: false };
  if (catalogs === undefined) catalogsOf.set(config, { all: built.scoped ? undefined : built.catalog, byNamespace: new Map([[clientNamespace, built.catalog]]) });
  else catalogs.byNamespace.set(clientNamespace, built.catalog);
  return built.catalog;
}

/** The catalog for `clientNamespace`, and whether anything in the config has `exportTo` (else it serves every namespace). */
function indexConfig(config: MeshConfig, clientNamespace: string | undefined): { catalog: MeshCatalog; scoped: boolean } {
  let scoped = false;
  const visible = (meta: ResourceMeta) => {
    if (meta.exportTo === undefined) return true;
    scoped = true;
    return visibleTo(meta, clientNamespace);
  };
  const services = new Map<string, MeshService>();
  for (const entry of config.serviceEntries) {
    if (!visible(entry)) continue;
    for (const service of entryServices(entry)) services.set(service.host, service);
  }
  const virtualServices = new Map<string, VirtualService>();
  for (const vs of config.virtualServices) if (visible(vs)) for (const host of vs.hosts) virtualServices.set(host, vs);
  const destinationRules = new Map<string, DestinationRule>();
  for (const dr of config.destinationRules) if (visible(dr)) destinationRules.set(dr.host, dr);
  const sorted = [...services.values()].sort(byHost);
  return { catalog: catalogOf({ config, services, virtualServices, destinationRules, sorted }), scoped };
}

/**
 * The items of `after` not in `before`, and those of `before` not in `after`, by identity. Arrays of one length are
 * compared position by position (an item that only moved counts as removed and added back, which is harmless).
 */
function difference<T>(before: readonly T[], after: readonly T[]): { added: T[]; removed: T[] } {
  if (before.length === after.length) {
    const added: T[] = [];
    const removed: T[] = [];
    for (let i = 0; i < after.length; i++) {
      if (before[i] === after[i]) continue;
      added.push(after[i] as T);
      removed.push(before[i] as T);
    }
    return { added, removed };
  }
  const old = new Set(before);
  const current = new Set(after);
  return { added: after.filter((item) => !old.has(item)), removed: before.filter((item) => !current.has(item)) };
}

/**
 * Derives a catalog from the one of an earlier config when neither has `exportTo` (then every host has one service,
 * one VirtualService and one DestinationRule at most, in the whole config): copies its indexes and applies the
 * resources added and removed. Undefined when that does not hold, or when most of the config changed.
 */
function derive(config: MeshConfig, previous: MeshCatalog): MeshCatalog | undefined {
  const index = indexes.get(previous);
  if (index === undefined || catalogsOf.get(index.config)?.all !== previous) return undefined;
  const entries = difference(index.config.serviceEntries, config.serviceEntries);
  const vss = difference(index.config.virtualServices, config.virtualServices);
  const drs = difference(index.config.destinationRules, config.destinationRules);
  const changedCount = entries.added.length + entries.removed.length + vss.added.length + vss.removed.length + drs.added.length + drs.removed.length;
  if (changedCount * 4 > index.sorted.length) return undefined;
  const scoped = (meta: ResourceMeta) => meta.exportTo !== undefined;
  if (entries.added.some(scoped) || vss.added.some(scoped) || drs.added.some(scoped)) return undefined;
  const hosts = new Set<string>();
  const services = new Map(index.services);
  let keysChanged = false;
  for (const entry of entries.removed) {
    for (const service of entryServices(entry)) {
      hosts.add(service.host);
      if (services.get(service.host)?.entry === entry) services.delete(service.host);
    }
  }
  for (const entry of entries.added) {
    for (const service of entryServices(entry)) {
      hosts.add(service.host);
      services.set(service.host, service);
    }
  }
  const virtualServices = new Map(index.virtualServices);
  for (const vs of vss.removed) {
    for (const host of vs.hosts) {
      hosts.add(host);
      if (virtualServices.get(host) === vs) virtualServices.delete(host);
    }
  }
  for (const vs of vss.added) {
    for (const host of vs.hosts) {
      hosts.add(host);
      virtualServices.set(host, vs);
    }
  }
  const destinationRules = new Map(index.destinationRules);
  for (const dr of drs.removed) {
    hosts.add(dr.host);
    if (destinationRules.get(dr.host) === dr) destinationRules.delete(dr.host);
  }
  for (const dr of drs.added) {
    hosts.add(dr.host);
    destinationRules.set(dr.host, dr);
  }
  for (const host of hosts) if (services.has(host) !== index.services.has(host)) keysChanged = true;
  // Same hosts: the sorted list keeps its order, with the changed hosts' services replaced.
  const sorted = keysChanged ? [...services.values()].sort(byHost) : index.sorted.map((service) => (hosts.has(service.host) ? (services.get(service.host) as MeshService) : service));
  return catalogOf({ config, services, virtualServices, destinationRules, sorted }, { previous, hosts });
}
