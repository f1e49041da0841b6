import type { Message } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import type { Filter } from "../../../gen/envoy/config/listener/v3/listener_components_pb.js";
import type { HttpFilter } from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { GrpcStatusName } from "../../resources/grpc-status.js";
import type { ProtoDuration } from "./istio-duration.js";

/** A string condition as Istio writes it: exactly one of exact, prefix or regex (RE2, full match). */
export interface StringMatch {
  readonly kind: "exact" | "prefix" | "regex";
  readonly value: string;
}

/** Where a resource came from, and its Kubernetes-style identity. */
export interface ResourceMeta {
  readonly name: string;
  /** The resource's namespace; "default" when metadata.namespace is absent. */
  readonly namespace: string;
  /** The resource's document in its file, counting from 1. */
  readonly document: number;
  /** The file and document, for messages: `mesh.yaml: document 3 (VirtualService reviews)`. */
  readonly place: string;
  /** The namespaces it is visible to (`exportTo`: `*`, `.` or names); absent means every namespace. */
  readonly exportTo?: readonly string[];
}

/** One `VirtualService.spec.http[].match[]` entry (the subset of Istio's fields rxds supports). */
export interface HttpMatch {
  readonly name?: string;
  readonly uri?: StringMatch;
  /** Header conditions in file order (translation sorts them by name, as istiod does). */
  readonly headers: readonly { readonly name: string; readonly match: StringMatch }[];
  readonly ignoreUriCase: boolean;
}

/** One weighted destination of a route; `host` is already expanded to a FQDN. */
export interface RouteDestination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: number;
  /** The weight as written; 0 when absent. */
  readonly weight: number;
}

/** A route's retry policy. */
export interface HttpRetry {
  readonly attempts: number;
  readonly perTryTimeout?: ProtoDuration;
  readonly retryOn?: string;
  /** The base interval of the backoff between retries. */
  readonly backoff?: ProtoDuration;
  /** true: retries avoid the hosts already tried (istiod adds the previous_hosts predicate). */
  readonly retryIgnorePreviousHosts?: boolean;
}

/** A route's fault injection: a fixed delay and an abort, each for a share of the calls. */
export interface HttpFault {
  readonly delay?: {
    readonly fixedDelay: ProtoDuration;
    /** `percentage.value`, 0..100 (a double); undefined when unset. */
    readonly percentage?: number;
    /** The deprecated integer `percent`, used when `percentage` is unset. */
    readonly percent?: number;
  };
  readonly abort?: {
    /** Exactly one of httpStatus and grpcStatus is set. */
    readonly httpStatus?: number;
    readonly grpcStatus?: GrpcStatusName;
    /** `percentage.value`, 0..100; undefined when unset. */
    readonly percentage?: number;
  };
}

/** One `VirtualService.spec.http[]` entry. */
export interface HttpRoute {
  readonly name?: string;
  /** Empty: the entry matches everything (a catch-all). */
  readonly match: readonly HttpMatch[];
  readonly route: readonly RouteDestination[];
  readonly timeout?: ProtoDuration;
  readonly retries?: HttpRetry;
  readonly fault?: HttpFault;
}

/** An Istio VirtualService; `hosts` are FQDNs. */
export interface VirtualService extends ResourceMeta {
  readonly hosts: readonly string[];
  readonly http: readonly HttpRoute[];
}

/** The key a consistent hash uses. */
export type HashKey =
  | { readonly kind: "header"; readonly name: string }
  | { readonly kind: "cookie"; readonly name: string; readonly path?: string; readonly ttl?: ProtoDuration }
  | { readonly kind: "sourceIp" }
  | { readonly kind: "queryParameter"; readonly name: string };

/** `loadBalancer.consistentHash`: the key, and the ring (ring hash, the default) or Maglev table it goes through. */
export interface ConsistentHashSettings {
  readonly key: HashKey;
  /** `maglev` when `consistentHash.maglev` is set, else ring hash. */
  readonly algorithm: "ringHash" | "maglev";
  /** `ringHash.minimumRingSize` (or the deprecated `minimumRingSize`); 1024 when unset, as istiod sets it. */
  readonly minimumRingSize?: number;
  /** `maglev.tableSize`; Envoy's default (65537) when unset. */
  readonly tableSize?: number;
}

