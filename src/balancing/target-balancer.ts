// The balancing of one target's router stream: a ClusterBalancer per leaf cluster of the latest snapshot, kept from
// one Router to the next (istiod pushes EDS on every pod change, and each push builds a new Router), and dropped
// (its outlier detection timer stopped) with the cluster when a snapshot no longer holds it, or with the whole
// stream when its last subscriber leaves (close()).
//
// Per snapshot it decides what each cluster name gives a call:
// - a cluster with a resource error (its own or its endpoints'): that error's code and reason;
// - a cluster that does not exist: CLUSTER_ABSENT;
// - an ORIGINAL_DST cluster (Istio's PassthroughCluster): UNSUPPORTED_CLUSTER, as a client has no original
//   destination to send to;
// - an aggregate cluster (gRFC A37): at each pick, the first of its leaf clusters with a usable endpoint (each with
//   its own policy, circuit breaker and ejections, as Envoy's aggregate clusters do);
// - any other: its ClusterBalancer, or NO_HEALTHY_ENDPOINT when no endpoint is usable.

import type { Observable } from "rxjs";
import { map, startWith, Subject } from "../rx.js";
import type { Logger } from "../logger.js";
import type { EndpointsModel } from "../resources/endpoints.js";
import type { RandomSource } from "../resources/match/route-match.js";
import type { ClusterPickers, ClusterPicking, EndpointPicker, PickedEndpoint, PickFailure } from "../routing/cluster-picking.js";
import { isPickFailure } from "../routing/cluster-picking.js";
import type { ClusterSnapshot } from "../routing/service-snapshot.js";
import type { BalancingStatus } from "./balancing-status.js";
import { ClusterBalancer, type ClusterBalancerOptions } from "./cluster-balancer.js";

/** Options of a TargetBalancer. */
export interface TargetBalancerOptions {
  /** The target, as `host:port` (for status and logs). */
  readonly target?: string;
  /** Where round robin starts, least request's and random's draws, enforcement chances; default Math.random. */
  readonly random?: RandomSource;
  /** The current time in ms since the epoch; default Date.now. */
  readonly now?: () => number;
  /** The cap on ring hash ring sizes (gRFC A42's local cap); default 4096. */
  readonly ringSizeCap?: number;
  /** Where ejections and returns are logged (at info); default nowhere. */
  readonly logger?: Logger;
}

/** The default cap on ring sizes, gRPC's. */
export const DEFAULT_RING_SIZE_CAP = 4096;

/** Endpoint picking for one target's Routers, its state carried from each snapshot to the next. */
export class TargetBalancer implements ClusterPicking {
  private balancers = new Map<string, ClusterBalancer>();
  private readonly options: ClusterBalancerOptions;
  private readonly target: string;
  private readonly changes = new Subject<void>();
  private closed = false;

  /** The target's balancing now, then after every change of endpoints or ejections; completes on close(). */
  readonly status$: Observable<BalancingStatus>;

  constructor(options: TargetBalancerOptions = {}) {
    this.target = options.target ?? "";
    const logger = options.logger;
    this.options = {
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      ringSizeCap: options.ringSizeCap ?? DEFAULT_RING_SIZE_CAP,
      log: (message) => logger?.info(`target ${JSON.stringify(this.target)}: ${message}`),
      changed: () => this.changes.next(),
    };
    this.status$ = this.changes.pipe(
      startWith(undefined),
      map(() => this.status()),
    );
  }

  /** The clusters whose balancing state is kept (the leaf clusters of the last snapshot that have endpoints). */
  get clusters(): readonly string[] {
    return [...this.balancers.keys()];
  }

  /** The pickers of a new snapshot's clusters: the balancers of its leaf clusters are kept (or made), the others dropped. */
  pickers(clusters: ReadonlyMap<string, ClusterSnapshot>): ClusterPickers {
    const previous = this.balancers;
    this.balancers = new Map();
    const leaves = new Map<string, EndpointPicker | PickFailure>();
    for (const entry of clusters.values()) {
      if (entry.cluster?.discovery.kind !== "AGGREGATE") leaves.set(entry.name, this.leaf(entry, previous));
    }
    for (const [name, balancer] of previous) if (this.balancers.get(name) !== balancer) balancer.close();
    const results = new Map(leaves);
    for (const entry of clusters.values()) {
      if (entry.cluster?.discovery.kind === "AGGREGATE") results.set(entry.name, aggregate(entry, entry.cluster.discovery.clusters, leaves));
    }
    if (!this.closed) this.changes.next();
    return (name) => results.get(name) ?? absent(name);
  }

