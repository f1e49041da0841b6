// Ring hash (gRFC A42) and Maglev: construction, affinity, spread by weight, and how few keys move when an
// endpoint joins. Statistical checks use exact binomial bounds at p < 1e-6 against each endpoint's share of the
// hash space, which the structure itself reports.
import { expect } from "chai";
import { EndpointState } from "../../src/balancing/balancing-state.js";
import { MaglevPicker } from "../../src/balancing/maglev.js";
import { RingHashPicker, type WeightedState } from "../../src/balancing/ring-hash.js";
import { hashTop53, xxHash64 } from "../../src/routing/xx-hash64.js";
import { binomialBounds } from "../integrations/split-bounds.js";
import { seededRandom } from "../support/seeded-random.js";
import { endpoints, ep, locality } from "./endpoint-sets.js";

const owner = { name: "c", released: () => undefined };

/** Endpoints 10.0.0.1, 10.0.0.2… with `weights` (one each), as weighted states. */
function weighted(weights: number[]): WeightedState[] {
  const set = endpoints("c", [locality("a", 1, weights.map((_, i) => ep(`10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`)))]);
  return set.priorities[0]![0]!.endpoints.map((e, i) => ({ state: new EndpointState(1, `${e.address}:${e.port}`, e, owner), weight: weights[i]! }));
}

function keyHash(key: string): number {
  const out = { hi: 0, lo: 0 };
  xxHash64(key, out);
  return hashTop53(out);
}

interface HashPicker {
  pick(hash: number): EndpointState;
  shares(): Map<EndpointState, number>;
}

/** Picks with uniformly random hashes land on each endpoint as often as its share says, within binomial bounds. */
function expectSpreadByShares(picker: HashPicker, n: number, seed: number): void {
  const random = seededRandom(seed);
  const tally = new Map<EndpointState, number>();
  for (let i = 0; i < n; i++) {
    const state = picker.pick(Math.floor(random() * 2 ** 53));
    tally.set(state, (tally.get(state) ?? 0) + 1);
  }
  for (const [state, share] of picker.shares()) {
    const [lo, hi] = binomialBounds(n, share);
    expect(tally.get(state) ?? 0, `${state.endpoint.address} (share ${share.toFixed(4)})`).to.be.within(lo, hi);
  }
}

/** The fraction of `keys` whose endpoint differs between two pickers, and the fraction of those that went to `joined`. */
function movement(before: HashPicker, after: HashPicker, keys: number[], joined: string): { moved: number; toJoined: number } {
  let moved = 0;
  let toJoined = 0;
  for (const key of keys) {
    const to = after.pick(key).endpoint.address;
    if (before.pick(key).endpoint.address === to) continue;
    moved++;
    if (to === joined) toJoined++;
  }
  return { moved: moved / keys.length, toJoined: moved === 0 ? 0 : toJoined / moved };
}

const keys = Array.from({ length: 20_000 }, (_, i) => keyHash(`user-${i}`));
const ring = (entries: WeightedState[], minRingSize = 1024, ringSizeCap = 4096) => RingHashPicker.build(entries, { minRingSize, maxRingSize: 8_388_608, ringSizeCap });

