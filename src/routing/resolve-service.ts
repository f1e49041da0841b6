import type { Observable } from "rxjs";
import { asapScheduler, combineLatest, debounceTime, distinctUntilChanged, filter, map, of, shareReplay, startWith, switchMap } from "../rx.js";
import type { ResourceUpdate } from "../client/resource-update.js";
import type { ClusterModel } from "../resources/cluster.js";
import type { EndpointsModel } from "../resources/endpoints.js";
import type { HttpConnectionManagerEntry, ListenerModel } from "../resources/listener.js";
import type { NameTableModel } from "../resources/name-table.js";
import type { RouteConfigurationModel, VirtualHostModel } from "../resources/route-configuration.js";
import type { XdsError } from "../xds-error.js";
import { dnsEndpoints, type HostResolver } from "./dns-endpoints.js";
import { createServiceSnapshot, type ClusterSnapshot, type ServiceSnapshot } from "./service-snapshot.js";
import type { Target } from "./target.js";

/** The validated resource watches a resolution is built from. */
export interface ResourceWatchers {
  listener(name: string): Observable<ResourceUpdate<ListenerModel>>;
  routeConfiguration(name: string): Observable<ResourceUpdate<RouteConfigurationModel>>;
  cluster(name: string): Observable<ResourceUpdate<ClusterModel>>;
  endpoints(name: string): Observable<ResourceUpdate<EndpointsModel>>;
  nameTable(): Observable<ResourceUpdate<NameTableModel>>;
}

/** How listeners are named: `grpc` (istiod's gRPC generator: named as the target) or `sidecar` (`<clusterIP>_<port>` via NDS, else `0.0.0.0_<port>`). */
export type ListenerNaming = "grpc" | "sidecar";

/** What resolving needs besides the watches. */
export interface ResolveOptions {
  /** How the control plane names listeners. */
  readonly naming: ListenerNaming;
  /** Resolves LOGICAL_DNS / STRICT_DNS cluster hosts. */
  readonly resolver: HostResolver;
  /** How often DNS clusters are re-resolved, in ms. */
  readonly dnsRefreshMs: number;
}

/** Aggregate clusters nest at most this deep (gRFC A37). */
const maxAggregateDepth = 16;

interface RoutePart {
  readonly listenerName: string;
  readonly listener: ListenerModel | undefined;
  readonly listenerError: XdsError | undefined;
  readonly routeConfigurationName: string | undefined;
  readonly routeConfiguration: RouteConfigurationModel | undefined;
  readonly routeConfigurationError: XdsError | undefined;
  readonly virtualHost: VirtualHostModel | undefined;
}

/** A listener found for the target: its name, and its model or resource error (both undefined when absent). */
interface FoundListener {
  readonly name: string;
  readonly listener: ListenerModel | undefined;
  readonly error: XdsError | undefined;
}

/**
 * The ServiceSnapshot stream of one target: listener → route configuration → clusters → endpoints,
 * re-emitted whenever any part changes, only when complete: every referenced cluster known, whether
 * present, absent or in error (a resource error is a value, gRFC A88, so nothing waits for a value that
 * will not come). It watches only the clusters the chosen virtual host references, dropping the others.
 */
export function resolveService(watchers: ResourceWatchers, target: Target, options: ResolveOptions): Observable<ServiceSnapshot> {
  const routes$ = listenerNames(watchers, target, options.naming).pipe(
    switchMap((names) => bestListener(watchers, names)),
    switchMap((found) => routePart(watchers, target, found)),
    shareReplay({ bufferSize: 1, refCount: true }),
  );
  const clusters$ = routes$.pipe(
    map(clusterKey),
    distinctUntilChanged(),
    switchMap((key) => {
      const names = key === "" ? [] : key.split("\n");
      if (names.length === 0) return of({ key, clusters: new Map<string, ClusterSnapshot>() });
      return combineLatest(names.map((name) => clusterTree(watchers, name, options, 0))).pipe(
        map((trees) => ({ key, clusters: new Map(trees.flat().map((c) => [c.name, c] as const)) })),
      );
    }),
  );
  return combineLatest([routes$, clusters$]).pipe(
    // Right after a route change the clusters may still be the old virtual host's: wait for the new ones.
    filter(([part, { key }]) => key === clusterKey(part)),
    map(([part, { clusters }]): ServiceSnapshot => createServiceSnapshot({ target: target.authority, ...part, clusters })),
  );
}

/** The clusters a route part references (HTTP routes and inline Thrift routes), sorted and joined: equal keys mean the same watches. */
function clusterKey(part: RoutePart): string {
  const names = new Set(part.virtualHost?.clusterNames);
  for (const proxy of part.listener?.thriftProxies ?? []) {
    if (proxy.routes.kind === "inline") for (const name of proxy.routes.routeConfig.clusterNames) names.add(name);
  }
  return [...names].sort().join("\n");
}

/**
 * The listener names to try, best first. gRPC naming: the target itself. Sidecar naming: `<clusterIP>_<port>`
 * when the NDS name table knows the host (TCP and auto-detected ports bind the VIP), then `0.0.0.0_<port>`
 * (HTTP ports bind the wildcard address).
 */
