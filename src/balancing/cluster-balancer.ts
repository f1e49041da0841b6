// The balancer of one leaf cluster. It keeps the state of every endpoint (keyed by address and port) and locality
// (keyed by priority and name) from one endpoint set to the next, and turns the current set, the cluster's policy and
// the outlier ejections into the structure picks run on; it is also the EndpointPicker Routers hold, so a new
// ejection changes picks at once without a new Router. Semantics:
//
// - Priorities share the traffic by health with the overprovisioning factor (priority-load.ts); an endpoint counts
//   when it is HEALTHY or UNKNOWN (gRFC A27) and not ejected. Picks choose a priority by its load (by the request
//   hash when the policy hashes, so that a key stays put), then an endpoint of it (priority-picker.ts).
// - A locality of weight 0 takes no traffic (A27). When no locality of a priority has a weight (a control plane
//   that leaves it unset), the localities are weighted by the sum of their usable endpoints' weights instead, so
//   the priority acts as one pool.
// - A fresh balancer starts round robin at a random point, so that a fleet of clients does not all begin with the
//   same endpoint; after that, an update goes on where the last endpoint set left off.
// - Circuit breaking (gRFC A32): a pick while max_requests calls of the cluster are in flight fails with
//   CIRCUIT_BREAKER_OPEN; each pick counts until its release.
// - Outlier detection (outlier-detector.ts) counts each released call; its interval sweep runs on a timer that the
//   balancer holds while the cluster has outlier_detection, and close() stops.
//
// Building is O(n) in endpoints (O(ring or table size) for ring hash and Maglev); a pick allocates nothing.

import type { ClusterModel } from "../resources/cluster.js";
import type { EndpointModel, EndpointsModel, LocalityModel } from "../resources/endpoints.js";
import type { RandomSource } from "../resources/match/route-match.js";
import type { EndpointPicker, PickedEndpoint, PickFailure } from "../routing/cluster-picking.js";
import { BalancingState, EndpointState, type EndpointOwner } from "./balancing-state.js";
import type { ClusterBalancingStatus, EndpointBalancingStatus } from "./balancing-status.js";
import type { LocalityPicker } from "./locality-picker.js";
import { OutlierDetector } from "./outlier-detector.js";
import { priorityLoads } from "./priority-load.js";
import { createPriorityPicker, type HashPicker, type LocalityGroup, type PriorityPicker } from "./priority-picker.js";

/** What a ClusterBalancer needs from its target's balancer. */
export interface ClusterBalancerOptions {
  readonly random: RandomSource;
  /** The current time in ms since the epoch (ejection times). */
  readonly now: () => number;
  /** The client's cap on ring sizes (gRFC A42). */
  readonly ringSizeCap: number;
  /** Says what changed in the balancing of the cluster: an ejection, a return. */
  readonly log: (message: string) => void;
  /** Called after ejections changed without a new endpoint set. */
  readonly changed: () => void;
}

/** The priorities that take traffic, and where each one's share ends (cumulative percent; the last is 100). */
interface PickPlan {
  readonly priorities: readonly PriorityPicker[];
  readonly cumulative: readonly number[];
}

/** Picks endpoints of one cluster, keeping per-endpoint and per-locality state across endpoint sets. */
export class ClusterBalancer implements EndpointPicker, EndpointOwner {
  private states = new Map<string, EndpointState>();
  /** The same states by the current endpoint set's models, so that building looks them up without making keys. */
  private byEndpoint = new Map<EndpointModel, EndpointState>();
  private localityStates = new Map<string, BalancingState>();
  private localityPickers = new Map<string, LocalityPicker>();
  private rings: readonly HashPicker[] = [];
  private builds = 0;
  private cluster: ClusterModel | undefined;
  private endpoints: EndpointsModel | undefined;
  private plan: PickPlan | undefined;
  /** Calls picked here and not released, over every endpoint (the circuit breaker's count). */
  private inFlight = 0;
  private maxRequests = Infinity;
  private breakerOpen: PickFailure;
  private readonly noEndpoint: PickFailure;
  private detector: OutlierDetector | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the outlier detection interval last started (gRFC A50 keeps it across configuration changes). */
  private intervalStartedAt = 0;
  /** Whether some endpoint is usable by its health (ejected or not) in a locality that takes traffic. */
  private usable = false;
  hashed = false;

  constructor(
    /** The cluster's name. */
    readonly name: string,
    private readonly options: ClusterBalancerOptions,
  ) {
    this.noEndpoint = { code: "NO_HEALTHY_ENDPOINT", message: `cluster ${JSON.stringify(name)} has no healthy endpoint` };
    this.breakerOpen = this.noEndpoint;
  }

  /** How many endpoints have state (every endpoint of the current set, usable or not). */
  get size(): number {
    return this.states.size;
  }

