import { visibleTo } from "./export-to.js";
import type { DestinationRule, MeshConfig, ServiceEntry, ServicePort, VirtualService } from "./mesh-config-model.js";

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
 * The catalogs built for a config, by the namespace they are for; `scoped` is false when nothing in the config has
 * `exportTo`, and then one catalog serves every namespace.
 */
const catalogsOf = new WeakMap<MeshConfig, { readonly scoped: boolean; readonly byNamespace: Map<string | undefined, MeshCatalog> }>();

function isScoped(config: MeshConfig): boolean {
  const has = (meta: { readonly exportTo?: readonly string[] }) => meta.exportTo !== undefined;
  return config.serviceEntries.some(has) || config.virtualServices.some(has) || config.destinationRules.some(has);
}

/**
 * Indexes what clients in `clientNamespace` see of a parsed mesh config, by host: the resources whose
 * `exportTo` reaches that namespace (undefined: only those exported everywhere). The parser already
 * rejected two resources claiming the same host for a namespace that sees both. Built once per config
 * and namespace (once for every namespace when nothing in the config has `exportTo`).
 */
export function buildMeshCatalog(config: MeshConfig, clientNamespace?: string): MeshCatalog {
  let catalogs = catalogsOf.get(config);
  if (catalogs === undefined) {
    catalogs = { scoped: isScoped(config), byNamespace: new Map() };
    catalogsOf.set(config, catalogs);
  }
  const key = catalogs.scoped ? clientNamespace : "";
  let catalog = catalogs.byNamespace.get(key);
  if (catalog === undefined) {
    catalog = indexConfig(config, clientNamespace);
    catalogs.byNamespace.set(key, catalog);
  }
  return catalog;
}

function indexConfig(config: MeshConfig, clientNamespace: string | undefined): MeshCatalog {
  const services = new Map<string, MeshService>();
  for (const entry of config.serviceEntries) {
    if (!visibleTo(entry, clientNamespace)) continue;
    for (const service of entryServices(entry)) services.set(service.host, service);
  }
  const virtualServices = new Map<string, VirtualService>();
  for (const vs of config.virtualServices) if (visibleTo(vs, clientNamespace)) for (const host of vs.hosts) virtualServices.set(host, vs);
  const destinationRules = new Map(config.destinationRules.filter((dr) => visibleTo(dr, clientNamespace)).map((dr) => [dr.host, dr] as const));
  const sorted = [...services.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  return {
    services: sorted,
    service: (host) => services.get(host),
    virtualService: (host) => virtualServices.get(host),
    destinationRule: (host) => destinationRules.get(host),
  };
}
