/**
 * The instances of each service, as istiod's registries find them: a Kubernetes Service's from its
 * EndpointSlices (else its Endpoints), labelled by the Pod each endpoint's `targetRef` names, plus the
 * WorkloadEntries its selector matches; a ServiceEntry's `workloadSelector` picks WorkloadEntries and
 * Pods of its namespace. The result is a ServiceEntry per service, which the translations serve.
 */
import { IdentityCache } from "./identity-cache.js";
import { clusterDomain } from "./istio-names.js";
import type { EndpointGroup, KubernetesPod, KubernetesService } from "./kubernetes-parser.js";
import type { ServiceEntry, ServicePort, WorkloadEndpoint, WorkloadEntry } from "./mesh-config-model.js";

/** The workloads a config declares, from which services take their instances. */
export interface Workloads {
  readonly groups: readonly EndpointGroup[];
  readonly pods: readonly KubernetesPod[];
  readonly entries: readonly WorkloadEntry[];
}

/** Whether `labels` hold every key of `selector` with its value (a Kubernetes label selector's matchLabels). */
export function selectorMatches(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): boolean {
  for (const key in selector) if (labels[key] !== selector[key]) return false;
  return true;
}

/**
 * Indexes workloads by namespace (and groups by service), once per config. What it builds for a service is kept in
 * `cache` by the objects it was built from, so that a service whose Service, slices, pods and entries are unchanged
 * keeps the same ServiceEntry object from one parse to the next (and what was translated from it, see IdentityCache).
 */
export class WorkloadIndex {
  private readonly groups = new Map<string, EndpointGroup[]>();
  private readonly pods = new Map<string, KubernetesPod>();
  private readonly podsByNamespace = new Map<string, KubernetesPod[]>();
  private readonly entriesByNamespace = new Map<string, WorkloadEntry[]>();

  constructor(
    workloads: Workloads,
    private readonly cache: IdentityCache = new IdentityCache(),
  ) {
    for (const group of workloads.groups) push(this.groups, `${group.namespace}/${group.service}`, group);
    for (const pod of workloads.pods) {
      this.pods.set(`${pod.namespace}/${pod.name}`, pod);
      push(this.podsByNamespace, pod.namespace, pod);
    }
    for (const entry of workloads.entries) push(this.entriesByNamespace, entry.namespace, entry);
  }

  /** A Service's ServiceEntry: its FQDN, cluster IPs, ports and ready endpoints (an ExternalName Service: its DNS name). */
  serviceEntry(service: KubernetesService): ServiceEntry {
    const all = this.groups.get(`${service.namespace}/${service.name}`) ?? [];
    const slices = all.filter((group) => group.kind === "EndpointSlice");
    const groups = slices.length > 0 ? slices : all;
    const pods = groups.flatMap((group) => group.addresses.map((address) => (address.pod === undefined ? undefined : this.pods.get(`${service.namespace}/${address.pod}`))));
    const selected = service.selector !== undefined && Object.keys(service.selector).length > 0 ? this.selectedEntries(service.namespace, service.selector) : [];
    return this.cache.get(service, "entry", [...groups, ...pods, ...selected], () => buildServiceEntry(service, groups, pods, selected));
  }

  /** A ServiceEntry with its `workloadSelector` resolved into endpoints (WorkloadEntries, then Pods); others as they are. */
  resolveSelector(entry: ServiceEntry): ServiceEntry {
    const selector = entry.workloadSelector;
    if (selector === undefined) return entry;
    const pods = (this.podsByNamespace.get(entry.namespace) ?? []).filter((pod) => selectorMatches(pod.labels, selector));
    const selected = this.selectedEntries(entry.namespace, selector);
    return this.cache.get(entry, "resolved", [...selected, ...pods], () => {
      const fromPods = pods.flatMap((pod) => (pod.ips[0] === undefined ? [] : [{ address: pod.ips[0], ports: {}, labels: pod.labels, ...withServiceAccount(pod) }]));
      return { ...entry, endpoints: [...selected.map(workloadEndpoint), ...fromPods] };
    });
  }

  private selectedEntries(namespace: string, selector: Readonly<Record<string, string>>): WorkloadEntry[] {
    return (this.entriesByNamespace.get(namespace) ?? []).filter((entry) => selectorMatches(entry.labels, selector));
  }
}

/** A WorkloadEntry as an instance of a service. */
function workloadEndpoint(entry: WorkloadEntry): WorkloadEndpoint {
  return {
    address: entry.address,
    ports: entry.ports,
    labels: entry.labels,
    ...(entry.weight === undefined ? {} : { weight: entry.weight }),
    ...(entry.serviceAccount === undefined ? {} : { serviceAccount: entry.serviceAccount }),
    ...(entry.locality === undefined ? {} : { locality: entry.locality }),
  };
}

/**
 * A Service's ServiceEntry: its FQDN, cluster IPs, ports and the ready endpoints of `groups` (its slices, else its
 * Endpoints), labelled by `pods` (the pod of each address, in order), then the `selected` WorkloadEntries; an
 * ExternalName Service: its DNS name.
 */
function buildServiceEntry(service: KubernetesService, groups: readonly EndpointGroup[], pods: readonly (KubernetesPod | undefined)[], selected: readonly WorkloadEntry[]): ServiceEntry {
  const ports: ServicePort[] = service.ports.map((port) => ({
    number: port.port,
    name: port.name,
    ...(port.protocol === undefined ? {} : { protocol: port.protocol }),
    ...(typeof port.targetPort === "number" ? { targetPort: port.targetPort } : {}),
  }));
  const base = {
    name: service.name,
    namespace: service.namespace,
    document: service.document,
    place: service.place,
    ...(service.exportTo === undefined ? {} : { exportTo: service.exportTo }),
    declaredBy: "Service" as const,
    hosts: [`${service.name}.${service.namespace}.${clusterDomain}`],
    addresses: service.clusterIPs,
    ports,
    subjectAltNames: [],
  };
  if (service.externalName !== undefined) {
    return { ...base, endpoints: [{ address: service.externalName, ports: {}, labels: {} }], resolution: "DNS" };
  }
  const endpoints: WorkloadEndpoint[] = [];
  let next = 0;
  for (const group of groups) {
    const byName: Record<string, number> = {};
    for (const port of service.ports) {
      const number = group.ports.get(port.name) ?? (group.ports.size === 1 && service.ports.length === 1 ? [...group.ports.values()][0] : undefined);
      if (number !== undefined) byName[port.name] = number;
    }
    for (const address of group.addresses) {
      const pod = pods[next++];
      endpoints.push({ address: address.ip, ports: byName, labels: pod?.labels ?? {}, ...withServiceAccount(pod) });
    }
  }
  endpoints.push(...selected.map(workloadEndpoint));
  return { ...base, endpoints, resolution: "STATIC" };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** A pod's service account as an endpoint field (its identity: istiod derives the cluster's SANs from it). */
function withServiceAccount(pod: KubernetesPod | undefined): { serviceAccount?: string } {
  return pod?.serviceAccount === undefined ? {} : { serviceAccount: pod.serviceAccount };
}