  /**
   * Takes a new cluster version and endpoint set (the same ones again change nothing); false when no endpoint is
   * usable by its health (then picks fail until a new set; ejections alone only make picks fail while they last).
   */
  update(cluster: ClusterModel, endpoints: EndpointsModel): boolean {
    if (cluster === this.cluster && endpoints === this.endpoints) return this.usable;
    const policyChanged = this.cluster?.lbPolicy !== cluster.lbPolicy;
    this.cluster = cluster;
    this.hashed = cluster.lbPolicy.kind === "RING_HASH" || cluster.lbPolicy.kind === "MAGLEV";
    this.maxRequests = cluster.maxRequests;
    this.breakerOpen = {
      code: "CIRCUIT_BREAKER_OPEN",
      message: `cluster ${JSON.stringify(this.name)} has ${cluster.maxRequests} calls in flight, the most its circuit breaker allows (max_requests)`,
    };
    if (policyChanged) this.localityPickers = new Map();
    if (endpoints !== this.endpoints) this.carry(endpoints);
    this.endpoints = endpoints;
    this.detect(cluster);
    this.rebuild();
    return this.usable;
  }

  pick(hash: number): PickedEndpoint | PickFailure {
    if (this.inFlight >= this.maxRequests) return this.breakerOpen;
    const plan = this.plan;
    if (plan === undefined) return this.noEndpoint;
    const priorities = plan.priorities;
    let priority = priorities[0]!;
    if (priorities.length > 1) {
      const at = this.hashed ? hash % 100 : this.options.random() * 100;
      const cumulative = plan.cumulative;
      let i = 0;
      while (i < cumulative.length - 1 && at >= cumulative[i]!) i++;
      priority = priorities[i]!;
    }
    const state = priority.pick(hash);
    state.inFlight++;
    this.inFlight++;
    return state;
  }

  released(state: EndpointState, status: number | undefined): void {
    this.inFlight--;
    const detector = this.detector;
    if (status === undefined || detector === undefined || state.retired) return;
    if (detector.record(state, status, this.options.now)) {
      this.options.log(ejectedLine(this.name, state));
      this.rebuild();
      this.options.changed();
    }
  }

  /** The cluster's balancing as it is now: its policy, breaker, and every endpoint's calls and ejection. */
  status(): ClusterBalancingStatus {
    const endpoints: EndpointBalancingStatus[] = [];
    this.endpoints?.priorities.forEach((localities, priority) => {
      for (const locality of localities) {
        const name = `${locality.region}/${locality.zone}/${locality.subZone}`;
        for (const endpoint of locality.endpoints) {
          const state = this.byEndpoint.get(endpoint)!;
          endpoints.push({
            address: endpoint.address,
            port: endpoint.port,
            priority,
            locality: name,
            health: endpoint.health,
            weight: endpoint.weight,
            inFlight: state.inFlight,
            ejection: state.ejection,
          });
        }
      }
    });
    return {
      name: this.name,
      policy: this.cluster?.lbPolicy.kind ?? "ROUND_ROBIN",
      inFlight: this.inFlight,
      maxRequests: this.maxRequests,
      outlierDetection: this.detector !== undefined,
      endpoints,
    };
  }

  /** Stops the outlier detection timer. The balancer still picks (Routers may hold it) but sweeps no more. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Takes over (or creates) the state of every endpoint and locality of a new endpoint set; drops the others'. */
  private carry(endpoints: EndpointsModel): void {
    const before = { endpoints: this.states, localities: this.localityStates };
    const since = this.builds + 1;
    this.states = new Map();
    this.byEndpoint = new Map();
    this.localityStates = new Map();
    endpoints.priorities.forEach((localities, priority) => {
      for (const locality of localities) {
        const label = localityLabel(locality);
        for (const endpoint of locality.endpoints) {
          const key = keyOf(endpoint);
          let state = before.endpoints.get(key);
          if (state === undefined) state = new EndpointState(since, key, endpoint, this);
          else state.endpoint = endpoint;
          state.locality = label;
          this.states.set(key, state);
          this.byEndpoint.set(endpoint, state);
        }
        const key = localityKey(priority, locality);
        this.localityStates.set(key, before.localities.get(key) ?? new BalancingState(since));
      }
    });
    for (const [key, state] of before.endpoints) if (this.states.get(key) !== state) state.retired = true;
    this.detector?.recount(this.states.values());
  }

