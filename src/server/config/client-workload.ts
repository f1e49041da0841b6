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
  readonly service: MeshService;
  /** The service port's protocol (undefined: sniffed). */
  readonly protocol: string | undefined;
}

/** What the view's clients are as a workload: the ports their instances serve, and those instances' labels. */
export interface ClientWorkload {
  readonly ports: readonly InboundPort[];
  readonly labels: readonly Readonly<Record<string, string>>[];
}

/** The instances of a catalog's services by address, built once per catalog. */
const instancesOf = new WeakMap<MeshCatalog, Map<string, { readonly service: MeshService; readonly labels: Readonly<Record<string, string>>; readonly ports: readonly InboundPort[] }[]>>();

function instancesAt(catalog: MeshCatalog, address: string) {
  let index = instancesOf.get(catalog);
  if (index === undefined) {
    index = new Map();
    for (const service of catalog.services) {
      for (const endpoint of service.entry.endpoints) {
        const ports = service.ports.map((port) => ({ port: endpoint.ports[port.name] ?? port.targetPort ?? port.number, service, protocol: port.protocol }));
        const list = index.get(endpoint.address);
        const instance = { service, labels: endpoint.labels, ports };
        if (list === undefined) index.set(endpoint.address, [instance]);
        else list.push(instance);
      }
    }
    instancesOf.set(catalog, index);
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
  const instances = address === undefined ? [] : instancesAt(t.catalog, address).filter((each) => namespace === undefined || each.service.namespace === namespace);
  const ports = new Map<number, InboundPort>();
  for (const instance of instances) for (const port of instance.ports) if (!ports.has(port.port) && port.protocol !== "UDP") ports.set(port.port, port);
  const workload = instances.length === 0 ? undefined : { ports: [...ports.values()].sort((a, b) => a.port - b.port), labels: instances.map((each) => each.labels) };
  workloads.set(t, workload);
  return workload;
}

/** What the inbound listeners of a workload are built from, for the cache: each port's service and number. */
export function workloadInputs(workload: ClientWorkload): unknown[] {
  return workload.ports.flatMap((each) => [each.service, each.port]);
}

