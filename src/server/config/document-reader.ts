/**
 * Reads one YAML document of mesh config (one resource, or the items of a `kind: List`) into what it declares:
 * Istio resources, Kubernetes objects and raw Envoy resources, with warnings, and the claims (a name, a host) to
 * check against the other documents when the config is assembled. See mesh-config.ts for what is read.
 */
import { fromJson, type JsonValue, type Message } from "@bufbuild/protobuf";
import { ConfigReader, type ConfigObject, type ConfigPath, type DocumentPlace } from "./config-reader.js";
import { readDestinationRule } from "./destination-rule-parser.js";
import { readEnvoyFilter } from "./envoy-filter-parser.js";
import { readExportTo } from "./export-to.js";
import { istioSpecFields, sortIstioFields } from "./istio-fields.js";
import { clusterDomain } from "./istio-names.js";
import { readEndpoints, readEndpointSlice, readKubernetesService, readPod, type EndpointGroup, type KubernetesPod, type KubernetesService } from "./kubernetes-parser.js";
import { readPeerAuthentication } from "./peer-authentication-parser.js";
import type { DestinationRule, EnvoyFilter, PeerAuthentication, RawXdsResource, ResourceMeta, ServiceEntry, VirtualService, WorkloadEntry } from "./mesh-config-model.js";
import { readServiceEntry, readWorkloadEndpoint } from "./service-entry-parser.js";
import { readVirtualService } from "./virtual-service-parser.js";
import {
  clusterTypeUrl,
  endpointsTypeUrl,
  listenerTypeUrl,
  nameTableTypeUrl,
  packResource,
  routeConfigurationTypeUrl,
  xdsResourceRegistry,
} from "./xds-resources.js";
import type { YamlDocument } from "./yaml-documents.js";

const istioVersions = ["v1", "v1beta1", "v1alpha3", "v1alpha1"];

/**
 * Istio kinds that are valid but that rxds serve does not apply, each with what a user should know. A
 * change that applies one of them removes it from here and reads it in `readResource`.
 */
const notApplied: Readonly<Record<string, string>> = {
  "networking.istio.io/Gateway": "gateways are Envoy deployments; proxyless clients get no gateway config",
  "networking.istio.io/Sidecar": "every client gets every service it may see",
  "networking.istio.io/ProxyConfig": "it configures Envoy proxies",
  "networking.istio.io/WorkloadGroup": "its WorkloadEntries come from workloads registering with istiod, which rxds serve does not do",
  "security.istio.io/AuthorizationPolicy": "no RBAC filter is served",
  "security.istio.io/RequestAuthentication": "no JWT filter is served",
  "telemetry.istio.io/Telemetry": "no telemetry is configured",
  "extensions.istio.io/WasmPlugin": "Wasm runs only in Envoy",
};

const istioGroups = new Set(["networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"]);
const istioRead = new Set(["VirtualService", "DestinationRule", "ServiceEntry", "WorkloadEntry", "EnvoyFilter"]);
const rawTypes = [listenerTypeUrl, routeConfigurationTypeUrl, clusterTypeUrl, endpointsTypeUrl, nameTableTypeUrl];

function isMapping(value: unknown): value is ConfigObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The name a raw resource is served under: `name`, or `cluster_name` for endpoints, "" for NDS. */
function rawName(typeUrl: string, message: Message): string {
  if (typeUrl === nameTableTypeUrl) return "";
  const record = message as unknown as Record<string, unknown>;
  const name = typeUrl === endpointsTypeUrl ? record["clusterName"] : record["name"];
  return typeof name === "string" ? name : "";
}

function scopeOf(meta: ResourceMeta): Scope {
  if (meta.exportTo === undefined || meta.exportTo.length === 0 || meta.exportTo.includes("*")) return "all";
  return new Set(meta.exportTo.filter((each) => each !== "~").map((each) => (each === "." ? meta.namespace : each)));
}

export function overlap(a: Scope, b: Scope): boolean {
  if (a === "all") return b === "all" || b.size > 0;
  if (b === "all") return a.size > 0;
  return [...a].some((namespace) => b.has(namespace));
}

/** A thing a resource claims for itself (its kind/namespace/name, a host), checked against every other document's. */
export interface Claim {
  readonly reader: ConfigReader;
  readonly key: string;
  readonly what: string;
  readonly path: ConfigPath;
  readonly where: string;
  readonly scope: Scope;
}

