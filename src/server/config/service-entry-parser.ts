import { ipAddressRejection } from "../../resources/endpoints-address.js";
import type { ConfigPath, ConfigReader } from "./config-reader.js";
import { readExportTo } from "./export-to.js";
import { expandHost } from "./istio-names.js";
import type { ResourceMeta, ServiceEntry, ServicePort, WorkloadEndpoint } from "./mesh-config-model.js";

const protocols = ["HTTP", "HTTP2", "HTTPS", "GRPC", "GRPC-WEB", "TCP", "TLS", "UDP", "MONGO", "MYSQL", "REDIS", "THRIFT"] as const;

function readPort(reader: ConfigReader, value: unknown, path: ConfigPath): ServicePort {
  const object = reader.object(value, path, ["number", "name", "protocol", "targetPort"]);
  const number = reader.integer(object["number"], [...path, "number"], 1, 65535);
  const name = reader.string(object["name"], [...path, "name"]);
  const protocolText = reader.optionalString(object["protocol"], [...path, "protocol"]);
  const protocol = protocolText === undefined ? undefined : reader.oneOf(protocolText.toUpperCase(), [...path, "protocol"], protocols);
  const targetPort = reader.optionalInteger(object["targetPort"], [...path, "targetPort"], 1, 65535);
  return {
    number,
    name,
    ...(protocol === undefined ? {} : { protocol }),
    ...(targetPort === undefined ? {} : { targetPort }),
  };
}

/**
 * Reads a WorkloadEntry (a ServiceEntry endpoint, a WorkloadEntry's spec). `portNames` limits the port names to
 * the service's; `ipOnly` requires an IP address, as clients need for endpoints served over EDS.
 */
export function readWorkloadEndpoint(reader: ConfigReader, value: unknown, path: ConfigPath, portNames: ReadonlySet<string> | undefined, ipOnly: boolean): WorkloadEndpoint {
  const object = reader.object(value, path, ["address", "ports", "labels", "weight", "serviceAccount", "locality"]);
  const address = reader.string(object["address"], [...path, "address"]);
  const rejection = ipOnly ? ipAddressRejection(address) : undefined;
  if (rejection !== undefined) reader.fail([...path, "address"], rejection);
  const portsPath = [...path, "ports"];
  const ports: Record<string, number> = {};
  if (object["ports"] !== undefined) {
    const map = portNames === undefined ? reader.mapping(object["ports"], portsPath) : reader.object(object["ports"], portsPath, [...portNames]);
    for (const [name, port] of Object.entries(map)) ports[name] = reader.integer(port, [...portsPath, name], 1, 65535);
  }
  const labels = reader.stringMap(object["labels"], [...path, "labels"]);
  const weight = reader.optionalInteger(object["weight"], [...path, "weight"], 1, 4294967295);
  const serviceAccount = reader.optionalString(object["serviceAccount"], [...path, "serviceAccount"]);
  const locality = reader.optionalString(object["locality"], [...path, "locality"]);
  return {
    address,
    ports,
    labels,
    ...(weight === undefined ? {} : { weight }),
    ...(serviceAccount === undefined ? {} : { serviceAccount }),
    ...(locality === undefined ? {} : { locality }),
  };
}

/**
 * Reads a ServiceEntry's `spec`: the hosts, their ports and their instances. Unlike istiod, a host
 * without a dot is expanded with the namespace, because here a ServiceEntry often stands in for a
 * Kubernetes Service. Endpoint addresses must be IPs unless the resolution is DNS (clients NACK others).
 */
export function readServiceEntry(reader: ConfigReader, meta: ResourceMeta, spec: unknown): ServiceEntry {
  const path = ["spec"];
  const object = reader.object(spec, path, ["hosts", "addresses", "ports", "location", "resolution", "endpoints", "workloadSelector", "exportTo", "subjectAltNames"]);
  const hostsPath = [...path, "hosts"];
  const hosts = reader.list(object["hosts"], hostsPath).map((host, i) => {
    const text = reader.string(host, [...hostsPath, i]);
    if (text.includes("*")) reader.fail([...hostsPath, i], `expected a host without wildcards, got ${JSON.stringify(text)}`);
    return expandHost(text, meta.namespace);
  });
  if (hosts.length === 0) reader.expected(hostsPath, "at least one host", object["hosts"]);
  const addresses = reader.list(object["addresses"], [...path, "addresses"]).map((a, i) => {
    const text = reader.string(a, [...path, "addresses", i]);
    const [ip, prefix, extra] = text.split("/");
    const valid = ipAddressRejection(ip ?? "") === undefined && extra === undefined && (prefix === undefined || /^\d{1,3}$/.test(prefix));
    if (!valid) reader.expected([...path, "addresses", i], "an IP address or CIDR block", text);
    return text;
  });
  const portsPath = [...path, "ports"];
  const ports = reader.list(object["ports"], portsPath).map((port, i) => readPort(reader, port, [...portsPath, i]));
  if (ports.length === 0) reader.expected(portsPath, "at least one port", object["ports"]);
  const numbers = new Set<number>();
  const names = new Set<string>();
  ports.forEach((port, i) => {
    if (numbers.has(port.number)) reader.fail([...portsPath, i, "number"], `duplicate port ${port.number}`);
    if (names.has(port.name)) reader.fail([...portsPath, i, "name"], `duplicate port name "${port.name}"`);
    numbers.add(port.number);
    names.add(port.name);
  });
  if (object["location"] !== undefined) reader.oneOf(object["location"], [...path, "location"], ["MESH_INTERNAL", "MESH_EXTERNAL"]);
  const resolution =
    object["resolution"] === undefined
      ? "NONE"
      : reader.oneOf(object["resolution"], [...path, "resolution"], ["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"] as const);
  const endpointsPath = [...path, "endpoints"];
  const dns = resolution === "DNS" || resolution === "DNS_ROUND_ROBIN";
  const endpoints = reader.list(object["endpoints"], endpointsPath).map((each, i) => readWorkloadEndpoint(reader, each, [...endpointsPath, i], names, !dns));
  if (dns && endpoints.length > 1 && endpoints.some((endpoint) => ipAddressRejection(endpoint.address) !== undefined)) {
    reader.fail(endpointsPath, "expected at most one endpoint when one is a host name: a client resolves one DNS name per cluster");
  }
  let workloadSelector: Readonly<Record<string, string>> | undefined;
  if (object["workloadSelector"] !== undefined) {
    const selectorPath = [...path, "workloadSelector"];
    const selector = reader.object(object["workloadSelector"], selectorPath, ["labels"]);
    workloadSelector = reader.stringMap(selector["labels"], [...selectorPath, "labels"]);
    if (endpoints.length > 0) reader.fail(selectorPath, "expected only one of workloadSelector, endpoints");
  }
  const exportTo = readExportTo(reader, object["exportTo"], [...path, "exportTo"]);
  const subjectAltNames = reader.list(object["subjectAltNames"], [...path, "subjectAltNames"]).map((san, i) => reader.string(san, [...path, "subjectAltNames", i]));
  return {
    ...meta,
    ...(exportTo === undefined ? {} : { exportTo }),
    declaredBy: "ServiceEntry",
    hosts,
    addresses,
    ports,
    endpoints,
    resolution,
    subjectAltNames,
    ...(workloadSelector === undefined ? {} : { workloadSelector }),
  };
}
