/**
 * The mesh config `rxds serve` reads: multi-document YAML, from one or several sources, holding
 * Istio resources and Kubernetes objects as a cluster has them (`kubectl get … -o yaml` output, `kind:
 * List` included), plus raw Envoy v3 resources (`@type: type.googleapis.com/…` in proto3 JSON).
 *
 * - Istio networking kinds are read: VirtualService, DestinationRule, ServiceEntry, WorkloadEntry
 *   (WorkloadGroup is checked, see `notApplied`). Fields Istio defines that rxds does not serve are
 *   accepted with one warning per document (istio-fields.ts); fields Istio does not define are errors.
 * - Kubernetes `v1 Service`, `discovery.k8s.io/v1 EndpointSlice`, `v1 Endpoints` and `v1 Pod` declare
 *   services and their instances, as istiod reads them (workload-selection.ts). Without Kubernetes, a
 *   ServiceEntry declares them: a short host is expanded to `<name>.<namespace>.svc.cluster.local`.
 * - The other Istio kinds are accepted with a warning that they are not applied; kinds of other API
 *   groups are ignored with a warning. `status` and the metadata a cluster adds are ignored silently.
 *
 * A wrong value is an `XdsError("INVALID_CONFIG")` naming the file, the document (counting from 1),
 * the resource, the field path, what was expected and the line, e.g.
 * `mesh.yaml: document 2 (VirtualService reviews): spec.http[0].route[1].weight: expected an integer 0..100, got "x" (line 14)`.
 */
import { fromJson, type JsonValue, type Message } from "@bufbuild/protobuf";
import { isNode, LineCounter, parseAllDocuments, type Document } from "yaml";
import { XdsError } from "../../xds-error.js";
import { ConfigReader, type ConfigObject, type ConfigPath, type DocumentPlace } from "./config-reader.js";
import { readDestinationRule } from "./destination-rule-parser.js";
import { readExportTo } from "./export-to.js";
import { istioSpecFields, sortIstioFields } from "./istio-fields.js";
import { clusterDomain } from "./istio-names.js";
import { readEndpoints, readEndpointSlice, readKubernetesService, readPod, type EndpointGroup, type KubernetesPod, type KubernetesService } from "./kubernetes-parser.js";
import type { DestinationRule, MeshConfig, RawXdsResource, ResourceMeta, ServiceEntry, VirtualService, WorkloadEntry } from "./mesh-config-model.js";
import { readServiceEntry, readWorkloadEndpoint } from "./service-entry-parser.js";
import { readVirtualService } from "./virtual-service-parser.js";
import { WorkloadIndex } from "./workload-selection.js";
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
  WorkloadEntry,
} from "./mesh-config-model.js";

/** One source of mesh config: its name for messages and its text. */
export interface MeshSource {
  readonly file: string;
  readonly text: string;
}

const istioVersions = ["v1", "v1beta1", "v1alpha3", "v1alpha1"];

/**
 * Istio kinds that are valid but that rxds serve does not apply, each with what a user should know. A
 * change that applies one of them removes it from here and reads it in `readResource`.
 */
const notApplied: Readonly<Record<string, string>> = {
  "networking.istio.io/Gateway": "gateways are Envoy deployments; proxyless clients get no gateway config",
  "networking.istio.io/Sidecar": "every client gets every service it may see",
  "networking.istio.io/EnvoyFilter": "its patches are not applied",
  "networking.istio.io/ProxyConfig": "it configures Envoy proxies",
  "networking.istio.io/WorkloadGroup": "its WorkloadEntries come from workloads registering with istiod, which rxds serve does not do",
  "security.istio.io/AuthorizationPolicy": "no RBAC filter is served",
  "security.istio.io/RequestAuthentication": "no JWT filter is served",
  "security.istio.io/PeerAuthentication": "no mTLS is served",
  "telemetry.istio.io/Telemetry": "no telemetry is configured",
  "extensions.istio.io/WasmPlugin": "Wasm runs only in Envoy",
};

const istioGroups = new Set(["networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"]);
const istioRead = new Set(["VirtualService", "DestinationRule", "ServiceEntry", "WorkloadEntry"]);
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

/** Which namespaces see a resource: all, or a set (empty for `~`). */
type Scope = "all" | ReadonlySet<string>;