/** One thing a document declares. */
export type Declared =
  | { readonly kind: "VirtualService"; readonly value: VirtualService }
  | { readonly kind: "DestinationRule"; readonly value: DestinationRule }
  | { readonly kind: "ServiceEntry"; readonly value: ServiceEntry }
  | { readonly kind: "WorkloadEntry"; readonly value: WorkloadEntry }
  | { readonly kind: "EnvoyFilter"; readonly value: EnvoyFilter }
  | { readonly kind: "PeerAuthentication"; readonly value: PeerAuthentication }
  | { readonly kind: "Service"; readonly value: KubernetesService }
  | { readonly kind: "EndpointGroup"; readonly value: EndpointGroup }
  | { readonly kind: "Pod"; readonly value: KubernetesPod }
  | { readonly kind: "raw"; readonly value: RawXdsResource };

/** What one document declares, in order, with its warnings and claims; kept while the document's text is unchanged. */
export class DocumentRead {
  readonly declared: Declared[] = [];
  readonly warnings: string[] = [];
  readonly claims: Claim[] = [];

  add(declared: Declared): void {
    this.declared.push(declared);
  }

  claim(reader: ConfigReader, key: string, what: string, path: ConfigPath, where: string, scope: Scope = "all"): void {
    this.claims.push({ reader, key, what, path, where, scope });
  }
}

/** Which namespaces see a resource: all, or a set (empty for `~`). */
export type Scope = "all" | ReadonlySet<string>;

function readRaw(reader: ConfigReader, root: ConfigObject, place: DocumentPlace): RawXdsResource {
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
  return { typeUrl, name, message, resource: packResource(message), document: place.index, place: reader.where };
}

/** Reads `metadata`: name, namespace, labels and annotations; the rest a cluster adds is ignored. */
function readMeta(reader: ConfigReader, root: ConfigObject, kind: string, index: number) {
  const metadata = reader.mapping(root["metadata"], ["metadata"]);
  const name = reader.string(metadata["name"], ["metadata", "name"]);
  const namespace = reader.optionalString(metadata["namespace"], ["metadata", "namespace"]) ?? "default";
  if (namespace === "" || namespace.includes(".")) reader.expected(["metadata", "namespace"], "a namespace name without dots", namespace);
  const labels = reader.stringMap(metadata["labels"], ["metadata", "labels"]);
  const annotations = reader.stringMap(metadata["annotations"], ["metadata", "annotations"]);
  reader.identify(kind, name);
  const meta: ResourceMeta = { name, namespace, document: index, place: reader.where };
  return { meta, labels, annotations };
}

/** Reads the spec of an Istio kind rxds serves, after warning about the fields it accepts but does not serve. */
function readIstio(reader: ConfigReader, kind: string, root: ConfigObject, meta: ResourceMeta, into: DocumentRead): void {
  reader.object(root, [], ["apiVersion", "kind", "metadata", "spec", "status"]);
  if (kind === "EnvoyFilter") {
    const id = `EnvoyFilter ${meta.namespace}/${meta.name}`;
    into.claim(reader, id, id, ["metadata", "name"], meta.place);
    into.add({ kind: "EnvoyFilter", value: readEnvoyFilter(reader, meta, root["spec"], (line) => into.warnings.push(line)) });
    return;
  }
  const sorted = sortIstioFields(reader, istioSpecFields[kind] ?? {}, root["spec"] ?? {});
  if (sorted.notServed.length > 0) {
    const shown = sorted.notServed.length > 10 ? `${sorted.notServed.slice(0, 10).join(", ")} …` : sorted.notServed.join(", ");
    into.warnings.push(`${reader.where}: accepted but not served: ${shown}`);
  }
  const id = `${kind} ${meta.namespace}/${meta.name}`;
  const spec = sorted.spec;
  if (kind === "VirtualService") {
    const vs = readVirtualService(reader, meta, spec);
    into.claim(reader, id, id, ["metadata", "name"], meta.place);
    vs.hosts.forEach((host, h) => into.claim(reader, `vs ${host}`, `a VirtualService for host ${host}`, ["spec", "hosts", h], meta.place, scopeOf(vs)));
    into.add({ kind: "VirtualService", value: vs });
  } else if (kind === "DestinationRule") {
    const dr = readDestinationRule(reader, meta, spec);
    into.claim(reader, id, id, ["metadata", "name"], meta.place);
    into.claim(reader, `dr ${dr.host}`, `a DestinationRule for host ${dr.host}`, ["spec", "host"], meta.place, scopeOf(dr));
    into.add({ kind: "DestinationRule", value: dr });
  } else if (kind === "ServiceEntry") {
    const se = readServiceEntry(reader, meta, spec);
    into.claim(reader, id, id, ["metadata", "name"], meta.place);
    se.hosts.forEach((host, h) => into.claim(reader, `host ${host}`, `host ${host}`, ["spec", "hosts", h], meta.place, scopeOf(se)));
    into.add({ kind: "ServiceEntry", value: se });
  } else {
    into.add({ kind: "WorkloadEntry", value: { ...meta, ...readWorkloadEndpoint(reader, spec, ["spec"], undefined, false) } });
  }
}

