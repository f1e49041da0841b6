/**
 * Kubernetes objects as istiod reads them for its service registry: `v1 Service`,
 * `discovery.k8s.io/v1 EndpointSlice`, `v1 Endpoints` and `v1 Pod`. Only the fields istiod uses are
 * read; the many others a cluster adds (status, managedFields, …) are ignored.
 */
import { ipAddressRejection } from "../../resources/endpoints-address.js";
import type { ConfigObject, ConfigPath, ConfigReader } from "./config-reader.js";
import type { ResourceMeta } from "./mesh-config-model.js";

/** One port of a Service. */
export interface KubernetesServicePort {
  /** The port's name ("" when the Service has one unnamed port). */
  readonly name: string;
  readonly port: number;
  /** The pods' port: a number, or the name of a container port (resolved through the endpoints). */
  readonly targetPort?: number | string;
  /** The Istio protocol (GRPC, HTTP, TCP, …) from appProtocol or the port name; undefined: sniffed. */
  readonly protocol?: string;
}

/** A Kubernetes Service. */
export interface KubernetesService extends ResourceMeta {
  readonly ports: readonly KubernetesServicePort[];
  /** Cluster IPs (none for a headless service). */
  readonly clusterIPs: readonly string[];
  /** The labels its pods carry; undefined when the Service has no selector. */
  readonly selector?: Readonly<Record<string, string>>;
  /** For `type: ExternalName`, the DNS name it stands for. */
  readonly externalName?: string;
}

/** The ready endpoints of one Service from an EndpointSlice or an Endpoints subset. */
export interface EndpointGroup {
  /** "EndpointSlice" or "Endpoints": a Service with slices ignores its Endpoints, as istiod does. */
  readonly kind: "EndpointSlice" | "Endpoints";
  readonly service: string;
  readonly namespace: string;
  readonly addresses: readonly { readonly ip: string; readonly pod?: string }[];
  /** Port name → the endpoints' port number. */
  readonly ports: ReadonlyMap<string, number>;
}

/** A Pod: its labels, IPs and service account (its workload identity, for the SANs of ISTIO_MUTUAL clusters). */
export interface KubernetesPod {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ips: readonly string[];
  readonly serviceAccount: string | undefined;
}

/** Istio's protocol names by appProtocol or port name prefix (`protocol.Parse`, `kube.ConvertProtocol`). */
const protocols: Readonly<Record<string, string>> = {
  grpc: "GRPC",
  "grpc-web": "GRPC-WEB",
  http: "HTTP",
  http2: "HTTP2",
  https: "HTTPS",
  tcp: "TCP",
  tls: "TLS",
  udp: "UDP",
  mongo: "MONGO",
  mysql: "MYSQL",
  redis: "REDIS",
  "kubernetes.io/h2c": "HTTP2",
  "kubernetes.io/ws": "HTTP",
  "kubernetes.io/wss": "HTTPS",
};

/** The Istio protocol of a Service port: UDP, else appProtocol, else the port name up to its first "-". */
export function portProtocol(name: string, protocol: string | undefined, appProtocol: string | undefined): string | undefined {
  if (protocol?.toUpperCase() === "UDP") return "UDP";
  if (appProtocol !== undefined) {
    const byApp = protocols[appProtocol.toLowerCase()];
    if (byApp !== undefined) return byApp;
  }
  const dash = name.indexOf("-");
  return protocols[(dash < 0 ? name : name.slice(0, dash)).toLowerCase()];
}

function checkIp(reader: ConfigReader, ip: string, path: ConfigPath): string {
  const rejection = ipAddressRejection(ip);
  if (rejection !== undefined) reader.fail(path, rejection);
  return ip;
}

/** Reads a Service: ports, cluster IPs, selector, ExternalName. */
export function readKubernetesService(reader: ConfigReader, meta: ResourceMeta, root: ConfigObject, exportTo: readonly string[] | undefined): KubernetesService {
  const spec = reader.mapping(root["spec"], ["spec"]);
  const type = reader.optionalString(spec["type"], ["spec", "type"]) ?? "ClusterIP";
  const ports = reader.list(spec["ports"], ["spec", "ports"]).map((value, i): KubernetesServicePort => {
    const path = ["spec", "ports", i];
    const port = reader.mapping(value, path);
    const name = reader.optionalString(port["name"], [...path, "name"]) ?? "";
    const number = reader.integer(port["port"], [...path, "port"], 1, 65535);
    const target = port["targetPort"];
    let targetPort: number | string | undefined;
    if (typeof target === "string" && !/^\d+$/.test(target)) targetPort = target;
    else if (target !== undefined) targetPort = reader.integer(typeof target === "string" ? Number(target) : target, [...path, "targetPort"], 1, 65535);
    const protocol = portProtocol(name, reader.optionalString(port["protocol"], [...path, "protocol"]), reader.optionalString(port["appProtocol"], [...path, "appProtocol"]));
    return { name, port: number, ...(targetPort === undefined ? {} : { targetPort }), ...(protocol === undefined ? {} : { protocol }) };
  });
  if (type !== "ExternalName" && ports.length === 0) reader.expected(["spec", "ports"], "at least one port", spec["ports"]);
  const listed = spec["clusterIPs"] === undefined ? [spec["clusterIP"]].filter((ip) => ip !== undefined) : reader.list(spec["clusterIPs"], ["spec", "clusterIPs"]);
  const clusterIPs = listed
    .map((ip, i) => reader.string(ip, spec["clusterIPs"] === undefined ? ["spec", "clusterIP"] : ["spec", "clusterIPs", i], true))
    .filter((ip) => ip !== "" && ip !== "None")
    .map((ip, i) => checkIp(reader, ip, spec["clusterIPs"] === undefined ? ["spec", "clusterIP"] : ["spec", "clusterIPs", i]));
  const selector = spec["selector"] === undefined ? undefined : reader.stringMap(spec["selector"], ["spec", "selector"]);
  const externalName = type === "ExternalName" ? reader.string(spec["externalName"], ["spec", "externalName"]) : undefined;
  return {
    ...meta,
    ...(exportTo === undefined ? {} : { exportTo }),
    ports,
    clusterIPs,
    ...(selector === undefined ? {} : { selector }),
    ...(externalName === undefined ? {} : { externalName }),
  };
}

