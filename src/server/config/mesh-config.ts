/**
 * The mesh config file `rxds serve` reads: multi-document YAML holding Istio networking resources
 * in their usual shape (`apiVersion: networking.istio.io/v1|v1beta1|v1alpha3`, `kind`,
 * `metadata {name, namespace}`, `spec`) plus raw Envoy v3 resources (`@type: type.googleapis.com/…`
 * in proto3 JSON).
 *
 * There is no Kubernetes behind `rxds serve`, so services and their instances are declared with
 * ServiceEntry: `hosts` name the service (a short name is expanded to
 * `<name>.<namespace>.svc.cluster.local`, as a Kubernetes Service would be), `ports` its ports,
 * `endpoints` its instances (with the labels DestinationRule subsets select on), `addresses` its
 * virtual IPs. VirtualService and DestinationRule then work on those hosts as they do in Istio.
 *
 * Validation is strict: an unknown kind, an unknown field or a wrong value is an
 * `XdsError("INVALID_CONFIG")` naming the file, the document (counting from 1), the resource, the
 * field path and what was expected, e.g.
 * `mesh.yaml: document 2 (VirtualService reviews): spec.http[0].route[1].weight: expected an integer 0..100, got "x" (line 14)`.
 */
import { fromJson, type JsonValue, type Message } from "@bufbuild/protobuf";
import { isNode, LineCounter, parseAllDocuments, type Document } from "yaml";
import { XdsError } from "../../xds-error.js";
import { ConfigReader, type ConfigObject, type ConfigPath } from "./config-reader.js";
import { readDestinationRule } from "./destination-rule-parser.js";
import type { DestinationRule, MeshConfig, RawXdsResource, ResourceMeta, ServiceEntry, VirtualService } from "./mesh-config-model.js";
import { readServiceEntry } from "./service-entry-parser.js";
import { readVirtualService } from "./virtual-service-parser.js";
import { clusterTypeUrl, endpointsTypeUrl, listenerTypeUrl, nameTableTypeUrl, routeConfigurationTypeUrl, xdsResourceRegistry } from "./xds-resources.js";

/** The typed model of a mesh config (defined in mesh-config-model.ts). */
export type {
  ConnectionPoolSettings,
  DestinationRule,
  HashKey,
  HttpMatch,
  HttpRetry,
  HttpRoute,
  LoadBalancerSettings,
  MeshConfig,
  OutlierDetectionSettings,
  RawXdsResource,
  ResourceMeta,
  RouteDestination,
  ServiceEntry,
  ServicePort,
  StringMatch,
  Subset,
  TrafficPolicy,
  VirtualService,
  WorkloadEndpoint,
} from "./mesh-config-model.js";

const apiVersions = ["networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"];
const kinds = ["VirtualService", "DestinationRule", "ServiceEntry"] as const;
const rawTypes = [listenerTypeUrl, routeConfigurationTypeUrl, clusterTypeUrl, endpointsTypeUrl, nameTableTypeUrl];