  /** The balancing of every cluster with endpoints, now. */
  status(): BalancingStatus {
    return { target: this.target, clusters: [...this.balancers.values()].map((b) => b.status()) };
  }

  /** Stops every cluster's outlier detection and completes status$. Routers already built still pick. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const balancer of this.balancers.values()) balancer.close();
    this.changes.complete();
  }

  private leaf(entry: ClusterSnapshot, previous: ReadonlyMap<string, ClusterBalancer>): EndpointPicker | PickFailure {
    const failure = unusable(entry);
    if (failure !== undefined) return failure;
    const cluster = entry.cluster!;
    const discovery = cluster.discovery;
    if (discovery.kind === "ORIGINAL_DST") {
      return {
        code: "UNSUPPORTED_CLUSTER",
        message: `cluster ${JSON.stringify(entry.name)} is an ORIGINAL_DST cluster, which sends each connection to the address it was dialled to: a proxyless client has none to send to`,
      };
    }
    const endpoints: EndpointsModel | undefined = entry.endpoints ?? (discovery.kind === "STATIC" ? discovery.endpoints : undefined);
    if (endpoints === undefined) return noHealthyEndpoint(entry.name);
    const balancer = previous.get(entry.name) ?? new ClusterBalancer(entry.name, this.options);
    this.balancers.set(entry.name, balancer);
    return balancer.update(cluster, endpoints) ? balancer : noHealthyEndpoint(entry.name);
  }
}

/** An aggregate cluster's picker: at each pick, the first of its leaf clusters that has a usable endpoint. */
class AggregatePicker implements EndpointPicker {
  readonly hashed: boolean;

  constructor(
    private readonly children: readonly EndpointPicker[],
    private readonly none: PickFailure,
  ) {
    this.hashed = children.some((c) => c.hashed);
  }

  pick(hash: number): PickedEndpoint | PickFailure {
    for (const child of this.children) {
      const picked = child.pick(hash);
      // Only a child with no usable endpoint passes the call on; its circuit breaker drops it.
      if (!isPickFailure(picked) || picked.code !== "NO_HEALTHY_ENDPOINT") return picked;
    }
    return this.none;
  }
}

/** An aggregate cluster's picker over its leaf clusters that have endpoint pickers, in priority order. */
function aggregate(entry: ClusterSnapshot, declared: readonly string[], leaves: ReadonlyMap<string, EndpointPicker | PickFailure>): EndpointPicker | PickFailure {
  const failure = unusable(entry);
  if (failure !== undefined) return failure;
  const children = entry.children.length > 0 ? entry.children : declared;
  const pickers: EndpointPicker[] = [];
  for (const child of children) {
    const leaf = leaves.get(child);
    if (leaf !== undefined && !isPickFailure(leaf)) pickers.push(leaf);
  }
  const none: PickFailure = {
    code: "NO_HEALTHY_ENDPOINT",
    message: `aggregate cluster ${JSON.stringify(entry.name)} has no healthy endpoint in any of its clusters (${children.map((c) => JSON.stringify(c)).join(", ")})`,
  };
  return pickers.length === 0 ? none : new AggregatePicker(pickers, none);
}

/** Why a cluster entry cannot be used at all: its resource error, or its absence. */
function unusable(entry: ClusterSnapshot): PickFailure | undefined {
  if (entry.error !== undefined) return { code: entry.error.code, message: `cluster ${JSON.stringify(entry.name)} cannot be used: ${entry.error.message}` };
  if (entry.cluster === undefined) return absent(entry.name);
  return undefined;
}

function absent(name: string): PickFailure {
  return { code: "CLUSTER_ABSENT", message: `cluster ${JSON.stringify(name)} does not exist` };
}

function noHealthyEndpoint(name: string): PickFailure {
  return { code: "NO_HEALTHY_ENDPOINT", message: `cluster ${JSON.stringify(name)} has no healthy endpoint` };
}