/** `loadBalancer.localityLbSetting`: how traffic is spread over localities, seen from the client's own. */
export interface LocalityLbSettings {
  /** false turns locality load balancing off. */
  readonly enabled?: boolean;
  /** For clients in `from` (`region/zone/subzone`, `*` for any part), the share of traffic each locality `to` gets. */
  readonly distribute?: readonly { readonly from: string; readonly to: Readonly<Record<string, number>> }[];
  /** For clients in region `from`, the region failover goes to after its own. */
  readonly failover?: readonly { readonly from: string; readonly to: string }[];
}

/** `loadBalancer` of a traffic policy. */
export interface LoadBalancerSettings {
  readonly simple?: "UNSPECIFIED" | "ROUND_ROBIN" | "LEAST_REQUEST" | "LEAST_CONN" | "RANDOM";
  readonly consistentHash?: ConsistentHashSettings;
  readonly localityLbSetting?: LocalityLbSettings;
}

/** `outlierDetection` of a traffic policy. */
export interface OutlierDetectionSettings {
  readonly consecutive5xxErrors?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly interval?: ProtoDuration;
  readonly baseEjectionTime?: ProtoDuration;
  readonly maxEjectionPercent?: number;
  readonly minHealthPercent?: number;
}

/** `connectionPool` of a traffic policy. */
export interface ConnectionPoolSettings {
  readonly tcp?: { readonly maxConnections?: number; readonly connectTimeout?: ProtoDuration };
  readonly http?: {
    readonly http1MaxPendingRequests?: number;
    readonly http2MaxRequests?: number;
    readonly maxRequestsPerConnection?: number;
    readonly maxRetries?: number;
  };
}

/** `tls` of a traffic policy: how clients secure connections to the service (rxds applies ISTIO_MUTUAL and DISABLE). */
export interface ClientTlsSettings {
  readonly mode: "DISABLE" | "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";
}

/** The settings a `portLevelSettings` entry gives one port (replacing the policy's own, not merged with them). */
export interface PortTrafficPolicy {
  readonly port: number;
  readonly loadBalancer?: LoadBalancerSettings;
  readonly outlierDetection?: OutlierDetectionSettings;
  readonly connectionPool?: ConnectionPoolSettings;
  readonly tls?: ClientTlsSettings;
}

/** A DestinationRule traffic policy (top level or per subset). */
export interface TrafficPolicy {
  readonly loadBalancer?: LoadBalancerSettings;
  readonly outlierDetection?: OutlierDetectionSettings;
  readonly connectionPool?: ConnectionPoolSettings;
  readonly tls?: ClientTlsSettings;
  /** Per-port overrides. */
  readonly portLevelSettings?: readonly PortTrafficPolicy[];
}

/** A named group of endpoints selected by labels. */
export interface Subset {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly trafficPolicy?: TrafficPolicy;
}

/** An Istio DestinationRule; `host` is a FQDN. */
export interface DestinationRule extends ResourceMeta {
  readonly host: string;
  readonly trafficPolicy?: TrafficPolicy;
  readonly subsets: readonly Subset[];
}

/** A port a service listens on. */
export interface ServicePort {
  readonly number: number;
  readonly name: string;
  /** Upper case (HTTP, HTTP2, GRPC, TCP, …); undefined means sniffed, which counts as HTTP. */
  readonly protocol?: string;
  readonly targetPort?: number;
}

/** One instance of a service, as a ServiceEntry endpoint. */
export interface WorkloadEndpoint {
  readonly address: string;
  /** Port name → the port this instance listens on for it. */
  readonly ports: Readonly<Record<string, number>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly weight?: number;
  /** The instance's Kubernetes service account; its SPIFFE identity is a SAN clients accept (ISTIO_MUTUAL). */
  readonly serviceAccount?: string;
  /** `region/zone/subzone` (parts may be missing); "" when unset. */
  readonly locality?: string;
}

/** An Istio ServiceEntry, or a Kubernetes Service read as istiod reads it: the services and their instances. */
export interface ServiceEntry extends ResourceMeta {
  /** The kind of the document that declared it. */
  readonly declaredBy: "ServiceEntry" | "Service";
  /** FQDNs (a name without a dot is expanded with the namespace, as for a Kubernetes Service). */
  readonly hosts: readonly string[];
  /** Virtual IPs (`spec.addresses`). */
  readonly addresses: readonly string[];
  readonly ports: readonly ServicePort[];
  readonly endpoints: readonly WorkloadEndpoint[];
  readonly resolution: "NONE" | "STATIC" | "DNS" | "DNS_ROUND_ROBIN";
  /** SANs the service's certificates carry (`spec.subjectAltNames`), accepted by clients with ISTIO_MUTUAL. */
  readonly subjectAltNames: readonly string[];
  /** Labels selecting WorkloadEntries and Pods of its namespace as its instances (instead of `endpoints`). */
  readonly workloadSelector?: Readonly<Record<string, string>>;
}

