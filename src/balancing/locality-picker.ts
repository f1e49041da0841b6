import type { EndpointModel } from "../resources/endpoints.js";
import type { RandomSource } from "../resources/match/route-match.js";
import type { BalancingState } from "./balancing-state.js";
import { smoothPick, startCredits } from "./smooth-round-robin.js";

/** Picks among one locality's usable endpoints: round robin when they weigh the same (O(1)), else smooth weighted round robin. */
export class LocalityPicker {
  private next: number;

  constructor(
    /** The usable endpoints, in the order the control plane sent them. */
    readonly endpoints: readonly EndpointModel[],
    /** Their balancing states, index for index. */
    readonly states: readonly BalancingState[],
    /** Their weights when they differ; undefined when round robin. */
    private readonly weights: readonly number[] | undefined,
    private readonly total: number,
    next: number,
  ) {
    this.next = next;
  }

  /** Whether picks go round in order (the endpoints weigh the same). */
  get roundRobin(): boolean {
    return this.weights === undefined;
  }

  /** The state of the endpoint round robin picks next. */
  get upcoming(): BalancingState {
    return this.states[this.next]!;
  }

  /** The next endpoint. */
  pick(): EndpointModel {
    const weights = this.weights;
    if (weights === undefined) {
      const i = this.next;
      this.next = i + 1 === this.endpoints.length ? 0 : i + 1;
      return this.endpoints[i]!;
    }
    return this.endpoints[smoothPick(this.states, weights, this.total)]!;
  }
}

/**
 * The picker of a locality's usable endpoints (at least one). Round robin goes on from where `previous` (the same
 * locality's picker for the last endpoint set) would have picked next, found by the endpoint's state, not its index;
 * with no previous picker it starts at a random endpoint, as grpc-go's round_robin does. Weighted picks carry each
 * endpoint's credit (see smooth-round-robin.ts).
 */
export function createLocalityPicker(
  endpoints: readonly EndpointModel[],
  states: readonly BalancingState[],
  previous: LocalityPicker | undefined,
  since: number,
  random: RandomSource,
): LocalityPicker {
  const n = endpoints.length;
  const first = endpoints[0]!.weight;
  let total = 0;
  let equal = true;
  for (const endpoint of endpoints) {
    total += endpoint.weight;
    if (endpoint.weight !== first) equal = false;
  }
  if (equal) {
    const upcoming = previous?.roundRobin === true ? states.indexOf(previous.upcoming) : -1;
    const next = upcoming >= 0 ? upcoming : Math.min(n - 1, Math.floor(random() * n));
    return new LocalityPicker(endpoints, states, undefined, total, next);
  }
  const weights = endpoints.map((e) => e.weight);
  startCredits(states, weights, total, since, random);
  return new LocalityPicker(endpoints, states, weights, total, 0);
}
