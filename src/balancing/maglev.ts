// Maglev (Eisenbud et al., NSDI 2016; Envoy's MAGLEV policy) over one priority's usable endpoints: a lookup table
// of `tableSize` slots (a prime, default 65,537), each naming an endpoint; a request goes to slot hash mod tableSize.
//
// Each endpoint walks its own permutation of the slots, `(offset + skip × n) mod tableSize`, with offset from
// XXH64(`address:port`) and skip from XXH64 of the same key with seed 1, as Envoy derives them; endpoints take turns
// claiming the next free slot of their permutation until the table is full. Weights (load_balancing_weight times
// the locality's weight) set how many slots each endpoint claims: its share of the table, rounded by largest
// remainder; an endpoint drops out of the turns once it has its share, so building costs O(tableSize + endpoints)
// however skewed the weights. When an endpoint joins or leaves, most slots keep their endpoint (Maglev's minimal
// disruption), so most keys stay where they were.

import { xxHash64, type Hash64 } from "../routing/xx-hash64.js";
import type { EndpointState } from "./balancing-state.js";
import type { WeightedState } from "./ring-hash.js";

const key: Hash64 = { hi: 0, lo: 0 };
const TWO_32 = 2 ** 32;

/** A Maglev lookup table, searched by request hash. */
export class MaglevPicker {
  private constructor(
    /** Slot → index into `states`. */
    private readonly table: Int32Array,
    private readonly states: readonly EndpointState[],
    /** The endpoints and weights it was built from. */
    readonly entries: readonly WeightedState[],
    /** Its table size, as the caller names it (tables of the same entries and parameters are the same table). */
    readonly parameters: string,
  ) {}

  /** The endpoint of slot `hash` mod the table size; an ejected endpoint's slot passes the pick on to the next slot. */
  pick(hash: number): EndpointState {
    const table = this.table;
    const n = table.length;
    let slot = hash % n;
    for (let tries = 1; this.states[table[slot]!]!.ejection !== undefined && tries < n; tries++) slot = slot + 1 === n ? 0 : slot + 1;
    return this.states[table[slot]!]!;
  }

  /** Each endpoint's share of the table: the chance that a uniformly random request hash picks it. */
  shares(): Map<EndpointState, number> {
    const out = new Map<EndpointState, number>();
    for (const index of this.table) {
      const state = this.states[index]!;
      out.set(state, (out.get(state) ?? 0) + 1 / this.table.length);
    }
    return out;
  }

  /** Builds the table of `entries` (at least one, weights above 0) with `tableSize` slots (a prime); `parameters` names it for reuse. */
  static build(entries: readonly WeightedState[], tableSize: number, parameters = ""): MaglevPicker {
    const n = entries.length;
    const offsets = new Float64Array(n);
    const skips = new Float64Array(n);
    const next = new Float64Array(n);
    const quota = shares(entries, tableSize);
    entries.forEach((entry, i) => {
      const address = entry.state.endpoint.address;
      const text = `${address.includes(":") ? `[${address}]` : address}:${entry.state.endpoint.port}`;
      xxHash64(text, key, 0);
      offsets[i] = mod64(key, tableSize);
      xxHash64(text, key, 1);
      skips[i] = mod64(key, tableSize - 1) + 1;
    });
    const table = new Int32Array(tableSize).fill(-1);
    let active = Array.from({ length: n }, (_, i) => i).filter((i) => quota[i]! > 0);
    let filled = 0;
    while (filled < tableSize && active.length > 0) {
      const still: number[] = [];
      for (const i of active) {
        let slot = (offsets[i]! + skips[i]! * next[i]!) % tableSize;
        while (table[slot] !== -1) {
          next[i] = next[i]! + 1;
          slot = (offsets[i]! + skips[i]! * next[i]!) % tableSize;
        }
        table[slot] = i;
        next[i] = next[i]! + 1;
        filled++;
        quota[i] = quota[i]! - 1;
        if (quota[i]! > 0) still.push(i);
      }
      active = still;
    }
    return new MaglevPicker(
      table,
      entries.map((e) => e.state),
      entries,
      parameters,
    );
  }
}

/** Each entry's number of slots: its weight's share of `size`, by largest remainder, summing to `size`. */
function shares(entries: readonly WeightedState[], size: number): Int32Array {
  let sum = 0;
  for (const entry of entries) sum += entry.weight;
  const quota = new Int32Array(entries.length);
  const remainders: { i: number; r: number }[] = [];
  let given = 0;
  entries.forEach((entry, i) => {
    const exact = (entry.weight * size) / sum;
    quota[i] = Math.floor(exact);
    given += quota[i]!;
    remainders.push({ i, r: exact - quota[i]! });
  });
  remainders.sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; given < size; k = (k + 1) % remainders.length, given++) quota[remainders[k]!.i]!++;
  return quota;
}

/** The full 64-bit hash modulo `m` (m below 2^26, so every product below is exact). */
function mod64(hash: Hash64, m: number): number {
  return (((hash.hi % m) * (TWO_32 % m)) % m + (hash.lo % m)) % m;
}