function scopeOf(meta: ResourceMeta): Scope {
  if (meta.exportTo === undefined || meta.exportTo.length === 0 || meta.exportTo.includes("*")) return "all";
  return new Set(meta.exportTo.filter((each) => each !== "~").map((each) => (each === "." ? meta.namespace : each)));
}

function overlap(a: Scope, b: Scope): boolean {
  if (a === "all") return b === "all" || b.size > 0;
  if (b === "all") return a.size > 0;
  return [...a].some((namespace) => b.has(namespace));
}

/** Rejects two resources claiming the same thing (a kind/namespace/name, a host) for a namespace that sees both. */
class Claims {
  private readonly owners = new Map<string, { readonly where: string; readonly scope: Scope }[]>();

  claim(reader: ConfigReader, key: string, what: string, path: ConfigPath, where: string, scope: Scope = "all"): void {
    const owners = this.owners.get(key) ?? [];
    const owner = owners.find((each) => overlap(each.scope, scope));
    if (owner !== undefined) reader.fail(path, `${what} is already declared in ${owner.where}`);
    owners.push({ where, scope });
    this.owners.set(key, owners);
  }
}

/** What the documents declare, collected while reading them. */
class Collected {
  readonly virtualServices: VirtualService[] = [];
  readonly destinationRules: DestinationRule[] = [];
  readonly serviceEntries: ServiceEntry[] = [];
  readonly services: KubernetesService[] = [];
  readonly groups: EndpointGroup[] = [];
  readonly pods: KubernetesPod[] = [];
  readonly workloadEntries: WorkloadEntry[] = [];
  readonly raw: RawXdsResource[] = [];
  readonly warnings: string[] = [];
  readonly claims = new Claims();
}

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
  return { typeUrl, name, message, document: place.index, place: reader.where };
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
function readIstio(reader: ConfigReader, kind: string, root: ConfigObject, meta: ResourceMeta, into: Collected): void {
  reader.object(root, [], ["apiVersion", "kind", "metadata", "spec", "status"]);
  const sorted = sortIstioFields(reader, istioSpecFields[kind] ?? {}, root["spec"] ?? {});
  if (sorted.notServed.length > 0) {
    const shown = sorted.notServed.length > 10 ? `${sorted.notServed.slice(0, 10).join(", ")} …` : sorted.notServed.join(", ");
    into.warnings.push(`${reader.where}: accepted but not served: ${shown}`);
  }
  const id = `${kind} ${meta.namespace}/${meta.name}`;
  const spec = sorted.spec;
  if (kind === "VirtualService") {
    const vs = readVirtualService(reader, meta, spec);
    into.claims.claim(reader, id, id, ["metadata", "name"], meta.place);
    vs.hosts.forEach((host, h) => into.claims.claim(reader, `vs ${host}`, `a VirtualService for host ${host}`, ["spec", "hosts", h], meta.place, scopeOf(vs)));
    into.virtualServices.push(vs);
  } else if (kind === "DestinationRule") {
    const dr = readDestinationRule(reader, meta, spec);
    into.claims.claim(reader, id, id, ["metadata", "name"], meta.place);
    into.claims.claim(reader, `dr ${dr.host}`, `a DestinationRule for host ${dr.host}`, ["spec", "host"], meta.place, scopeOf(dr));
    into.destinationRules.push(dr);
  } else if (kind === "ServiceEntry") {
    const se = readServiceEntry(reader, meta, spec);
    into.claims.claim(reader, id, id, ["metadata", "name"], meta.place);
    se.hosts.forEach((host, h) => into.claims.claim(reader, `host ${host}`, `host ${host}`, ["spec", "hosts", h], meta.place, scopeOf(se)));
    into.serviceEntries.push(se);
  } else {
    into.workloadEntries.push({ ...meta, ...readWorkloadEndpoint(reader, spec, ["spec"], undefined, false) });
  }
}

