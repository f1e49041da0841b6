import { expect } from "chai";
import fc from "fast-check";
import { SmoothWeightedRoundRobin, weightedRandomPick, type Weighted } from "../../../src/resources/match/weighted-pick.js";
import { XdsError } from "../../../src/xds-error.js";
import { seededRandom } from "../../support/seeded-random.js";

const SEED = 424242;

const label = (weights: readonly number[]): Weighted<number>[] => weights.map((weight, item) => ({ item, weight }));
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const weightsArb = fc
  .array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 8 })
  .filter((ws) => sum(ws) > 0);

describe("weightedRandomPick", () => {
  it("picks each item exactly weight times when the draws cover [0, total) evenly (no bias, no off-by-one)", () => {
    fc.assert(
      fc.property(weightsArb, (weights) => {
        const pick = weightedRandomPick(label(weights));
        const total = sum(weights);
        const counts = weights.map(() => 0);
        for (let k = 0; k < total; k++) counts[pick(() => (k + 0.5) / total)]!++;
        expect(counts).to.deep.equal(weights);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("never picks a weight-0 item, first or last (kitex-contrib/xds can pick a leading one)", () => {
    const pick = weightedRandomPick(label([0, 1, 1, 0]));
    expect(pick(() => 0)).to.equal(1);
    expect(pick(() => 0.4999)).to.equal(1);
    expect(pick(() => 0.5)).to.equal(2);
    expect(pick(() => 1 - 2 ** -53)).to.equal(2);
  });

  it("can pick a trailing weight-1 item (kitex-contrib/xds never can)", () => {
    const pick = weightedRandomPick(label([5, 1]));
    expect(pick(() => 5.5 / 6)).to.equal(1);
  });

  it("returns the only positive item without drawing", () => {
    const pick = weightedRandomPick(label([0, 3]));
    expect(pick(() => expect.fail("no draw needed"))).to.equal(1);
  });

  it("property: empirical frequencies stay within 5 standard deviations of weight / total", () => {
    const draws = 20_000;
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 1, max: 2 ** 31 - 1 }), (weights, seed) => {
        const pick = weightedRandomPick(label(weights));
        const random = seededRandom(seed);
        const counts = weights.map(() => 0);
        for (let i = 0; i < draws; i++) counts[pick(random)]!++;
        const total = sum(weights);
        weights.forEach((w, i) => {
          const p = w / total;
          const sd = Math.sqrt(draws * p * (1 - p));
          expect(Math.abs(counts[i]! - draws * p), `item ${i} of ${weights.join(",")}`).to.be.at.most(5 * sd + 1);
        });
      }),
      { seed: SEED, numRuns: 40 },
    );
  });

  it("rejects no positive weight, negative, fractional and unsafe weights with INVALID_ARGUMENT", () => {
    for (const weights of [[], [0, 0], [1, -1], [1.5], [Number.MAX_SAFE_INTEGER, 1], [Number.NaN]]) {
      expect(() => weightedRandomPick(label(weights)), weights.join(","))
        .to.throw(XdsError)
        .with.property("code", "INVALID_ARGUMENT");
    }
  });
});

describe("SmoothWeightedRoundRobin", () => {
  it("interleaves picks like nginx: weights 5, 1, 1 give a a b a c a a", () => {
    const rr = new SmoothWeightedRoundRobin([
      { item: "a", weight: 5 },
      { item: "b", weight: 1 },
      { item: "c", weight: 1 },
    ]);
    expect(Array.from({ length: 14 }, () => rr.pick()).join("")).to.equal("aabacaa".repeat(2));
  });

  it("property: every window of total consecutive picks holds each item exactly weight times", () => {
    fc.assert(
      fc.property(weightsArb, fc.nat({ max: 50 }), (weights, offset) => {
        const rr = new SmoothWeightedRoundRobin(label(weights));
        for (let i = 0; i < offset; i++) rr.pick();
        const total = sum(weights);
        const counts = weights.map(() => 0);
        for (let k = 0; k < total; k++) counts[rr.pick()]!++;
        expect(counts).to.deep.equal(weights);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("property: it is deterministic, two pickers with the same weights pick the same sequence", () => {
    fc.assert(
      fc.property(weightsArb, (weights) => {
        const a = new SmoothWeightedRoundRobin(label(weights));
        const b = new SmoothWeightedRoundRobin(label(weights));
        for (let i = 0; i < 50; i++) expect(a.pick()).to.equal(b.pick());
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it("never picks a weight-0 item", () => {
    const rr = new SmoothWeightedRoundRobin(label([0, 2, 0, 1]));
    const picked = new Set(Array.from({ length: 30 }, () => rr.pick()));
    expect([...picked].sort()).to.deep.equal([1, 3]);
  });

  it("rejects weights that are all 0 with INVALID_ARGUMENT", () => {
    expect(() => new SmoothWeightedRoundRobin(label([0]))).to.throw(XdsError).with.property("code", "INVALID_ARGUMENT");
  });
});