/** An Istio WorkloadEntry: one instance that ServiceEntries and Services select by its labels. */
export interface WorkloadEntry extends ResourceMeta, WorkloadEndpoint {}

/** An Envoy v3 resource written directly in proto3 JSON (`@type: …`). */
export interface RawXdsResource {
  readonly typeUrl: string;
  readonly name: string;
  readonly message: Message;
  /** The message packed, as served. */
  readonly resource: Any;
  readonly document: number;
  /** The file and document, for messages. */
  readonly place: string;
}

/** `match.listener` of an EnvoyFilter patch: which listeners, filter chains and filters it applies to (unset: any). */
export interface EnvoyFilterListenerMatch {
  readonly name?: string;
  /** The listener's port; for `virtualInbound`, its filter chains' destination port. */
  readonly portNumber?: number;
  readonly filterChain?: {
    readonly name?: string;
    readonly sni?: string;
    readonly transportProtocol?: string;
    /** Comma-separated: the chain must match all. */
    readonly applicationProtocols?: string;
    readonly destinationPort?: number;
    /** The network filter, by name, and within an HttpConnectionManager the HTTP filter (`subFilter.name`). */
    readonly filter?: { readonly name: string; readonly subFilter?: string };
  };
}

/** The filter-list operations rxds serve applies. */
export type EnvoyFilterOperation = "ADD" | "REMOVE" | "INSERT_BEFORE" | "INSERT_AFTER" | "INSERT_FIRST" | "REPLACE";

/** Which listeners of a sidecar a patch applies to: any, the inbound ones (`virtualInbound`) or the outbound ones. */
export type EnvoyFilterContext = "ANY" | "SIDECAR_INBOUND" | "SIDECAR_OUTBOUND";

/** One `configPatches[]` entry that rxds serve applies: a network or HTTP filter added, inserted, replaced or removed. */
export type EnvoyFilterPatch = {
  readonly context: EnvoyFilterContext;
  readonly listener?: EnvoyFilterListenerMatch;
  readonly operation: EnvoyFilterOperation;
} & (
  | { readonly applyTo: "NETWORK_FILTER"; /** Undefined for REMOVE. */ readonly value?: Filter }
  | { readonly applyTo: "HTTP_FILTER"; /** Undefined for REMOVE. */ readonly value?: HttpFilter }
);

/** An Istio EnvoyFilter, with the patches rxds serve applies (the others were warned about when read). */
export interface EnvoyFilter extends ResourceMeta {
  /** `workloadSelector.labels`: the workloads it applies to; absent: every workload of its namespace. */
  readonly workloadSelector?: Readonly<Record<string, string>>;
  /** `priority`: lower applies first; 0 when unset. */
  readonly priority: number;
  readonly patches: readonly EnvoyFilterPatch[];
}

/** A PeerAuthentication's mTLS mode; UNSET inherits the mode of the policy above it (mesh: PERMISSIVE). */
export type MtlsMode = "UNSET" | "DISABLE" | "PERMISSIVE" | "STRICT";

/** An Istio PeerAuthentication (`security.istio.io`): the mTLS its workloads require of their callers. */
export interface PeerAuthentication extends ResourceMeta {
  /** `selector.matchLabels`: the workloads it applies to; absent: every workload of its namespace (of the mesh in istio-system). */
  readonly selector?: Readonly<Record<string, string>>;
  /** `mtls.mode`; UNSET when absent. */
  readonly mode: MtlsMode;
  /** `portLevelMtls`: the mode of each port (the workload's port), for a policy with a selector only. */
  readonly portModes: ReadonlyMap<number, MtlsMode>;
}

/** Everything the mesh config sources declare, validated. */
export interface MeshConfig {
  /** The sources, as named to the parser, joined with ", ". */
  readonly file: string;
  readonly virtualServices: readonly VirtualService[];
  readonly destinationRules: readonly DestinationRule[];
  readonly serviceEntries: readonly ServiceEntry[];
  /** In the order the documents declare them. */
  readonly envoyFilters: readonly EnvoyFilter[];
  /** In the order the documents declare them (the first of a kind and scope wins, as istiod's oldest does). */
  readonly peerAuthentications: readonly PeerAuthentication[];
  readonly raw: readonly RawXdsResource[];
  /** One line per document with something accepted but not served (fields, kinds), naming the file and document. */
  readonly warnings: readonly string[];
}
