import type { Observable } from "rxjs";
import { defer, distinctUntilChanged, filter, finalize, map, ReplaySubject, share, switchMap, tap } from "./rx.js";
import type { BalancingStatus } from "./balancing/balancing-status.js";
import { DEFAULT_RING_SIZE_CAP, TargetBalancer } from "./balancing/target-balancer.js";
import type { CertificateFilesConfig } from "./bootstrap/credentials-config.js";
import { AdsClient } from "./client/ads-client.js";
import type { ResourceUpdate } from "./client/resource-update.js";
import type { XdsClientOptions } from "./client/xds-client-options.js";
import type { ClusterModel } from "./resources/cluster.js";
import type { EndpointsModel } from "./resources/endpoints.js";
import type { ListenerModel } from "./resources/listener.js";
import type { NameTableModel } from "./resources/name-table.js";
import type { RouteConfigurationModel } from "./resources/route-configuration.js";
import { validatedResourceTypes, type ValidatedResourceTypes } from "./resources/validated-resource-types.js";
import { CallInstruments } from "./routing/call-metrics.js";
import { platformResolver, type HostResolver } from "./routing/dns-endpoints.js";
import { inboundListenerNames, resolveInbound, type InboundAddress, type InboundSnapshot } from "./routing/inbound-listener.js";
import { resolveService, type ListenerNaming } from "./routing/resolve-service.js";
import { createRouter, type Router } from "./routing/router.js";
import type { ServiceSnapshot } from "./routing/service-snapshot.js";
import { parseTarget } from "./routing/target.js";
import { CertificateFiles } from "./transport/certificate-files.js";
import { XdsError } from "./xds-error.js";

/** XdsClient's options: the core's, plus how targets are named and resolved. */
export interface XdsOptions extends XdsClientOptions {
  /**
   * How the control plane names listeners: `grpc` (istiod with GENERATOR=grpc: a listener per target) or
   * `sidecar` (Envoy listeners `<clusterIP>_<port>` found through NDS). Default: `grpc` when the node
   * metadata has GENERATOR=grpc, else `sidecar`.
   */
  readonly listenerNaming?: ListenerNaming;
  /** The namespace short targets are expanded in. Default: node metadata NAMESPACE, else "default". */
  readonly namespace?: string;
  /** The cluster's DNS domain. Default `cluster.local`. */
  readonly clusterDomain?: string;
  /** Resolves the hosts of DNS clusters. Default: the platform's DNS. */
  readonly hostResolver?: HostResolver;
  /** How often DNS clusters are re-resolved. Default 30000 ms. */
  readonly dnsRefreshMs?: number;
  /**
   * The largest program, in re2js instructions, that a control-plane regex (`safe_regex` of routes, headers, query
   * parameters and hash policies) may compile to; a resource with a larger one is NACKed naming the field, the size and
   * the limit, as Envoy does with its runtime key `re2.max_program_size.error_level`. Default 100, as Envoy's.
   */
  readonly maxRegexProgramSize?: number;
  /**
   * Certificate provider instances by name (the bootstrap's `certificate_providers`, gRFC A29): the files that calls to
   * TLS clusters use, e.g. Istio's `default` (`/var/lib/istio/data/{cert-chain,key,root-cert}.pem`). A cluster naming
   * an instance not here is NACKed. Default: none.
   */
  readonly certificateProviders?: Readonly<Record<string, CertificateFilesConfig>>;
  /**
   * The largest ring a RING_HASH cluster may build (gRFC A42's local cap): minimum_ring_size and maximum_ring_size
   * above it are taken as it, so that a control plane cannot make the client build rings of millions of entries.
   * Default 4096, as gRPC's; at most 8,388,608.
   */
  readonly ringSizeCap?: number;
  /**
   * How the control plane names a server's inbound listener with GENERATOR=grpc (gRFC A36; the bootstrap's
   * `server_listener_resource_name_template`, `%s` standing for `<host>:<port>`). Default
   * `grpc/server?xds.resource.listening_address=%s`.
   */
  readonly serverListenerResourceNameTemplate?: string;
}