/** Reads one resource (a document, or an item of a `kind: List`) into `into`. */
function readResource(place: DocumentPlace, root: unknown, into: Collected): void {
  const reader = new ConfigReader(place);
  if (!isMapping(root)) return reader.expected([], "a mapping", root);
  if ("@type" in root) {
    const resource = readRaw(reader, root, place);
    into.claims.claim(reader, `raw ${resource.typeUrl} ${resource.name}`, `${resource.typeUrl} "${resource.name}"`, [], resource.place);
    into.raw.push(resource);
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
    const known = [...istioRead].map((each) => `networking.istio.io/${each}`).concat(Object.keys(notApplied));
    if (!known.includes(key)) reader.expected(["kind"], `a kind of ${group}: ${known.filter((k) => k.startsWith(`${group}/`)).map((k) => k.slice(group.length + 1)).join(", ")}`, kind);
  }
  const { meta, labels, annotations } = readMeta(reader, root, kind, place.index);
  if (group === "networking.istio.io" && istioRead.has(kind)) return readIstio(reader, kind, root, meta, into);
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
    into.claims.claim(reader, `host ${host}`, `host ${host}`, ["metadata", "name"], meta.place, scopeOf(service));
    into.services.push(service);
  } else if (apiVersion === "discovery.k8s.io/v1" && kind === "EndpointSlice") {
    const group = readEndpointSlice(reader, meta, root, labels);
    if (group !== undefined) into.groups.push(group);
  } else if (apiVersion === "v1" && kind === "Endpoints") {
    into.groups.push(...readEndpoints(reader, meta, root));
  } else if (apiVersion === "v1" && kind === "Pod") {
    into.pods.push(readPod(reader, meta, labels, root));
  } else {
    into.warnings.push(`${reader.where}: ignored: rxds serve reads no ${apiVersion} ${kind}`);
  }
}

/** The offset of the first byte that cannot be in YAML text (a C0 control other than tab and line breaks, or an invalid UTF-8 sequence). */
function binaryOffset(text: string): number {
  return text.search(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffd]/);
}

function readSource(source: MeshSource, into: Collected): void {
  const { file, text } = source;
  const binary = binaryOffset(text);
  if (binary >= 0) {
    const line = text.slice(0, binary).split("\n").length;
    throw new XdsError("INVALID_CONFIG", `${file}: not YAML text: binary data at line ${line} (character ${binary + 1})`);
  }
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines });
  const documents = Array.isArray(parsed) ? parsed : [];
  documents.forEach((doc, i) => {
    const index = i + 1;
    const firstError = doc.errors[0];
    if (firstError !== undefined) {
      const line = firstError.linePos?.[0].line;
      throw new XdsError("INVALID_CONFIG", `${file}: document ${index}: invalid YAML: ${firstError.message.split("\n")[0]?.slice(0, 200)}${line ? ` (line ${line})` : ""}`);
    }
    let root: unknown;
    try {
      root = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      // An alias bomb ("Excessive alias count …") or an alias to nothing.
      throw new XdsError("INVALID_CONFIG", `${file}: document ${index}: invalid YAML: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (root === null || root === undefined) return;
    const lineOf = lineFinder(doc, lines);
    if (isMapping(root) && root["apiVersion"] === "v1" && root["kind"] === "List") {
      const reader = new ConfigReader({ file, index, lineOf });
      reader.list(root["items"], ["items"]).forEach((item, j) => readResource({ file, index, lineOf, base: ["items", j] }, item, into));
      return;
    }
    readResource({ file, index, lineOf }, root, into);
  });
}

/** Parses and validates mesh config sources (multi-document YAML each); throws `XdsError("INVALID_CONFIG")`. */
export function parseMeshSources(sources: readonly MeshSource[]): MeshConfig {
  const into = new Collected();
  for (const source of sources) readSource(source, into);
  const index = new WorkloadIndex({ groups: into.groups, pods: into.pods, entries: into.workloadEntries });
  const serviceEntries = [...into.serviceEntries.map((entry) => index.resolveSelector(entry)), ...into.services.map((service) => index.serviceEntry(service))];
  return {
    file: sources.map((source) => source.file).join(", "),
    virtualServices: into.virtualServices,
    destinationRules: into.destinationRules,
    serviceEntries,
    raw: into.raw,
    warnings: into.warnings,
  };
}

/** Parses and validates one mesh config file (multi-document YAML); throws `XdsError("INVALID_CONFIG")`. */
export function parseMeshConfig(text: string, file: string): MeshConfig {
  return parseMeshSources([{ file, text }]);
}
