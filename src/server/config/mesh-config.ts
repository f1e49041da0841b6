/**
 * The mesh config `rxds serve` reads: multi-document YAML, from one or several sources, holding
 * Istio resources and Kubernetes objects as a cluster has them (`kubectl get … -o yaml` output, `kind:
 * List` included), plus raw Envoy v3 resources (`@type: type.googleapis.com/…` in proto3 JSON).
 *
 * - Istio networking kinds are read: VirtualService, DestinationRule, ServiceEntry, WorkloadEntry, EnvoyFilter
 *   and the security kind PeerAuthentication (WorkloadGroup is checked, see `notApplied`). Fields Istio defines that rxds does not serve are
 *   accepted with one warning per document (istio-fields.ts; for EnvoyFilter, the patches it does not apply, see
 *   envoy-filter-parser.ts); fields Istio does not define are errors.
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
import { DocumentRead, overlap, readDocument, type Claim, type Scope } from "./document-reader.js";
import { IdentityCache } from "./identity-cache.js";
import type { EndpointGroup, KubernetesPod, KubernetesService } from "./kubernetes-parser.js";
import type { DestinationRule, EnvoyFilter, MeshConfig, PeerAuthentication, RawXdsResource, ServiceEntry, VirtualService, WorkloadEntry } from "./mesh-config-model.js";
import { WorkloadIndex } from "./workload-selection.js";
import { checkYamlText, parseYamlDocument, parseYamlFile, splitYamlDocuments, type YamlDocument } from "./yaml-documents.js";

/** The typed model of a mesh config (defined in mesh-config-model.ts). */
export type {
  ConnectionPoolSettings,
  DestinationRule,
  EnvoyFilter,
  EnvoyFilterListenerMatch,
  EnvoyFilterPatch,
  HashKey,
  HttpMatch,
  HttpRetry,
  HttpRoute,
  LoadBalancerSettings,
  MeshConfig,
  MtlsMode,
  OutlierDetectionSettings,
  PeerAuthentication,
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

/** Rejects two resources claiming the same thing (a kind/namespace/name, a host) for a namespace that sees both. */
class Claims {
  /** Each key's claims: the first, or all of them once several resources claimed it (each for namespaces the others do not see). */
  private readonly owners = new Map<string, Claim | Claim[]>();

  claim(claim: Claim): void {
    const owners = this.owners.get(claim.key);
    if (owners === undefined) {
      this.owners.set(claim.key, claim);
      return;
    }
    const list = Array.isArray(owners) ? owners : [owners];
    const owner = list.find((each) => overlap(each.scope, claim.scope));
    if (owner !== undefined) claim.reader.fail(claim.path, `${claim.what} is already declared in ${owner.where}`);
    list.push(claim);
    this.owners.set(claim.key, list);
  }
}

/** Whether two documents claim the same keys for the same namespaces (so that one cannot conflict where the other did not). */
function sameClaims(a: DocumentRead, b: DocumentRead): boolean {
  return a.claims.length === b.claims.length && a.claims.every((claim, i) => claim.key === b.claims[i]?.key && sameScope(claim.scope, (b.claims[i] as Claim).scope));
}

function sameScope(a: Scope, b: Scope): boolean {
  if (a === "all" || b === "all") return a === b;
  return a.size === b.size && [...a].every((namespace) => b.has(namespace));
}

/** What the documents declare, collected document by document. */
class Collected {
  readonly virtualServices: VirtualService[] = [];
  readonly destinationRules: DestinationRule[] = [];
  readonly serviceEntries: ServiceEntry[] = [];
  readonly services: KubernetesService[] = [];
  readonly groups: EndpointGroup[] = [];
  readonly pods: KubernetesPod[] = [];
  readonly workloadEntries: WorkloadEntry[] = [];
  readonly envoyFilters: EnvoyFilter[] = [];
  readonly peerAuthentications: PeerAuthentication[] = [];
  readonly raw: RawXdsResource[] = [];
  readonly warnings: string[] = [];
  /** The documents read, in order. */
  readonly reads: DocumentRead[] = [];

  add(read: DocumentRead): void {
    this.reads.push(read);
    for (const { kind, value } of read.declared) {
      if (kind === "VirtualService") this.virtualServices.push(value);
      else if (kind === "DestinationRule") this.destinationRules.push(value);
      else if (kind === "ServiceEntry") this.serviceEntries.push(value);
      else if (kind === "WorkloadEntry") this.workloadEntries.push(value);
      else if (kind === "EnvoyFilter") this.envoyFilters.push(value);
      else if (kind === "PeerAuthentication") this.peerAuthentications.push(value);
      else if (kind === "Service") this.services.push(value);
      else if (kind === "EndpointGroup") this.groups.push(value);
      else if (kind === "Pod") this.pods.push(value);
      else this.raw.push(value);
    }
    this.warnings.push(...read.warnings);
  }
}

/** A document as last read: its text, where it starts in its file (updated when only that moved), and what it declares. */
interface ReadDocument {
  readonly text: string;
  line: number;
  readonly read: DocumentRead;
}

/**
 * What parsing kept of each source, so that parsing the sources again reads only the documents whose text changed
 * (by position in their file); the resources of the others keep their objects, and what was built from them can be
 * reused (see IdentityCache).
 */
export class MeshConfigCache {
  /** Each file's documents, as last read; a file parsed whole (see `splitYamlDocuments`) has none. */
  readonly files = new Map<string, readonly ReadDocument[]>();
  /** What workload selection built, by the objects it was built from. */
  readonly identities = new IdentityCache();
  /** The documents of the last parse whose claims were all checked, in order. */
  claimed: readonly DocumentRead[] = [];
}

/**
 * Checks the claims of the documents read, in order: the first claim of a thing another document claimed before is an
 * error. Skipped when they claim what the documents of the last checked parse claimed, document by document.
 */
function checkClaims(reads: readonly DocumentRead[], cache: MeshConfigCache): void {
  const last = cache.claimed;
  if (reads.length === last.length && reads.every((read, i) => read === last[i] || sameClaims(read, last[i] as DocumentRead))) {
    cache.claimed = reads;
    return;
  }
  const claims = new Claims();
  for (const read of reads) for (const claim of read.claims) claims.claim(claim);
  cache.claimed = reads;
}

/** Reads one document into `read` and `into` (what it declared before failing too, so that its claims are checked). */
function collect(file: string, document: YamlDocument, into: Collected, read = new DocumentRead()): DocumentRead {
  try {
    readDocument(file, document, read);
  } finally {
    into.add(read);
  }
  return read;
}

function readSource(source: MeshSource, into: Collected, cache: MeshConfigCache): void {
  const { file, text } = source;
  const chunks = splitYamlDocuments(text);
  if (chunks === undefined) {
    for (const document of parseYamlFile(file, text)) collect(file, document, into);
    cache.files.delete(file);
    return;
  }
  const previous = cache.files.get(file) ?? [];
  const documents: ReadDocument[] = [];
  chunks.forEach((chunk, i) => {
    const kept = previous[i];
    if (kept !== undefined && kept.text === chunk.text) {
      kept.line = chunk.line;
      into.add(kept.read);
      documents.push(kept);
      return;
    }
    checkYamlText(file, chunk);
    const document: ReadDocument = { text: chunk.text, line: chunk.line, read: new DocumentRead() };
    collect(file, parseYamlDocument(file, i + 1, chunk.text, () => document.line), into, document.read);
    documents.push(document);
  });
  cache.files.set(file, documents);
}

/**
 * Parses and validates mesh config sources (multi-document YAML each); throws `XdsError("INVALID_CONFIG")`. With
 * `cache` (kept from an earlier parse of the same sources), only documents whose text changed are read again.
 */
export function parseMeshSources(sources: readonly MeshSource[], cache: MeshConfigCache = new MeshConfigCache()): MeshConfig {
  const into = new Collected();
  try {
    for (const source of sources) readSource(source, into, cache);
  } finally {
    // Claims are checked once everything is read; when reading failed, those of what was read first, so that the
    // first error in document order is the one reported.
    checkClaims(into.reads, cache);
  }
  const files = new Set(sources.map((source) => source.file));
  for (const file of cache.files.keys()) if (!files.has(file)) cache.files.delete(file);
  const index = new WorkloadIndex({ groups: into.groups, pods: into.pods, entries: into.workloadEntries }, cache.identities);
  const serviceEntries = [...into.serviceEntries.map((entry) => index.resolveSelector(entry)), ...into.services.map((service) => index.serviceEntry(service))];
  return {
    file: sources.map((source) => source.file).join(", "),
    virtualServices: into.virtualServices,
    destinationRules: into.destinationRules,
    serviceEntries,
    envoyFilters: into.envoyFilters,
    peerAuthentications: into.peerAuthentications,
    raw: into.raw,
    warnings: into.warnings,
  };
}

/** Parses and validates one mesh config file (multi-document YAML); throws `XdsError("INVALID_CONFIG")`. */
export function parseMeshConfig(text: string, file: string): MeshConfig {
  return parseMeshSources([{ file, text }]);
}
