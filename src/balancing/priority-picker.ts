// The picker of one priority of a cluster, by the cluster's policy, over the localities that can take traffic and
// their usable endpoints (HEALTHY or UNKNOWN, not ejected):
// - ROUND_ROBIN, LEAST_REQUEST, RANDOM: the locality first, by smooth weighted round robin over the locality
//   weights (gRFC A27: a weight-0 locality takes nothing), then the endpoint within it by the policy
//   (locality-picker.ts);
// - RING_HASH and MAGLEV: one ring or table over every usable endpoint of the priority, ejected or not, each
//   weighing its load_balancing_weight times its locality's weight (gRFC A42: the hash picks locality and endpoint
//   at once); a pick landing on an ejected endpoint goes on to the next entry, as gRPC skips a subchannel in
//   TRANSIENT_FAILURE, so an ejection moves only that endpoint's keys, and the ring is reused while the endpoints
//   and weights stay the same (istiod re-sends unchanged endpoint sets);
// - PICK_FIRST: the first endpoint, in the order the control plane sent them (shuffled when it asks).

import type { LbPolicyModel } from "../resources/cluster-lb-policy.js";
import type { RandomSource } from "../resources/match/route-match.js";
import type { BalancingState, EndpointState } from "./balancing-state.js";
import { createLocalityPicker, type LocalityPicker } from "./locality-picker.js";
import { MaglevPicker } from "./maglev.js";
import { RingHashPicker, type WeightedState } from "./ring-hash.js";
import { smoothPick, startCredits } from "./smooth-round-robin.js";

/** Picks an endpoint of one priority. */
export interface PriorityPicker {
  /** The endpoint for a call with request hash `hash` (used by ring hash and Maglev only). */
  pick(hash: number): EndpointState;
}

/** One locality of a priority that can take traffic: its usable endpoints and its weight. */
export interface LocalityGroup {
  /** The locality's key (priority and name), under which its picker carries over. */
  readonly key: string;
  readonly state: BalancingState;
  /** Its weight among the priority's localities (above 0). */
  readonly weight: number;
  /** Its usable endpoints' states, ejected or not (at least one). */
  readonly usable: readonly EndpointState[];
  /** Those not ejected (maybe none). */
  readonly states: readonly EndpointState[];
}

/** What building a priority's picker needs besides its localities. */
export interface PriorityPickerContext {
  readonly random: RandomSource;
  /** The update the pickers are built for (see BalancingState.since). */
  readonly since: number;
  /** The localities' pickers of the last build, by key; the new ones are put in `pickers`. */
  readonly previous: ReadonlyMap<string, LocalityPicker>;
  readonly pickers: Map<string, LocalityPicker>;
  /** The client's cap on ring sizes (gRFC A42). */
  readonly ringSizeCap: number;
  /** The rings and tables of the last build; the new ones are put in `rings`. */
  readonly previousRings: readonly HashPicker[];
  readonly rings: HashPicker[];
}

/** A ring or Maglev table, and what it was built from. */
export type HashPicker = RingHashPicker | MaglevPicker;

/** The picker of a priority's localities (at least one, and at least one endpoint not ejected) under `policy`. */
export function createPriorityPicker(policy: LbPolicyModel, groups: readonly LocalityGroup[], context: PriorityPickerContext): PriorityPicker {
  switch (policy.kind) {
    case "RING_HASH":
    case "MAGLEV":
      return hashPicker(policy, groups, context);
    case "PICK_FIRST":
      return pickFirst(groups, policy.shuffleAddressList, context.random);
    case "ROUND_ROBIN":
    case "LEAST_REQUEST":
    case "RANDOM": {
      const available = groups.filter((g) => g.states.length > 0);
      const pickers = available.map((group) => {
        const picker = createLocalityPicker(policy, group.states, context.previous.get(group.key), context.since, context.random);
        context.pickers.set(group.key, picker);
        return picker;
      });
      if (pickers.length === 1) return new OneLocality(pickers[0]!);
      const weights = available.map((g) => g.weight);
      const total = weights.reduce((a, b) => a + b, 0);
      const states = available.map((g) => g.state);
      startCredits(states, weights, total, context.since, context.random);
      return new WeightedLocalities(pickers, states, weights, total);
    }
    case "CLUSTER_PROVIDED":
      // An ORIGINAL_DST cluster's policy: the target balancer never builds a picker for one.
      throw new Error("CLUSTER_PROVIDED clusters have no endpoint picker");
  }
}

/** A ring or Maglev table over the groups' usable endpoints, reused when built from the same endpoints and weights. */
function hashPicker(policy: LbPolicyModel & { readonly kind: "RING_HASH" | "MAGLEV" }, groups: readonly LocalityGroup[], context: PriorityPickerContext): PriorityPicker {
  const entries = weighted(groups);
  const parameters = policy.kind === "RING_HASH" ? `ring ${policy.minRingSize}/${policy.maxRingSize}/${context.ringSizeCap}` : `maglev ${policy.tableSize}`;
  let table = context.previousRings.find((t) => t.parameters === parameters && sameEntries(t.entries, entries));
  if (table === undefined) {
    table =
      policy.kind === "RING_HASH"
        ? RingHashPicker.build(entries, { minRingSize: policy.minRingSize, maxRingSize: policy.maxRingSize, ringSizeCap: context.ringSizeCap }, parameters)
        : MaglevPicker.build(entries, policy.tableSize, parameters);
  }
  context.rings.push(table);
  return table;
}

/** Whether two entry lists hold the same endpoints' states with the same weights, in the same order. */
function sameEntries(a: readonly WeightedState[], b: readonly WeightedState[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.state !== b[i]!.state || a[i]!.weight !== b[i]!.weight) return false;
  return true;
}

/** Every usable endpoint of the groups, weighing its weight times its locality's (gRFC A42). */
function weighted(groups: readonly LocalityGroup[]): WeightedState[] {
  const out: WeightedState[] = [];
  for (const group of groups) for (const state of group.usable) out.push({ state, weight: state.endpoint.weight * group.weight });
  return out;
}

/** The first endpoint of the priority not ejected, in order or in an order shuffled once per build. */
function pickFirst(groups: readonly LocalityGroup[], shuffle: boolean, random: RandomSource): PriorityPicker {
  const states = groups.flatMap((g) => g.states);
  const first = shuffle ? states[Math.floor(random() * states.length)]! : states[0]!;
  return { pick: () => first };
}

/** A priority with one locality that takes traffic. */
class OneLocality implements PriorityPicker {
  constructor(private readonly locality: LocalityPicker) {}

  pick(): EndpointState {
    return this.locality.pick();
  }
}

/** A priority with several localities: smooth weighted round robin over them, then the locality's pick. */
class WeightedLocalities implements PriorityPicker {
  constructor(
    private readonly localities: readonly LocalityPicker[],
    private readonly states: readonly BalancingState[],
    private readonly weights: readonly number[],
    private readonly total: number,
  ) {}

  pick(): EndpointState {
    return this.localities[smoothPick(this.states, this.weights, this.total)]!.pick();
  }
}