/** Reads one resource (a document, or an item of a `kind: List`) into `into`. */
function readResource(place: DocumentPlace, root: unknown, into: DocumentRead): void {
  const reader = new ConfigReader(place);
  if (!isMapping(root)) return reader.expected([], "a mapping", root);
  if ("@type" in root) {
    const resource = readRaw(reader, root, place);
    into.claim(reader, `raw ${resource.typeUrl} ${resource.name}`, `${resource.typeUrl} "${resource.name}"`, [], resource.place);
    into.add({ kind: "raw", value: resource });
    return;
  }
  const apiVersion = reader.string(root["apiVersion"], ["apiVersion"]);
  const kind = reader.string(root["kind"], ["kind"]);
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const key = `${group}/${kind}`;
  if (istioGroups.has(group)) {
    if (!istioVersions.includes(version)) reader.expected(["apiVersion"], `${group}/${istioVersions.join(`, ${group}/`)}`, apiVersion);
    const known = [...istioRead].map((each) => `networking.istio.io/${each}`).concat("security.istio.io/PeerAuthentication", Object.keys(notApplied));
    if (!known.includes(key)) reader.expected(["kind"], `a kind of ${group}: ${known.filter((k) => k.startsWith(`${group}/`)).map((k) => k.slice(group.length + 1)).join(", ")}`, kind);
  }
  const { meta, labels, annotations } = readMeta(reader, root, kind, place.index);
  if (group === "networking.istio.io" && istioRead.has(kind)) return readIstio(reader, kind, root, meta, into);
  if (key === "security.istio.io/PeerAuthentication") {
    reader.object(root, [], ["apiVersion", "kind", "metadata", "spec", "status"]);
    const id = `PeerAuthentication ${meta.namespace}/${meta.name}`;
    into.claim(reader, id, id, ["metadata", "name"], meta.place);
    into.add({ kind: "PeerAuthentication", value: readPeerAuthentication(reader, meta, root["spec"]) });
    return;
  }
  const reason = notApplied[key];
  if (reason !== undefined) {
    reader.object(root, [], ["apiVersion", "kind", "metadata", "spec", "status"]);
    if (root["spec"] !== undefined) reader.mapping(root["spec"], ["spec"]);
    if (kind === "WorkloadGroup") sortIstioFields(reader, istioSpecFields[kind] ?? {}, root["spec"]);
    into.warnings.push(`${reader.where}: accepted but not applied: ${reason}`);
    return;
  }
  if (apiVersion === "v1" && kind === "Service") {
    const exportText = annotations["networking.istio.io/exportTo"];
    const exportTo = exportText === undefined ? undefined : readExportTo(reader, exportText.split(",").map((each) => each.trim()), ["metadata", "annotations", "networking.istio.io/exportTo"]);
    const service = readKubernetesService(reader, meta, root, exportTo);
    const host = `${meta.name}.${meta.namespace}.${clusterDomain}`;
    into.claim(reader, `host ${host}`, `host ${host}`, ["metadata", "name"], meta.place, scopeOf(service));
    into.add({ kind: "Service", value: service });
  } else if (apiVersion === "discovery.k8s.io/v1" && kind === "EndpointSlice") {
    const group = readEndpointSlice(reader, meta, root, labels);
    if (group !== undefined) into.add({ kind: "EndpointGroup", value: group });
  } else if (apiVersion === "v1" && kind === "Endpoints") {
    for (const group of readEndpoints(reader, meta, root)) into.add({ kind: "EndpointGroup", value: group });
  } else if (apiVersion === "v1" && kind === "Pod") {
    into.add({ kind: "Pod", value: readPod(reader, meta, labels, root) });
  } else {
    into.warnings.push(`${reader.where}: ignored: rxds serve reads no ${apiVersion} ${kind}`);
  }
}

/**
 * Reads one parsed document into `into` (a `kind: List`: each of its items); throws an XdsError naming the file, the
 * document, the field path and the line.
 */
export function readDocument(file: string, document: YamlDocument, into: DocumentRead): void {
  const { index, root, lineOf } = document;
  if (root === null || root === undefined) return;
  if (isMapping(root) && root["apiVersion"] === "v1" && root["kind"] === "List") {
    const reader = new ConfigReader({ file, index, lineOf });
    reader.list(root["items"], ["items"]).forEach((item, j) => readResource({ file, index, lineOf, base: ["items", j] }, item, into));
    return;
  }
  readResource({ file, index, lineOf }, root, into);
}