function readPorts(reader: ConfigReader, value: unknown, path: ConfigPath): Map<string, number> {
  const ports = new Map<string, number>();
  reader.list(value, path).forEach((each, i) => {
    const port = reader.mapping(each, [...path, i]);
    const name = reader.optionalString(port["name"], [...path, i, "name"]) ?? "";
    const number = reader.optionalInteger(port["port"], [...path, i, "port"], 1, 65535);
    if (number !== undefined) ports.set(name, number);
  });
  return ports;
}

function podOf(reader: ConfigReader, value: unknown, path: ConfigPath): string | undefined {
  if (value === undefined) return undefined;
  const ref = reader.mapping(value, path);
  return ref["kind"] === "Pod" && typeof ref["name"] === "string" ? ref["name"] : undefined;
}

/**
 * Reads an EndpointSlice of the Service its `kubernetes.io/service-name` label names: the first address of
 * each ready endpoint (a missing `ready` condition means ready) and the slice's ports. FQDN slices are left
 * out, as istiod does.
 */
export function readEndpointSlice(reader: ConfigReader, meta: ResourceMeta, root: ConfigObject, labels: Readonly<Record<string, string>>): EndpointGroup | undefined {
  const service = labels["kubernetes.io/service-name"];
  if (service === undefined) return undefined;
  const addressType = reader.optionalString(root["addressType"], ["addressType"]);
  if (addressType === "FQDN") return undefined;
  const addresses = reader.list(root["endpoints"], ["endpoints"]).flatMap((each, i) => {
    const path = ["endpoints", i];
    const endpoint = reader.mapping(each, path);
    const conditions = reader.mapping(endpoint["conditions"], [...path, "conditions"]);
    if (conditions["ready"] === false) return [];
    const ips = reader.list(endpoint["addresses"], [...path, "addresses"]);
    if (ips.length === 0) return [];
    const ip = checkIp(reader, reader.string(ips[0], [...path, "addresses", 0]), [...path, "addresses", 0]);
    const pod = podOf(reader, endpoint["targetRef"], [...path, "targetRef"]);
    return [{ ip, ...(pod === undefined ? {} : { pod }) }];
  });
  return { kind: "EndpointSlice", service, namespace: meta.namespace, addresses, ports: readPorts(reader, root["ports"], ["ports"]) };
}

/** Reads the ready addresses of each subset of an Endpoints object (named as its Service). */
export function readEndpoints(reader: ConfigReader, meta: ResourceMeta, root: ConfigObject): EndpointGroup[] {
  return reader.list(root["subsets"], ["subsets"]).map((each, i) => {
    const path = ["subsets", i];
    const subset = reader.mapping(each, path);
    const addresses = reader.list(subset["addresses"], [...path, "addresses"]).map((value, j) => {
      const address = reader.mapping(value, [...path, "addresses", j]);
      const ip = checkIp(reader, reader.string(address["ip"], [...path, "addresses", j, "ip"]), [...path, "addresses", j, "ip"]);
      const pod = podOf(reader, address["targetRef"], [...path, "addresses", j, "targetRef"]);
      return { ip, ...(pod === undefined ? {} : { pod }) };
    });
    return { kind: "Endpoints", service: meta.name, namespace: meta.namespace, addresses, ports: readPorts(reader, subset["ports"], [...path, "ports"]) };
  });
}

/** Reads a Pod's labels, IPs (`status.podIPs`, else `status.podIP`; loopback addresses are fine) and `spec.serviceAccountName`. */
export function readPod(reader: ConfigReader, meta: ResourceMeta, labels: Readonly<Record<string, string>>, root: ConfigObject): KubernetesPod {
  const status = reader.mapping(root["status"], ["status"]);
  const listed = status["podIPs"] === undefined ? [] : reader.list(status["podIPs"], ["status", "podIPs"]);
  const ips = listed.map((each, i) => {
    const entry = reader.mapping(each, ["status", "podIPs", i]);
    return checkIp(reader, reader.string(entry["ip"], ["status", "podIPs", i, "ip"]), ["status", "podIPs", i, "ip"]);
  });
  if (ips.length === 0 && status["podIP"] !== undefined) ips.push(checkIp(reader, reader.string(status["podIP"], ["status", "podIP"]), ["status", "podIP"]));
  const spec = reader.mapping(root["spec"], ["spec"]);
  const serviceAccount = reader.optionalString(spec["serviceAccountName"], ["spec", "serviceAccountName"]);
  return { name: meta.name, namespace: meta.namespace, labels, ips, serviceAccount };
}