/** The xDS client: validated resources, and per-target service snapshots and routers derived from them. */
export class XdsClient extends AdsClient {
  /**
   * This client's own IP address, the first of node metadata INSTANCE_IPS (as Istio's injector and init() set it);
   * undefined when unknown. The integrations give it to each call as its source IP, so that a `source_ip` hash
   * policy (Istio's useSourceIp) keeps this client on one endpoint, as a sidecar hashing the pod's address would.
   */
  readonly sourceIp: string | undefined;
  private readonly naming: ListenerNaming;
  private readonly namespace: string;
  private readonly domain: string;
  private readonly resolver: HostResolver;
  private readonly dnsRefreshMs: number;
  private readonly snapshots = new Map<string, Observable<ServiceSnapshot>>();
  private readonly routers = new Map<string, Observable<Router>>();
  /** The balancing state of each target's router stream, while it has subscribers. */
  private readonly balancers = new Map<string, TargetBalancer>();
  private readonly ringSizeCap: number;
  private readonly validated: ValidatedResourceTypes;
  private readonly providers: Readonly<Record<string, CertificateFilesConfig>>;
  private readonly certificateFiles = new Map<string, CertificateFiles>();
  /** Per-call metric instruments; undefined when nothing is recorded. */
  private readonly callInstruments: CallInstruments | undefined;
  private readonly inbounds = new Map<string, Observable<InboundSnapshot>>();
  private readonly serverListenerTemplate: string | undefined;

  constructor(options: XdsOptions) {
    const types = validatedResourceTypes(options);
    super(options, Object.values(types));
    this.validated = types;
    const metadata = options.node.metadata ?? {};
    this.naming = options.listenerNaming ?? (metadata["GENERATOR"] === "grpc" ? "grpc" : "sidecar");
    this.namespace = options.namespace ?? (typeof metadata["NAMESPACE"] === "string" ? metadata["NAMESPACE"] : "default");
    this.domain = options.clusterDomain ?? "cluster.local";
    this.resolver = options.hostResolver ?? platformResolver;
    this.dnsRefreshMs = options.dnsRefreshMs ?? 30000;
    this.providers = options.certificateProviders ?? {};
    this.serverListenerTemplate = options.serverListenerResourceNameTemplate;
    const ips = metadata["INSTANCE_IPS"];
    const first = typeof ips === "string" ? ips.split(",")[0]!.trim() : "";
    this.sourceIp = first === "" ? undefined : first;
    const cap = options.ringSizeCap ?? DEFAULT_RING_SIZE_CAP;
    if (!Number.isInteger(cap) || cap < 1 || cap > 8_388_608) {
      throw new XdsError("INVALID_ARGUMENT", `ringSizeCap: expected an integer in 1..8388608, got ${String(options.ringSizeCap)}`);
    }
    this.ringSizeCap = cap;
    this.callInstruments = this.meter === undefined ? undefined : new CallInstruments(this.meter);
  }

  /**
   * The files of certificate provider instance `name`, read lazily and again after their refresh interval (the
   * integrations take TLS clusters' certificates from here). Throws INVALID_ARGUMENT for an instance not configured.
   */
  certificates(name: string): CertificateFiles {
    let files = this.certificateFiles.get(name);
    if (files === undefined) {
      const config = Object.hasOwn(this.providers, name) ? this.providers[name] : undefined;
      if (config === undefined) throw new XdsError("INVALID_ARGUMENT", `certificates: no certificate provider instance ${JSON.stringify(name)} is configured`);
      files = new CertificateFiles(config, `certificate provider ${JSON.stringify(name)}`);
      this.certificateFiles.set(name, files);
    }
    return files;
  }

  /** Watches the Listener `name`, validated. */
  listener(name: string): Observable<ResourceUpdate<ListenerModel>> {
    return this.watch(this.validated.listener, name);
  }

  /** Watches the RouteConfiguration `name`, validated and compiled. */
  routeConfiguration(name: string): Observable<ResourceUpdate<RouteConfigurationModel>> {
    return this.watch(this.validated.routeConfiguration, name);
  }

  /** Watches the Cluster `name`, validated. */
  cluster(name: string): Observable<ResourceUpdate<ClusterModel>> {
    return this.watch(this.validated.cluster, name);
  }

  /** Watches the ClusterLoadAssignment of `name` (an EDS service name), validated. */
  endpoints(name: string): Observable<ResourceUpdate<EndpointsModel>> {
    return this.watch(this.validated.endpoints, name);
  }

  /** Watches Istio's NDS name table. */
  nameTable(): Observable<ResourceUpdate<NameTableModel>> {
    return this.watch(this.validated.nameTable, "");
  }

  /**
   * The ServiceSnapshot stream of `target` (`svc.ns.svc.cluster.local:port`, `svc:port`, `svc.ns:port`):
   * a new immutable snapshot whenever the listener, route configuration, clusters or endpoints change.
   * Shared per target; late subscribers get the latest snapshot at once. Throws on a malformed target.
   */
  resolve(target: string): Observable<ServiceSnapshot> {
    const parsed = parseTarget(target, { namespace: this.namespace, domain: this.domain });
    return sharedWhileSubscribed(this.snapshots, parsed.authority, () =>
      resolveService(this, parsed, { naming: this.naming, resolver: this.resolver, dnsRefreshMs: this.dnsRefreshMs }),
    );
  }

