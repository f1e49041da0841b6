// Endpoint picking within one locality, by the cluster's policy, over the locality's usable endpoints (HEALTHY or
// UNKNOWN, not ejected; at least one):
// - ROUND_ROBIN: round robin when the endpoints weigh the same (O(1) a pick), else smooth weighted round robin by
//   load_balancing_weight (see smooth-round-robin.ts). Positions carry over to the next endpoint set.
// - LEAST_REQUEST (gRFC A48, Envoy's "all weights equal" case): `choiceCount` endpoints drawn at random, the one
//   with the fewest calls in flight wins (the first drawn on a tie). Weights are not used, as in gRPC.
// - RANDOM: one endpoint drawn uniformly, as Envoy's random policy does.

import type { RandomSource } from "../resources/match/route-match.js";
import type { EndpointState } from "./balancing-state.js";
import { smoothPick, startCredits } from "./smooth-round-robin.js";

/** Picks among one locality's usable endpoints. */
export interface LocalityPicker {
  /** The next endpoint's state. */
  pick(): EndpointState;
}

/** The endpoint-picking policies that work locality by locality. */
export type LocalityPolicy = { readonly kind: "ROUND_ROBIN" } | { readonly kind: "LEAST_REQUEST"; readonly choiceCount: number } | { readonly kind: "RANDOM" };

/** Round robin when the endpoints weigh the same (O(1)), else smooth weighted round robin. */
export class RoundRobinPicker implements LocalityPicker {
  private next: number;

  constructor(
    /** The usable endpoints' states, in the order the control plane sent them. */
    readonly states: readonly EndpointState[],
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
  get upcoming(): EndpointState {
    return this.states[this.next]!;
  }

  pick(): EndpointState {
    const weights = this.weights;
    if (weights === undefined) {
      const i = this.next;
      this.next = i + 1 === this.states.length ? 0 : i + 1;
      return this.states[i]!;
    }
    return this.states[smoothPick(this.states, weights, this.total)]!;
  }
}

/** Power of `choiceCount` random choices over calls in flight (gRFC A48). */
class LeastRequestPicker implements LocalityPicker {
  constructor(
    private readonly states: readonly EndpointState[],
    private readonly choiceCount: number,
    private readonly random: RandomSource,
  ) {}

  pick(): EndpointState {
    const states = this.states;
    const n = states.length;
    let best = states[Math.floor(this.random() * n)]!;
    for (let i = 1; i < this.choiceCount; i++) {
      const sampled = states[Math.floor(this.random() * n)]!;
      if (sampled.inFlight < best.inFlight) best = sampled;
    }
    return best;
  }
}

/** One endpoint drawn uniformly. */
class RandomPicker implements LocalityPicker {
  constructor(
    private readonly states: readonly EndpointState[],
    private readonly random: RandomSource,
  ) {}

  pick(): EndpointState {
    return this.states[Math.floor(this.random() * this.states.length)]!;
  }
}

/**
 * The picker of a locality's usable endpoints (at least one) under `policy`. Round robin goes on from where
 * `previous` (the same locality's picker for the last endpoint set) would have picked next, found by the endpoint's
 * state, not its index; with no previous picker it starts at a random endpoint, as grpc-go's round_robin does.
 * Weighted picks carry each endpoint's credit (see smooth-round-robin.ts).
 */
export function createLocalityPicker(
  policy: LocalityPolicy,
  states: readonly EndpointState[],
  previous: LocalityPicker | undefined,
  since: number,
  random: RandomSource,
): LocalityPicker {
  if (policy.kind === "LEAST_REQUEST") return new LeastRequestPicker(states, policy.choiceCount, random);
  if (policy.kind === "RANDOM") return new RandomPicker(states, random);
  const n = states.length;
  const first = states[0]!.endpoint.weight;
  let total = 0;
  let equal = true;
  for (const state of states) {
    total += state.endpoint.weight;
    if (state.endpoint.weight !== first) equal = false;
  }
  if (equal) {
    const upcoming = previous instanceof RoundRobinPicker && previous.roundRobin ? states.indexOf(previous.upcoming) : -1;
    const next = upcoming >= 0 ? upcoming : Math.min(n - 1, Math.floor(random() * n));
    return new RoundRobinPicker(states, undefined, total, next);
  }
  const weights = states.map((s) => s.endpoint.weight);
  startCredits(states, weights, total, since, random);
  return new RoundRobinPicker(states, weights, total, 0);
}
