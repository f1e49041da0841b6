// The balancer of one leaf cluster: it turns each new endpoint set into an EndpointPicker, carrying the balancing
// state of every endpoint (keyed by address and port) and locality (keyed by priority and name) that is still
// there, and dropping the state of those that left. Semantics (gRFC A27's shape):
//
// - Priority: the lowest-numbered priority with a usable (HEALTHY or UNKNOWN) endpoint in a locality that can take
//   traffic; lower priorities are used only when it has none.
// - Locality: smooth weighted round robin over the priority's localities by load_balancing_weight; a weight-0
//   locality takes no traffic (A27), so a priority whose usable endpoints are all in weight-0 localities fails over.
//   When no locality of the priority has a weight (a control plane that leaves it unset), the localities are
//   weighted by the sum of their usable endpoints' weights instead, so the priority acts as one pool.
// - Endpoint: within the locality, round robin over its usable endpoints when they weigh the same (O(1) a pick),
//   else smooth weighted round robin by load_balancing_weight (see locality-picker.ts).
// - A fresh balancer starts each round at a random point, so that a fleet of clients does not all begin with the
//   same endpoint; after that, an update goes on where the last endpoint set left off.
//
// Building is O(n) in endpoints; a pick allocates nothing.

import type { EndpointModel, EndpointsModel, LocalityModel } from "../resources/endpoints.js";
import type { RandomSource } from "../resources/match/route-match.js";
import type { EndpointPicker } from "../routing/cluster-picking.js";
import { BalancingState } from "./balancing-state.js";
import { createLocalityPicker, type LocalityPicker } from "./locality-picker.js";
import { smoothPick, startCredits } from "./smooth-round-robin.js";

/** Turns each endpoint set of one cluster into a picker, keeping per-endpoint and per-locality state across sets. */
export class ClusterBalancer {
  private endpointStates = new Map<string, BalancingState>();
  private localityStates = new Map<string, BalancingState>();
  private localityPickers = new Map<string, LocalityPicker>();
  private updates = 0;
  private endpoints: EndpointsModel | undefined;
  private picker: EndpointPicker | undefined;

  constructor(
    /** The cluster's name. */
    readonly name: string,
    private readonly random: RandomSource,
  ) {}

  /** How many endpoints have state (every endpoint of the current set, usable or not). */
  get size(): number {
    return this.endpointStates.size;
  }

  /** The picker for a new endpoint set (the same one again for the same set); undefined when no endpoint is usable. */
  update(endpoints: EndpointsModel): EndpointPicker | undefined {
    if (endpoints === this.endpoints) return this.picker;
    const since = ++this.updates;
    const before = { endpoints: this.endpointStates, localities: this.localityStates, pickers: this.localityPickers };
    this.endpointStates = new Map();
    this.localityStates = new Map();
    this.localityPickers = new Map();
    let picker: EndpointPicker | undefined;
    endpoints.priorities.forEach((localities, priority) => {
      const carried = this.carry(priority, localities, before.endpoints, before.localities, since);
      picker ??= this.priorityPicker(priority, localities, carried, before.pickers, since);
    });
    this.endpoints = endpoints;
    this.picker = picker;
    return picker;
  }

  /** Takes over (or creates) the state of each locality of a priority and of each of their endpoints. */
  private carry(
    priority: number,
    localities: readonly LocalityModel[],
    endpoints: ReadonlyMap<string, BalancingState>,
    previous: ReadonlyMap<string, BalancingState>,
    since: number,
  ): LocalityStates[] {
    return localities.map((locality) => {
      const endpointStates = locality.endpoints.map((endpoint) => {
        const key = `${endpoint.address}:${endpoint.port}`;
        const state = endpoints.get(key) ?? new BalancingState(since);
        this.endpointStates.set(key, state);
        return state;
      });
      const key = localityKey(priority, locality);
      const state = previous.get(key) ?? new BalancingState(since);
      this.localityStates.set(key, state);
      return { key, state, endpoints: endpointStates };
    });
  }

  /** The picker over one priority's localities, or undefined when none can take traffic. */
  private priorityPicker(
    priority: number,
    localities: readonly LocalityModel[],
    carried: readonly LocalityStates[],
    previous: ReadonlyMap<string, LocalityPicker>,
    since: number,
  ): EndpointPicker | undefined {
    const weighted = localities.some((l) => l.weight > 0);
    const pickers: LocalityPicker[] = [];
    const states: BalancingState[] = [];
    const weights: number[] = [];
    let total = 0;
    localities.forEach((locality, i) => {
      const { key, state, endpoints } = carried[i]!;
      const usable: EndpointModel[] = [];
      const usableStates: BalancingState[] = [];
      let usableWeight = 0;
      locality.endpoints.forEach((endpoint, j) => {
        if (!endpoint.usable) return;
        usable.push(endpoint);
        usableStates.push(endpoints[j]!);
        usableWeight += endpoint.weight;
      });
      const weight = weighted ? locality.weight : usableWeight;
      if (usable.length === 0 || weight === 0) return;
      const picker = createLocalityPicker(usable, usableStates, previous.get(key), since, this.random);
      this.localityPickers.set(key, picker);
      pickers.push(picker);
      states.push(state);
      weights.push(weight);
      total += weight;
    });
    if (pickers.length === 0) return undefined;
    if (pickers.length === 1) return new OneLocality(this.name, priority, pickers[0]!);
    startCredits(states, weights, total, since, this.random);
    return new WeightedLocalities(this.name, priority, pickers, states, weights, total);
  }
}

/** A locality's key and state, and its endpoints' states, index for index. */
interface LocalityStates {
  readonly key: string;
  readonly state: BalancingState;
  readonly endpoints: readonly BalancingState[];
}

/** The picker of a priority with one locality that takes traffic. */
class OneLocality implements EndpointPicker {
  constructor(
    readonly clusterName: string,
    readonly priority: number,
    private readonly locality: LocalityPicker,
  ) {}

  pick(): EndpointModel {
    return this.locality.pick();
  }
}

/** The picker of a priority with several localities: smooth weighted round robin over them, then the locality's pick. */
class WeightedLocalities implements EndpointPicker {
  constructor(
    readonly clusterName: string,
    readonly priority: number,
    private readonly localities: readonly LocalityPicker[],
    private readonly states: readonly BalancingState[],
    private readonly weights: readonly number[],
    private readonly total: number,
  ) {}

  pick(): EndpointModel {
    return this.localities[smoothPick(this.states, this.weights, this.total)]!.pick();
  }
}

function localityKey(priority: number, locality: LocalityModel): string {
  return `${priority}\u0000${locality.region}\u0000${locality.zone}\u0000${locality.subZone}`;
}