function listenerNames(watchers: ResourceWatchers, target: Target, naming: ListenerNaming): Observable<readonly string[]> {
  if (naming === "grpc") return of([target.authority]);
  const wildcard = `0.0.0.0_${target.port}`;
  return watchers.nameTable().pipe(
    map((update) => update.resource?.lookup(target.host)?.ips[0]),
    distinctUntilChanged(),
    map((ip) => (ip === undefined ? [wildcard] : [`${ip}_${target.port}`, wildcard])),
  );
}

/**
 * The best listener of `names` (best first), all watched at once: the first that holds a listener or a resource
 * error (an error stops the search: the listener meant for the target is broken). An earlier name the control
 * plane has not answered yet does not hold a later one back: istiod answers a sidecar's LDS with the whole set, so
 * it almost surely does not exist (omission cannot say so for a name never received), and it takes over if it
 * appears. When every name is absent, the last one, absent; while nothing is known, nothing.
 */
function bestListener(watchers: ResourceWatchers, names: readonly string[]): Observable<FoundListener> {
  if (names.length === 1) {
    const name = names[0]!;
    return watchers.listener(name).pipe(map((update) => ({ name, listener: update.resource, error: update.error })));
  }
  return combineLatest(names.map((name) => watchers.listener(name).pipe(startWith(undefined)))).pipe(
    // One response updates several names one after the other: decide once it is applied whole.
    debounceTime(0, asapScheduler),
    map((updates) => chooseListener(names, updates)),
    filter((found): found is FoundListener => found !== undefined),
    distinctUntilChanged((a, b) => a.name === b.name && a.listener === b.listener && a.error === b.error),
  );
}

function chooseListener(names: readonly string[], updates: readonly (ResourceUpdate<ListenerModel> | undefined)[]): FoundListener | undefined {
  const held = updates.findIndex((u) => u !== undefined && (u.resource !== undefined || u.error !== undefined));
  if (held >= 0) return { name: names[held]!, listener: updates[held]!.resource, error: updates[held]!.error };
  if (updates.some((u) => u === undefined)) return undefined;
  return { name: names.at(-1)!, listener: undefined, error: undefined };
}

function routePart(watchers: ResourceWatchers, target: Target, found: FoundListener): Observable<RoutePart> {
  const listener = found.listener;
  const none: RoutePart = {
    listenerName: found.name,
    listener,
    listenerError: found.error,
    routeConfigurationName: undefined,
    routeConfiguration: undefined,
    routeConfigurationError: undefined,
    virtualHost: undefined,
  };
  const hcm = listener && chooseConnectionManager(listener, target.port);
  if (!hcm) return of(none);
  if (hcm.routes.kind === "inline") {
    const routeConfiguration = hcm.routes.routeConfig;
    return of({ ...none, routeConfiguration, virtualHost: routeConfiguration.selectVirtualHost(target.authority) });
  }
  const routeConfigurationName = hcm.routes.routeConfigName;
  return watchers.routeConfiguration(routeConfigurationName).pipe(
    map((update) => ({
      ...none,
      routeConfigurationName,
      routeConfiguration: update.resource,
      routeConfigurationError: update.error,
      virtualHost: update.resource?.selectVirtualHost(target.authority),
    })),
  );
}

/** The HttpConnectionManager serving `port`: the api_listener's, else the one whose filter chain matches the port, else the first. */
function chooseConnectionManager(listener: ListenerModel, port: number): HttpConnectionManagerEntry | undefined {
  const all = listener.httpConnectionManagers;
  return all.find((hcm) => hcm.destinationPort === port) ?? all.find((hcm) => hcm.destinationPort === undefined) ?? all[0];
}

function clusterTree(watchers: ResourceWatchers, name: string, options: ResolveOptions, depth: number): Observable<ClusterSnapshot[]> {
  return watchers.cluster(name).pipe(
    switchMap((update): Observable<ClusterSnapshot[]> => {
      const cluster = update.resource;
      const leaf = (endpoints: EndpointsModel | undefined, error = update.error): ClusterSnapshot[] => [{ name, cluster, endpoints, error, children: [] }];
      if (!cluster) return of(leaf(undefined));
      const discovery = cluster.discovery;
      switch (discovery.kind) {
        case "EDS":
          return watchers.endpoints(discovery.serviceName).pipe(map((e) => leaf(e.resource, e.error)));
        case "STATIC":
          return of(leaf(discovery.endpoints));
        case "ORIGINAL_DST":
          return of(leaf(undefined));
        case "LOGICAL_DNS":
        case "STRICT_DNS":
          return dnsEndpoints(name, discovery.host, discovery.port, discovery.kind === "STRICT_DNS", options.resolver, options.dnsRefreshMs).pipe(map((endpoints) => leaf(endpoints)));
        case "AGGREGATE": {
          if (depth >= maxAggregateDepth) return of(leaf(undefined));
          const self: ClusterSnapshot = { name, cluster, endpoints: undefined, error: undefined, children: discovery.clusters };
          return combineLatest(discovery.clusters.map((child) => clusterTree(watchers, child, options, depth + 1))).pipe(
            map((children) => [self, ...children.flat()]),
          );
        }
      }
    }),
  );
}