  /** Builds the pick plan from the endpoint set, the policy and the ejections. */
  private rebuild(): void {
    const cluster = this.cluster!;
    const endpoints = this.endpoints!;
    const since = ++this.builds;
    const previous = this.localityPickers;
    const context = {
      random: this.options.random,
      since,
      previous,
      pickers: new Map<string, LocalityPicker>(),
      ringSizeCap: this.options.ringSizeCap,
      previousRings: this.rings,
      rings: [] as HashPicker[],
    };
    const healthy: number[] = [];
    const total: number[] = [];
    this.usable = false;
    const groups = endpoints.priorities.map((localities, priority) => {
      const found = this.groups(priority, localities);
      healthy.push(found.healthy);
      total.push(found.total);
      if (found.usable) this.usable = true;
      return found.groups;
    });
    const loads = priorityLoads(healthy, total, endpoints.overprovisioningFactor);
    const priorities: PriorityPicker[] = [];
    const cumulative: number[] = [];
    let sum = 0;
    loads.forEach((load, priority) => {
      if (load === 0) return;
      priorities.push(createPriorityPicker(cluster.lbPolicy, groups[priority]!, context));
      sum += load;
      cumulative.push(sum);
    });
    this.localityPickers = context.pickers;
    this.rings = context.rings;
    this.plan = priorities.length === 0 ? undefined : { priorities, cumulative };
  }

  /**
   * A priority's localities that could take traffic but for ejections, how many of its endpoints can, of how many,
   * and whether any could but for ejection.
   */
  private groups(priority: number, localities: readonly LocalityModel[]): { groups: LocalityGroup[]; healthy: number; total: number; usable: boolean } {
    const weighted = localities.some((l) => l.weight > 0);
    const groups: LocalityGroup[] = [];
    let healthy = 0;
    let total = 0;
    let usable = false;
    for (const locality of localities) {
      total += locality.endpoints.length;
      const states: EndpointState[] = [];
      const usableStates: EndpointState[] = [];
      let usableWeight = 0;
      for (const endpoint of locality.endpoints) {
        if (!endpoint.usable) continue;
        const state = this.byEndpoint.get(endpoint)!;
        usableStates.push(state);
        usableWeight += endpoint.weight;
        if (state.ejection === undefined) states.push(state);
      }
      const weight = weighted ? locality.weight : usableWeight;
      if (usableStates.length === 0 || weight === 0) continue;
      usable = true;
      healthy += states.length;
      const key = localityKey(priority, locality);
      groups.push({ key, state: this.localityStates.get(key)!, weight, usable: usableStates, states });
    }
    return { groups, healthy, total, usable };
  }

  /** Starts, reconfigures or stops outlier detection for a cluster version (gRFC A50's timer rules). */
  private detect(cluster: ClusterModel): void {
    const config = cluster.outlierDetection;
    if (config === undefined) {
      this.close();
      if (this.detector?.uneject(this.states.values()) === true) this.options.log(`cluster ${JSON.stringify(this.name)}: outlier detection is off; every ejected endpoint is back`);
      this.detector = undefined;
      return;
    }
    const now = this.options.now();
    if (this.detector === undefined) {
      this.detector = new OutlierDetector(config, this.options.random);
      this.detector.recount(this.states.values());
      this.intervalStartedAt = now;
      this.schedule(config.intervalMs);
    } else if (this.detector.config !== config) {
      this.detector.config = config;
      this.schedule(Math.max(0, config.intervalMs - (now - this.intervalStartedAt)));
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.sweep(), delayMs);
    this.timer.unref();
  }

  /** The outlier detection interval's sweep: judge, eject, bring back; then the next interval. */
  private sweep(): void {
    const detector = this.detector;
    if (detector === undefined) return;
    const now = this.options.now();
    this.intervalStartedAt = now;
    this.schedule(detector.config.intervalMs);
    const states = [...this.states.values()];
    const wasEjected = states.map((s) => s.ejection);
    if (!detector.sweep(states, now)) return;
    states.forEach((state, i) => {
      if (state.ejection !== undefined && state.ejection !== wasEjected[i]) this.options.log(ejectedLine(this.name, state));
      else if (state.ejection === undefined && wasEjected[i] !== undefined) {
        this.options.log(`cluster ${JSON.stringify(this.name)}: endpoint ${authority(state)} is back after its ejection (${wasEjected[i]!.reason})`);
      }
    });
    this.rebuild();
    this.options.changed();
  }
}

function ejectedLine(cluster: string, state: EndpointState): string {
  const ejection = state.ejection!;
  const seconds = Math.round((ejection.until - ejection.since) / 100) / 10;
  return `cluster ${JSON.stringify(cluster)}: endpoint ${authority(state)} ejected for ${seconds} s (ejection ${state.ejections} in a row): ${ejection.reason}`;
}

function authority(state: EndpointState): string {
  const { address, port } = state.endpoint;
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

function keyOf(endpoint: { readonly address: string; readonly port: number }): string {
  return `${endpoint.address}:${endpoint.port}`;
}

function localityKey(priority: number, locality: LocalityModel): string {
  return `${priority}\u0000${locality.region}\u0000${locality.zone}\u0000${locality.subZone}`;
}

/** A locality as gRPC's metrics label it (grpc.lb.locality). */
function localityLabel(locality: LocalityModel): string {
  return `{region="${locality.region}", zone="${locality.zone}", sub_zone="${locality.subZone}"}`;
}
