// Ring hash (gRFC A42, Envoy's ketama ring with XXH64), over one priority's usable endpoints.
//
// Each endpoint's weight is its load_balancing_weight times its locality's weight (A42: the ring picks the locality
// and the endpoint in one step). The ring holds ceil(scale) entries, where scale is the smallest number not below
// `minRingSize` that gives the lightest endpoint a whole number of entries, clamped to `maxRingSize`; both sizes are
// first capped by the client's `ringSizeCap` (A42's local cap, default 4096, so that a control plane cannot make a
// client build rings of millions of entries). Endpoint i gets entries until the running total reaches its share of
// scale, hashed from `address:port_n` (IPv6 in brackets) for its n-th entry: the same ring grpc-js and gRPC build,
// so a request hash lands on the same endpoint in either client.
//
// A pick takes the first entry whose hash is not below the request's, wrapping to the first: O(log ring size); an
// ejected endpoint's entries pass the pick on to the next entry. When an endpoint joins, the others keep all but
// their last entries (the ring keeps its size), so about 2/n of the keys move, half of them to the newcomer.

import { hashTop53, xxHash64, type Hash64 } from "../routing/xx-hash64.js";
import type { EndpointState } from "./balancing-state.js";

/** An endpoint and its weight in a ring or Maglev table. */
export interface WeightedState {
  readonly state: EndpointState;
  readonly weight: number;
}

/** Ring sizes, as configured and as capped. */
export interface RingSizes {
  readonly minRingSize: number;
  readonly maxRingSize: number;
  /** The client's cap on both (gRFC A42). */
  readonly ringSizeCap: number;
}

const key: Hash64 = { hi: 0, lo: 0 };

/** A ring of endpoints, searched by request hash. */
export class RingHashPicker {
  private constructor(
    /** The entries' hashes (top 53 bits), ascending. */
    private readonly hashes: Float64Array,
    /** The entries' endpoints, index for index. */
    private readonly states: readonly EndpointState[],
    /** The endpoints and weights it was built from. */
    readonly entries: readonly WeightedState[],
    /** How it was sized, as the caller names it (rings of the same entries and parameters are the same ring). */
    readonly parameters: string,
  ) {}

  /** How many entries the ring has. */
  get size(): number {
    return this.hashes.length;
  }

  /**
   * The endpoint of the first entry whose hash is not below `hash`, wrapping round; an ejected endpoint's entry
   * passes the pick on to the next entry, as gRPC passes over a subchannel in TRANSIENT_FAILURE.
   */
  pick(hash: number): EndpointState {
    const hashes = this.hashes;
    const n = hashes.length;
    let low = 0;
    let high = n;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (hashes[mid]! < hash) low = mid + 1;
      else high = mid;
    }
    let at = low === n ? 0 : low;
    for (let tries = 1; this.states[at]!.ejection !== undefined && tries < n; tries++) at = at + 1 === n ? 0 : at + 1;
    return this.states[at]!;
  }

  /** Each endpoint's share of the hash space: the chance that a uniformly random request hash picks it. */
  shares(): Map<EndpointState, number> {
    const hashes = this.hashes;
    const out = new Map<EndpointState, number>();
    const span = 2 ** 53;
    for (let i = 0; i < hashes.length; i++) {
      // Entry i takes the hashes above the previous entry's up to its own; entry 0 also those above the last.
      const arc = i === 0 ? hashes[0]! + 1 + (span - 1 - hashes[hashes.length - 1]!) : hashes[i]! - hashes[i - 1]!;
      const state = this.states[i]!;
      out.set(state, (out.get(state) ?? 0) + arc / span);
    }
    return out;
  }

  /** Builds the ring of `entries` (at least one, weights above 0); `parameters` names the sizes for reuse. */
  static build(entries: readonly WeightedState[], sizes: RingSizes, parameters = ""): RingHashPicker {
    let sum = 0;
    for (const entry of entries) sum += entry.weight;
    let minNormalized = 1;
    for (const entry of entries) minNormalized = Math.min(minNormalized, entry.weight / sum);
    const minRing = Math.min(sizes.minRingSize, sizes.ringSizeCap);
    const maxRing = Math.min(sizes.maxRingSize, sizes.ringSizeCap);
    const scale = Math.min(Math.ceil(minNormalized * minRing) / minNormalized, maxRing);
    const unsorted: number[] = [];
    const owners: number[] = [];
    let target = 0;
    entries.forEach((entry, i) => {
      const address = entry.state.endpoint.address;
      const prefix = `${address.includes(":") ? `[${address}]` : address}:${entry.state.endpoint.port}_`;
      target += (scale * entry.weight) / sum;
      for (let n = 0; unsorted.length < target; n++) {
        xxHash64(prefix + n, key);
        unsorted.push(hashTop53(key));
        owners.push(i);
      }
    });
    const order = Array.from({ length: unsorted.length }, (_, i) => i).sort((a, b) => unsorted[a]! - unsorted[b]! || a - b);
    const hashes = new Float64Array(unsorted.length);
    const states: EndpointState[] = new Array<EndpointState>(unsorted.length);
    order.forEach((from, to) => {
      hashes[to] = unsorted[from]!;
      states[to] = entries[owners[from]!]!.state;
    });
    return new RingHashPicker(hashes, states, entries, parameters);
  }
}
