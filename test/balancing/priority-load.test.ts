// How traffic is shared between priorities: Envoy's priority levels with the overprovisioning factor.
import { expect } from "chai";
import { priorityLoads } from "../../src/balancing/priority-load.js";

describe("priorityLoads (overprovisioning factor 1.4 unless told)", () => {
  it("sends everything to priority 0 while it is healthy, or degraded by less than 1/1.4", () => {
    expect(priorityLoads([10, 10], [10, 10], 140)).to.deep.equal([100, 0]);
    expect(priorityLoads([8, 10], [10, 10], 140)).to.deep.equal([100, 0]); // 8/10 × 1.4 = 112%
  });

  it("spills the missing share to the next priority gradually as priority 0 degrades", () => {
    expect(priorityLoads([6, 10], [10, 10], 140)).to.deep.equal([84, 16]);
    expect(priorityLoads([3, 10], [10, 10], 140)).to.deep.equal([42, 58]);
    expect(priorityLoads([0, 10], [10, 10], 140)).to.deep.equal([0, 100]);
  });

  it("goes on to priority 2 only for what priorities 0 and 1 cannot take", () => {
    expect(priorityLoads([5, 2, 10], [10, 10, 10], 140)).to.deep.equal([70, 28, 2]);
  });

  it("scales the loads up when the healths sum to less than 100%, so that all traffic goes somewhere", () => {
    expect(priorityLoads([2, 2], [10, 10], 140)).to.deep.equal([50, 50]); // 28% each
    expect(priorityLoads([1, 3], [10, 10], 100)).to.deep.equal([25, 75]);
  });

  it("takes the factor from the assignment: 100% means no overprovisioning", () => {
    expect(priorityLoads([8, 10], [10, 10], 100)).to.deep.equal([80, 20]);
  });

  it("gives no load at all when no priority has a healthy endpoint", () => {
    expect(priorityLoads([0, 0], [4, 3], 140)).to.deep.equal([0, 0]);
    expect(priorityLoads([], [], 140)).to.deep.equal([]);
  });

  it("always sums to 100 when something is healthy (rounding leftovers go to the first priority with load)", () => {
    for (let a = 0; a <= 7; a++) {
      for (let b = 0; b <= 7; b++) {
        const loads = priorityLoads([a, b, 1], [7, 7, 3], 140);
        expect(loads.reduce((x, y) => x + y, 0), `${a}, ${b}`).to.equal(100);
      }
    }
  });
});