/** Finds the line of the node at `path`, or of its nearest ancestor that exists. */
function lineFinder(document: Document, lines: LineCounter): (path: ConfigPath) => number | undefined {
  return (path) => {
    for (let length = path.length; length >= 0; length--) {
      const node = length === 0 ? document.contents : document.getIn(path.slice(0, length), true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

/** The name a raw resource is served under: `name`, or `cluster_name` for endpoints, "" for NDS. */
function rawName(typeUrl: string, message: Message): string {
  if (typeUrl === nameTableTypeUrl) return "";
  const record = message as unknown as Record<string, unknown>;
  const name = typeUrl === endpointsTypeUrl ? record["clusterName"] : record["name"];
  return typeof name === "string" ? name : "";
}

function readRaw(reader: ConfigReader, root: ConfigObject, document: number): RawXdsResource {
  const typeUrl = reader.oneOf(root["@type"], ["@type"], rawTypes);
  const schema = xdsResourceRegistry.getMessage(typeUrl.slice(typeUrl.lastIndexOf("/") + 1));
  if (schema === undefined) return reader.fail(["@type"], `no schema for ${typeUrl}`);
  const json = { ...root };
  delete json["@type"];
  let message: Message;
  try {
    message = fromJson(schema, json as JsonValue, { registry: xdsResourceRegistry });
  } catch (error) {
    return reader.fail([], `not a valid ${schema.typeName} in proto3 JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const name = rawName(typeUrl, message);
  if (name === "" && typeUrl !== nameTableTypeUrl) {
    reader.fail([typeUrl === endpointsTypeUrl ? "cluster_name" : "name"], "expected a non-empty resource name");
  }
  reader.identify(schema.name, name === "" ? '""' : name);
  return { typeUrl, name, message, document };
}

function readMeta(reader: ConfigReader, root: ConfigObject, document: number): { kind: (typeof kinds)[number]; meta: ResourceMeta } {
  reader.oneOf(root["apiVersion"], ["apiVersion"], apiVersions);
  const kind = reader.oneOf(root["kind"], ["kind"], kinds);
  const metadata = reader.object(root["metadata"], ["metadata"], ["name", "namespace", "labels", "annotations"]);
  const name = reader.string(metadata["name"], ["metadata", "name"]);
  const namespace = reader.optionalString(metadata["namespace"], ["metadata", "namespace"]) ?? "default";
  if (namespace === "" || namespace.includes(".")) reader.expected(["metadata", "namespace"], "a namespace name without dots", namespace);
  reader.stringMap(metadata["labels"], ["metadata", "labels"]);
  reader.stringMap(metadata["annotations"], ["metadata", "annotations"]);
  reader.identify(kind, name);
  return { kind, meta: { name, namespace, document } };
}

/** Rejects two resources claiming the same thing (a kind/namespace/name, a host). */
class Claims {
  private readonly owners = new Map<string, number>();

  claim(reader: ConfigReader, key: string, what: string, path: ConfigPath, document: number): void {
    const owner = this.owners.get(key);
    if (owner !== undefined) reader.fail(path, `${what} is already declared in document ${owner}`);
    this.owners.set(key, document);
  }
}

/** Parses and validates a mesh config file (multi-document YAML); throws `XdsError("INVALID_CONFIG")`. */
export function parseMeshConfig(text: string, file: string): MeshConfig {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines });
  const documents = Array.isArray(parsed) ? parsed : [];
  const virtualServices: VirtualService[] = [];
  const destinationRules: DestinationRule[] = [];
  const serviceEntries: ServiceEntry[] = [];
  const raw: RawXdsResource[] = [];
  const claims = new Claims();

  documents.forEach((doc, i) => {
    const index = i + 1;
    const firstError = doc.errors[0];
    if (firstError !== undefined) {
      const line = firstError.linePos?.[0].line;
      throw new XdsError("INVALID_CONFIG", `${file}: document ${index}: invalid YAML: ${firstError.message.split("\n")[0]}${line ? ` (line ${line})` : ""}`);
    }
    const reader = new ConfigReader({ file, index, lineOf: lineFinder(doc, lines) });
    const root: unknown = doc.toJS();
    if (root === null || root === undefined) return;
    const object = reader.object(root, [], Object.keys(root as object));
    if ("@type" in object) {
      const resource = readRaw(reader, object, index);
      claims.claim(reader, `raw ${resource.typeUrl} ${resource.name}`, `${resource.typeUrl} "${resource.name}"`, [], index);
      raw.push(resource);
      return;
    }
    reader.object(object, [], ["apiVersion", "kind", "metadata", "spec"]);
    const { kind, meta } = readMeta(reader, object, index);
    claims.claim(reader, `${kind} ${meta.namespace}/${meta.name}`, `${kind} ${meta.namespace}/${meta.name}`, ["metadata", "name"], index);
    if (kind === "VirtualService") {
      const vs = readVirtualService(reader, meta, object["spec"]);
      vs.hosts.forEach((host, h) => claims.claim(reader, `vs ${host}`, `a VirtualService for host ${host}`, ["spec", "hosts", h], index));
      virtualServices.push(vs);
    } else if (kind === "DestinationRule") {
      const dr = readDestinationRule(reader, meta, object["spec"]);
      claims.claim(reader, `dr ${dr.host}`, `a DestinationRule for host ${dr.host}`, ["spec", "host"], index);
      destinationRules.push(dr);
    } else {
      const se = readServiceEntry(reader, meta, object["spec"]);
      se.hosts.forEach((host, h) => claims.claim(reader, `se ${host}`, `host ${host}`, ["spec", "hosts", h], index));
      serviceEntries.push(se);
    }
  });
  return { file, virtualServices, destinationRules, serviceEntries, raw };
}