  /**
   * The Router stream of `target`: `router.route({ path, headers })` picks a route, cluster and endpoint synchronously;
   * the decision's `done(status)` reports how the call ended. Balancing state (round-robin positions, calls in
   * flight, outlier ejections) is carried from each Router to the next, and dropped when the stream's last
   * subscriber leaves.
   */
  router(target: string): Observable<Router> {
    const key = parseTarget(target, { namespace: this.namespace, domain: this.domain }).authority;
    return sharedWhileSubscribed(this.routers, key, () =>
      defer(() => {
        const picking = new TargetBalancer({ target: key, logger: this.log, ringSizeCap: this.ringSizeCap });
        this.balancers.set(key, picking);
        const metrics = this.callInstruments?.forTarget(key);
        return this.resolve(target).pipe(
          map((snapshot) => createRouter(snapshot, metrics === undefined ? { picking } : { picking, metrics })),
          finalize(() => {
            picking.close();
            if (this.balancers.get(key) === picking) this.balancers.delete(key);
          }),
        );
      }),
    );
  }

  /**
   * The inbound listener of a server of this process on `address` (`{ port, host? }`, host default `0.0.0.0`): Istio's
   * `virtualInbound` (else an INBOUND `0.0.0.0_<port>`) in sidecar mode, gRFC A36's name with GENERATOR=grpc, and in it
   * the HttpConnectionManager of the filter chain for the port. Shared per address; late subscribers get the latest.
   * Throws INVALID_ARGUMENT for a port outside 1..65535.
   */
  inbound(address: InboundAddress): Observable<InboundSnapshot> {
    if (!Number.isInteger(address.port) || address.port < 1 || address.port > 65535) {
      throw new XdsError("INVALID_ARGUMENT", `inbound: port: expected an integer in 1..65535, got ${String(address.port)}`);
    }
    const options = { naming: this.naming, serverListenerTemplate: this.serverListenerTemplate };
    const key = inboundListenerNames(address, options).join("\n") + `\n${address.port}`;
    return sharedWhileSubscribed(this.inbounds, key, () =>
      resolveInbound((name) => this.listener(name), address, options).pipe(tap((snapshot) => this.warnUnappliedServerFilters(snapshot))),
    );
  }

  /** Warns that a server's inbound filter chain holds RBAC filters, which rxds does not apply on servers yet. */
  private warnUnappliedServerFilters(snapshot: InboundSnapshot): void {
    for (const filter of snapshot.connectionManager?.httpFilters ?? []) {
      if (filter.typeName === RBAC_TYPE && !filter.disabled) {
        this.log.warn(`inbound listener ${JSON.stringify(snapshot.listenerName)}: HTTP filter ${JSON.stringify(filter.name)} (RBAC) is not applied: rxds servers apply only local_ratelimit`);
      }
    }
  }

  /**
   * The balancing of `target`'s router stream (which it subscribes to): each cluster's policy and circuit breaker,
   * each endpoint's calls in flight and outlier ejection (why, until when). Emits at once and whenever an endpoint
   * set changes or an endpoint is ejected or comes back.
   */
  balancing(target: string): Observable<BalancingStatus> {
    const key = parseTarget(target, { namespace: this.namespace, domain: this.domain }).authority;
    return this.router(target).pipe(
      map(() => this.balancers.get(key)),
      filter((balancer): balancer is TargetBalancer => balancer !== undefined),
      distinctUntilChanged(),
      switchMap((balancer) => balancer.status$),
    );
  }
}

/** The RBAC HTTP filter's config type (Istio's AuthorizationPolicy). */
const RBAC_TYPE = "envoy.extensions.filters.http.rbac.v3.RBAC";

/**
 * The stream of `key` in `cache`, made by `make` on first use: shared, replaying its latest value, and held in the
 * cache only while it has subscribers (the entry goes with the last one, so targets routed once do not accumulate);
 * subscribing to it again puts it back.
 */
function sharedWhileSubscribed<T>(cache: Map<string, Observable<T>>, key: string, make: () => Observable<T>): Observable<T> {
  const existing = cache.get(key);
  if (existing !== undefined) return existing;
  const shared = make().pipe(
    finalize(() => {
      if (cache.get(key) === entry) cache.delete(key);
    }),
    replayLatest(),
  );
  const entry: Observable<T> = defer(() => {
    if (!cache.has(key)) cache.set(key, entry);
    return shared;
  });
  cache.set(key, entry);
  return entry;
}

/** Shares one subscription among subscribers, replaying the latest value; torn down after the last leaves. */
function replayLatest<T>() {
  return share<T>({ connector: () => new ReplaySubject<T>(1), resetOnError: true, resetOnComplete: true, resetOnRefCountZero: true });
}
