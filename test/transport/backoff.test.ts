import { expect } from "chai";
import { Backoff } from "../../src/transport/backoff.js";

describe("Backoff", () => {
  it("grows by the multiplier up to the maximum when there is no jitter", () => {
    const b = new Backoff({ initialMs: 100, multiplier: 2, maxMs: 500, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).to.deep.equal([100, 200, 400, 500, 500]);
  });

  it("starts over from the initial delay after reset()", () => {
    const b = new Backoff({ initialMs: 100, multiplier: 2, jitter: 0 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).to.equal(100);
  });

  it("spreads each delay by at most the jitter fraction", () => {
    const low = new Backoff({ initialMs: 1000, jitter: 0.2 }, () => 0);
    const high = new Backoff({ initialMs: 1000, jitter: 0.2 }, () => 0.999999);
    expect(low.next()).to.equal(800);
    expect(high.next()).to.be.within(1199, 1200);
  });
});
