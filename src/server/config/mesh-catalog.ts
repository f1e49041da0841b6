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

/**
 * The catalogs built for a config, by the namespace they are for; when nothing in the config has `exportTo`, the
 * first catalog built serves every namespace.
 */
const catalogsOf = new WeakMap<MeshConfig, { readonly all: MeshCatalog | undefined; readonly byNamespace: Map<string | undefined, MeshCatalog> }>();

/**
 * Indexes what clients in `clientNamespace` see of a parsed mesh config, by host: the resources whose
 * `exportTo` reaches that namespace (undefined: only those exported everywhere). The parser already
 * rejected two resources claiming the same host for a namespace that sees both. Built once per config
 * and namespace (once for every namespace when nothing in the config has `exportTo`).
 */
export function buildMeshCatalog(config: MeshConfig, clientNamespace?: string): MeshCatalog {
  const catalogs = catalogsOf.get(config);
  if (catalogs?.all !== undefined) return catalogs.all;
  const known = catalogs?.byNamespace.get(clientNamespace);
  if (known !== undefined) return known;
  const { catalog, scoped } = indexConfig(config, clientNamespace);
  if (catalogs === undefined) catalogsOf.set(config, { all: scoped ? undefined : catalog, byNamespace: new Map([[clientNamespace, catalog]]) });
  else catalogs.byNamespace.set(clientNamespace, catalog);
  return catalog;
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
  const sorted = [...services.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  const catalog: MeshCatalog = {
    services: sorted,
    service: (host) => services.get(host),
    virtualService: (host) => virtualServices.get(host),
    destinationRule: (host) => destinationRules.get(host),
  };
  return { catalog, scoped };
}
