// Weighted picks over a small, fixed set of items (weighted clusters, localities).
//
// weightedRandomPick: cumulative weights are computed once; each pick draws one number and
// binary-searches it, O(log n). The target is floor(random() * total), uniform over
// [0, total) up to the resolution of the random source: with a 52-bit source such as
// Math.random the bias is at most total / 2^52 (under 1e-6 for any uint32 total) and has no
// off-by-one or modulo skew. (kitex-contrib/xds gives the first item (w1 + 1) / total, the
// last (wn − 1) / total, and can pick a leading weight-0 item.) Weight-0 items are dropped
// at construction, so they are never picked.
//
// SmoothWeightedRoundRobin: nginx's smooth weighted round robin. Deterministic; over any
// window of `total` picks each item is picked exactly `weight` times, interleaved rather
// than in bursts. Each pick is O(n); it is meant for the handful of items a route splits
// across, not for thousands of endpoints.

import type { RandomSource } from "./route-match.js";
import { XdsError } from "../../xds-error.js";

/** An item and its non-negative integer weight. */
export interface Weighted<T> {
  /** The thing to pick. */
  readonly item: T;
  /** Its weight; 0 means never picked. */
  readonly weight: number;
}

/** Picks one item using `random`, each with probability weight / total. */
export type WeightedRandomPicker<T> = (random: RandomSource) => T;

/** Precomputes a weighted random picker; throws INVALID_ARGUMENT when a weight is not a non-negative safe integer or all weights are 0. */
export function weightedRandomPick<T>(items: readonly Weighted<T>[]): WeightedRandomPicker<T> {
  const kept = positive(items);
  const picked: T[] = kept.map((w) => w.item);
  const ends: number[] = [];
  let total = 0;
  for (const w of kept) {
    total += w.weight;
    ends.push(total);
  }
  if (!Number.isSafeInteger(total)) {
    throw new XdsError("INVALID_ARGUMENT", `weighted pick: total weight ${total} is too large`);
  }
  if (picked.length === 1) {
    const only = picked[0]!;
    return () => only;
  }
  const last = picked.length - 1;
  return (random) => {
    const target = Math.floor(random() * total);
    // The first item whose cumulative end is above the target.
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return picked[lo]!;
  };
}

/** nginx-style smooth weighted round robin: deterministic, interleaved, O(n) per pick. */
export class SmoothWeightedRoundRobin<T> {
  private readonly items: readonly T[];
  private readonly weights: readonly number[];
  private readonly current: number[];
  private readonly total: number;

  /** Throws INVALID_ARGUMENT when a weight is not a non-negative safe integer or all weights are 0. */
  constructor(items: readonly Weighted<T>[]) {
    const kept = positive(items);
    this.items = kept.map((w) => w.item);
    this.weights = kept.map((w) => w.weight);
    this.current = kept.map(() => 0);
    this.total = this.weights.reduce((sum, w) => sum + w, 0);
    if (!Number.isSafeInteger(this.total)) {
      throw new XdsError("INVALID_ARGUMENT", `smooth weighted round robin: total weight ${this.total} is too large`);
    }
  }

  /** The next item: every weight is added to its item's credit, the item with the most credit (first on ties) is picked and pays the total. */
  pick(): T {
    let best = 0;
    for (let i = 0; i < this.current.length; i++) {
      this.current[i]! += this.weights[i]!;
      if (this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.total;
    return this.items[best]!;
  }
}

function positive<T>(items: readonly Weighted<T>[]): Weighted<T>[] {
  const kept: Weighted<T>[] = [];
  items.forEach((w, i) => {
    if (!Number.isSafeInteger(w.weight) || w.weight < 0) {
      throw new XdsError("INVALID_ARGUMENT", `weighted pick: items[${i}].weight ${w.weight} is not a non-negative integer`);
    }
    if (w.weight > 0) kept.push(w);
  });
  if (kept.length === 0) {
    throw new XdsError("INVALID_ARGUMENT", "weighted pick: no item has a positive weight");
  }
  return kept;
}