describe("RingHashPicker (gRFC A42)", () => {
  it("sizes the ring as A42 says: the least size from minimum_ring_size giving the lightest endpoint whole entries", () => {
    expect(ring(weighted([1, 1, 1])).size).to.equal(1026); // ceil(1024 / 3) × 3
    expect(ring(weighted([1, 2])).size).to.equal(1026);
    expect(ring(weighted([1, 1]), 10_000).size).to.equal(4096); // capped by the client's ring size cap
    expect(ring(weighted([1, 1]), 10_000, 20_000).size).to.equal(10_000);
    // More endpoints than the capped ring has entries: some have no entry at all (as in gRPC).
    expect(ring(weighted(Array(5000).fill(1))).shares().size).to.equal(4096);
  });

  it("gives each endpoint entries in proportion to its weight, so its share of the hash space follows its weight", () => {
    const entries = weighted([1, 2, 3, 4]);
    const shares = ring(entries, 4096, 65_536).shares();
    entries.forEach(({ state, weight }) => expect(shares.get(state)).to.be.closeTo(weight / 10, 0.03));
  });

  it("spreads uniformly random hashes by each endpoint's share (binomial bounds, p < 1e-6), also after an endpoint joins", () => {
    expectSpreadByShares(ring(weighted([1, 1, 1, 1, 1])), 3000, 1);
    expectSpreadByShares(ring(weighted([1, 1, 1, 1, 1, 1])), 3000, 5);
    expectSpreadByShares(ring(weighted([1, 3, 5])), 3000, 2);
  });

  it("sends the same hash to the same endpoint on every pick and in every ring built from the same endpoints", () => {
    const a = ring(weighted([1, 1, 1, 1]));
    const b = ring(weighted([1, 1, 1, 1]));
    for (const key of keys.slice(0, 1000)) expect(b.pick(key).endpoint.address).to.equal(a.pick(key).endpoint.address);
  });

  // When an endpoint joins, each other endpoint keeps its entries but its last ~1/n (the ring's size stays put), so
  // besides the ~1/n of keys the newcomer takes, about as many move between the others: ~2/n in all, as in Envoy
  // and gRPC, whose rings these are. Modulo hashing would move (n-1)/n.
  it("moves about 2/n of the keys when an n-th endpoint joins, the newcomer taking about half of them", () => {
    for (const n of [6, 11, 21]) {
      const { moved, toJoined } = movement(ring(weighted(Array(n - 1).fill(1))), ring(weighted(Array(n).fill(1))), keys, `10.0.0.${n}`);
      expect(moved, `moved with ${n} endpoints`).to.be.within(0.5 / n, 2.5 / n);
      expect(toJoined, `moved to the new endpoint with ${n} endpoints`).to.be.above(0.4);
    }
  });
});

describe("MaglevPicker", () => {
  it("gives each endpoint a share of the table's slots exactly in proportion to its weight (rounded by slot)", () => {
    const entries = weighted([1, 2, 3, 4]);
    const shares = MaglevPicker.build(entries, 65_537).shares();
    entries.forEach(({ state, weight }) => expect(shares.get(state)).to.be.closeTo(weight / 10, 1 / 65_537));
  });

  it("spreads uniformly random hashes by each endpoint's share (binomial bounds, p < 1e-6), also after an endpoint joins", () => {
    expectSpreadByShares(MaglevPicker.build(weighted([1, 1, 1, 1, 1]), 65_537), 3000, 3);
    expectSpreadByShares(MaglevPicker.build(weighted([1, 1, 1, 1, 1, 1]), 65_537), 3000, 6);
    expectSpreadByShares(MaglevPicker.build(weighted([1, 3, 5]), 251), 3000, 4);
  });

  it("moves about 1/n of the keys when an n-th endpoint joins, nearly all of them to it", () => {
    for (const n of [6, 11, 21]) {
      const { moved, toJoined } = movement(MaglevPicker.build(weighted(Array(n - 1).fill(1)), 65_537), MaglevPicker.build(weighted(Array(n).fill(1)), 65_537), keys, `10.0.0.${n}`);
      expect(moved, `moved with ${n} endpoints`).to.be.within(0.5 / n, 1.5 / n);
      expect(toJoined, `moved to the new endpoint with ${n} endpoints`).to.be.above(0.9);
    }
  });

  it("fills every slot with heavily skewed weights (each endpoint drops out of the turns once it has its share)", () => {
    const entries = weighted([1_000_000, ...Array(999).fill(1)]);
    const shares = MaglevPicker.build(entries, 65_537).shares();
    expect([...shares.values()].reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-9);
    expect(shares.get(entries[0]!.state)).to.be.closeTo(1_000_000 / 1_000_999, 1 / 65_537);
  });
});
