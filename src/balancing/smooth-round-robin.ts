// Smooth weighted round robin (nginx's) over credits held in BalancingState, so that positions survive endpoint
// updates: each pick adds every weight to its state's credit, picks the highest credit (the first on ties) and takes
// the total off it. While the set and weights stay the same, any window of `total` picks picks each state exactly
// its weight's times, interleaved. Each pick is O(n): used for localities, and for endpoints only when their
// weights differ.

import type { BalancingState } from "./balancing-state.js";

/** One step of smooth weighted round robin: the index picked among `states` with the given positive weights. */
export function smoothPick(states: readonly BalancingState[], weights: readonly number[], total: number): number {
  let best = 0;
  let bestCredit = -Infinity;
  for (let i = 0; i < states.length; i++) {
    const state = states[i]!;
    const credit = state.credit + weights[i]!;
    state.credit = credit;
    if (credit > bestCredit) {
      best = i;
      bestCredit = credit;
    }
  }
  states[best]!.credit = bestCredit - total;
  return best;
}

/** At most this many credit updates are spent moving a new smooth round robin to its random starting point. */
const START_BUDGET = 1 << 16;

/**
 * Prepares the credits of a group for a new endpoint set: states that were there before keep their credit; new ones
 * join at the group's mean credit, so that they neither jump ahead nor wait. A group that is all new starts at a
 * random point of its cycle (as a random offset into round robin): each client of a fleet starts elsewhere.
 */
export function startCredits(states: readonly BalancingState[], weights: readonly number[], total: number, since: number, random: () => number): void {
  let carried = 0;
  let sum = 0;
  for (const state of states) {
    if (state.since !== since) {
      carried++;
      sum += state.credit;
    }
  }
  if (carried === states.length) return;
  const join = carried === 0 ? 0 : Math.round(sum / carried);
  for (const state of states) if (state.since === since) state.credit = join;
  if (carried > 0) return;
  // Within one cycle of `total` picks every state is picked its weight's share, so a uniform offset below `total`
  // makes the first pick land on each with probability weight / total (up to the budget for huge totals).
  const cycle = Math.min(total, Math.max(1, Math.floor(START_BUDGET / states.length)));
  for (let steps = Math.floor(random() * cycle); steps > 0; steps--) smoothPick(states, weights, total);
}
