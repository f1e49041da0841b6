/**
 * What a view's clients are as a workload of the mesh: the service instances of their namespace on their address
 * (their node's IP), as istiod finds a proxy's service targets by its IP. The views serve such a workload its inbound
 * listeners (what a server in the mesh reads its own policies from: a local rate limit, say), one filter chain or
 * listener per port its instances listen on, and apply the EnvoyFilters whose workloadSelector its labels match.
 */
import type { MeshCatalog, MeshService } from "./mesh-catalog.js";
import type { ViewTranslation } from "./view-translation.js";

/** One port the view's client workload serves a service on. */
export interface InboundPort {
  /** The port the instance listens on (its endpoint port). */
  readonly port: number;
  /** The service's host. */
  readonly host: string;
  /** The service port's protocol (undefined: sniffed). */
  readonly protocol: string | undefined;
}

/** What the view's clients are as a workload: the ports their instances serve, and those instances' labels. */
export interface ClientWorkload {
  readonly ports: readonly InboundPort[];
  readonly labels: readonly Readonly<Record<string, string>>[];
}

/** The services of a catalog by the addresses of their instances, built once per catalog (when a view with an address asks). */
const servicesAt = new WeakMap<MeshCatalog, Map<string, MeshService[]>>();

function servicesOn(catalog: MeshCatalog, address: string): readonly MeshService[] {
  let index = servicesAt.get(catalog);
  if (index === undefined) {
    index = new Map();
    for (const service of catalog.services) {
      for (const endpoint of service.entry.endpoints) {
        const list = index.get(endpoint.address);
        if (list === undefined) index.set(endpoint.address, [service]);
        else if (list.at(-1) !== service) list.push(service);
      }
    }
    servicesAt.set(catalog, index);
  }
  return index.get(address) ?? [];
}

const workloads = new WeakMap<ViewTranslation, ClientWorkload | undefined>();

/**
 * The workload of the view's clients: the instances on their address of services in their namespace (any namespace
 * when it is not known); undefined without an address or an instance there.
 */
export function clientWorkload(t: ViewTranslation): ClientWorkload | undefined {
  if (workloads.has(t)) return workloads.get(t);
  const address = t.options.clientAddress;
  const namespace = t.options.clientNamespace;
  const services = address === undefined ? [] : servicesOn(t.catalog, address).filter((service) => namespace === undefined || service.namespace === namespace);
  const ports = new Map<number, InboundPort>();
  const labels: Readonly<Record<string, string>>[] = [];
  for (const service of services) {
    for (const endpoint of service.entry.endpoints) {
      if (endpoint.address !== address) continue;
      labels.push(endpoint.labels);
      for (const port of service.ports) {
        const number = endpoint.ports[port.name] ?? port.targetPort ?? port.number;
        if (!ports.has(number) && port.protocol !== "UDP") ports.set(number, { port: number, host: service.host, protocol: port.protocol });
      }
    }
  }
  const workload = labels.length === 0 ? undefined : { ports: [...ports.values()].sort((a, b) => a.port - b.port), labels };
  workloads.set(t, workload);
  return workload;
}

/**
 * What the inbound listeners of a workload are built from, for the cache: each port's number, and with `services` its
 * service's host and protocol. Plain values: an edit of a service that leaves them alone keeps the listeners.
 */
export function workloadInputs(workload: ClientWorkload, services: boolean): unknown[] {
  return workload.ports.flatMap((each) => (services ? [each.port, each.host, each.protocol] : [each.port]));
}

