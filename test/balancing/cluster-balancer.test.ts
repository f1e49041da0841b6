import { expect } from "chai";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import type { EndpointPicker } from "../../src/routing/cluster-picking.js";
import { binomialBounds } from "../integrations/split-bounds.js";
import { seededRandom } from "../support/seeded-random.js";
import { clusterModel, endpoints, ep, locality, pickAddress, testBalancer, updated, type LocalityInit } from "./endpoint-sets.js";

function counts(picker: EndpointPicker, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const address = pickAddress(picker);
    out[address] = (out[address] ?? 0) + 1;
  }
  return out;
}

function picker(name: string, localities: LocalityInit[], random: () => number = Math.random): EndpointPicker {
  return updated(testBalancer(name, random), endpoints(name, localities));
}

const tenAddresses = Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}`);

describe("ClusterBalancer: picking (priority, locality weight, endpoint weight, smooth WRR)", () => {
  it("uses only the lowest priority that has a usable endpoint", () => {
    const p = picker("c", [locality("a", 1, [ep("10.0.0.1"), ep("10.0.0.2")]), locality("b", 1, [ep("10.0.1.1")], 1)]);
    expect(counts(p, 10)).to.deep.equal({ "10.0.0.1": 5, "10.0.0.2": 5 });
  });

  it("fails over to the next priority when every endpoint of priority 0 is unusable", () => {
    const p = picker("c", [
      locality("a", 1, [ep("10.0.0.1", { health: HealthStatus.UNHEALTHY }), ep("10.0.0.2", { health: HealthStatus.DRAINING })]),
      locality("b", 1, [ep("10.0.1.1")], 1),
    ]);
    expect(counts(p, 3)).to.deep.equal({ "10.0.1.1": 3 });
  });

  it("never picks UNHEALTHY, DRAINING, TIMEOUT or DEGRADED endpoints, and does pick UNKNOWN ones", () => {
    const p = picker("c", [
      locality("a", 1, [
        ep("10.0.0.1", { health: HealthStatus.UNHEALTHY }),
        ep("10.0.0.2", { health: HealthStatus.DRAINING }),
        ep("10.0.0.3", { health: HealthStatus.TIMEOUT }),
        ep("10.0.0.4", { health: HealthStatus.DEGRADED }),
        ep("10.0.0.5", { health: HealthStatus.UNKNOWN }),
        ep("10.0.0.6"),
      ]),
    ]);
    expect(counts(p, 1000)).to.deep.equal({ "10.0.0.5": 500, "10.0.0.6": 500 });
  });

  it("splits over localities exactly by locality weight over any full cycle (1:3)", () => {
    const p = picker("c", [locality("a", 1, [ep("10.0.0.1")]), locality("b", 3, [ep("10.0.1.1")])]);
    expect(counts(p, 4)).to.deep.equal({ "10.0.0.1": 1, "10.0.1.1": 3 });
    expect(counts(p, 400)).to.deep.equal({ "10.0.0.1": 100, "10.0.1.1": 300 });
  });

  it("splits within a locality exactly by endpoint weight over any full cycle, interleaved (smooth)", () => {
    const p = picker("c", [locality("a", 1, [ep("10.0.0.1", { weight: 1 }), ep("10.0.0.2", { weight: 2 }), ep("10.0.0.3", { weight: 3 })])]);
    const sequence = Array.from({ length: 60 }, () => pickAddress(p));
    for (let start = 0; start + 6 <= sequence.length; start++) {
      const window = sequence.slice(start, start + 6);
      expect(window.filter((a) => a === "10.0.0.3")).to.have.length(3);
      expect(window.filter((a) => a === "10.0.0.2")).to.have.length(2);
    }
    // Smooth: the heaviest endpoint is never picked three times in a row.
    expect(sequence.join(",")).to.not.include("10.0.0.3,10.0.0.3,10.0.0.3");
    expect(counts(p, 600)).to.deep.equal({ "10.0.0.1": 100, "10.0.0.2": 200, "10.0.0.3": 300 });
  });

  it("combines locality and endpoint weights: each endpoint gets locality share × endpoint share", () => {
    const p = picker("c", [
      locality("a", 1, [ep("10.0.0.1", { weight: 1 }), ep("10.0.0.2", { weight: 3 })]),
      locality("b", 1, [ep("10.0.1.1")]),
    ]);
    expect(counts(p, 800)).to.deep.equal({ "10.0.0.1": 100, "10.0.0.2": 300, "10.0.1.1": 400 });
  });

  it("gives a weight-0 locality no traffic while another locality has a weight (gRFC A27)", () => {
    const p = picker("c", [locality("a", 0, [ep("10.0.0.1")]), locality("b", 2, [ep("10.0.1.1")])]);
    expect(counts(p, 10)).to.deep.equal({ "10.0.1.1": 10 });
  });

  it("fails over when the priority's only usable endpoints are in weight-0 localities", () => {
    const p = picker("c", [
      locality("a", 0, [ep("10.0.0.1")]),
      locality("b", 5, [ep("10.0.1.1", { health: HealthStatus.UNHEALTHY })]),
      locality("c", 1, [ep("10.0.2.1")], 1),
    ]);
    expect(counts(p, 2)).to.deep.equal({ "10.0.2.1": 2 });
  });

  it("pools the priority's endpoints by endpoint weight when no locality has a weight", () => {
    const p = picker("c", [locality("a", 0, [ep("10.0.0.1"), ep("10.0.0.2")]), locality("b", 0, [ep("10.0.1.1")])]);
    expect(counts(p, 300)).to.deep.equal({ "10.0.0.1": 100, "10.0.0.2": 100, "10.0.1.1": 100 });
  });

  it("has no usable endpoint, and picks fail with NO_HEALTHY_ENDPOINT naming the cluster, when no endpoint is HEALTHY or UNKNOWN", () => {
    const balancer = testBalancer("c");
    expect(balancer.update(clusterModel("c"), endpoints("c", [locality("a", 1, [ep("10.0.0.1", { health: HealthStatus.UNHEALTHY })])]))).to.equal(false);
    expect(balancer.pick(0)).to.deep.equal({ code: "NO_HEALTHY_ENDPOINT", message: `cluster "c" has no healthy endpoint` });
    expect(balancer.update(clusterModel("c"), endpoints("c", []))).to.equal(false);
  });
});

describe("ClusterBalancer: state carried across endpoint sets", () => {
  it("goes on round robin where the last set left off when the same endpoints are sent again (an EDS push per pick)", () => {
    const balancer = testBalancer("c", seededRandom(1));
    const picked: string[] = [];
    for (let i = 0; i < 30; i++) picked.push(pickAddress(updated(balancer, endpoints("c", [locality("a", 1, tenAddresses.map((a) => ep(a)))]))));
    const start = tenAddresses.indexOf(picked[0]!);
    expect(picked).to.deep.equal(Array.from({ length: 30 }, (_, i) => tenAddresses[(start + i) % 10]));
  });

  it("follows the upcoming endpoint by address when endpoints are added, removed or reordered", () => {
    const balancer = testBalancer("c", () => 0);
    const first = updated(balancer, endpoints("c", [locality("a", 1, ["10.0.0.1", "10.0.0.2", "10.0.0.3"].map((a) => ep(a)))]));
    expect([pickAddress(first), pickAddress(first)]).to.deep.equal(["10.0.0.1", "10.0.0.2"]);
    // 10.0.0.3 is next: it stays next though it moved, and a new endpoint does not reset the round.
    const second = updated(balancer, endpoints("c", [locality("a", 1, ["10.0.0.3", "10.0.0.9", "10.0.0.1", "10.0.0.2"].map((a) => ep(a)))]));
    expect(Array.from({ length: 4 }, () => pickAddress(second))).to.deep.equal(["10.0.0.3", "10.0.0.9", "10.0.0.1", "10.0.0.2"]);
  });

  it("keeps each endpoint's weighted credit, so the split stays exact with a new set between every pick", () => {
    const balancer = testBalancer("c", seededRandom(2));
    const set = () => endpoints("c", [locality("a", 1, [ep("10.0.0.1", { weight: 1 }), ep("10.0.0.2", { weight: 2 }), ep("10.0.0.3", { weight: 3 })])]);
    const tally: Record<string, number> = {};
    for (let i = 0; i < 600; i++) {
      const address = pickAddress(updated(balancer, set()));
      tally[address] = (tally[address] ?? 0) + 1;
    }
    expect(tally).to.deep.equal({ "10.0.0.1": 100, "10.0.0.2": 200, "10.0.0.3": 300 });
  });

  it("keeps each locality's credit, so the locality split stays exact with a new set between every pick", () => {
    const balancer = testBalancer("c", seededRandom(3));
    const set = () => endpoints("c", [locality("a", 1, [ep("10.0.0.1")]), locality("b", 3, [ep("10.0.1.1"), ep("10.0.1.2")])]);
    const tally: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const address = pickAddress(updated(balancer, set()));
      tally[address] = (tally[address] ?? 0) + 1;
    }
    expect(tally).to.deep.equal({ "10.0.0.1": 100, "10.0.1.1": 150, "10.0.1.2": 150 });
  });

  it("keeps state only for the endpoints of the latest set", () => {
    const balancer = testBalancer("c");
    const set = endpoints("c", [locality("a", 1, [ep("10.0.0.1"), ep("10.0.0.2", { health: HealthStatus.UNHEALTHY })])]);
    updated(balancer, set);
    expect(balancer.size).to.equal(2);
    updated(balancer, endpoints("c", [locality("a", 1, [ep("10.0.0.3")])]));
    expect(balancer.size).to.equal(1);
  });
});

describe("ClusterBalancer: random start (a fleet of clients does not all begin with the same endpoint)", () => {
  const fresh = 3000;

  /** How often each address is the first pick of `fresh` new balancers. */
  function firstPicks(localities: LocalityInit[]): Map<string, number> {
    const random = seededRandom(99);
    const set = endpoints("c", localities);
    const tally = new Map<string, number>();
    for (let i = 0; i < fresh; i++) {
      const address = pickAddress(updated(testBalancer("c", random), set));
      tally.set(address, (tally.get(address) ?? 0) + 1);
    }
    return tally;
  }

  function expectShares(tally: Map<string, number>, shares: Record<string, number>): void {
    const bounds = new Map<number, [number, number]>();
    for (const [address, share] of Object.entries(shares)) {
      if (!bounds.has(share)) bounds.set(share, binomialBounds(fresh, share));
      const [lo, hi] = bounds.get(share)!;
      expect(tally.get(address) ?? 0, address).to.be.within(lo, hi);
    }
  }

  it("starts round robin at each of 10 equal endpoints equally often", () => {
    expectShares(firstPicks([locality("a", 1, tenAddresses.map((a) => ep(a)))]), Object.fromEntries(tenAddresses.map((a) => [a, 0.1])));
  });

  it("starts smooth weighted round robin at each endpoint in proportion to its weight", () => {
    const weights = [1, 2, 3, 4];
    const tally = firstPicks([locality("a", 1, weights.map((weight, i) => ep(`10.0.0.${i + 1}`, { weight })))]);
    expectShares(tally, Object.fromEntries(weights.map((w, i) => [`10.0.0.${i + 1}`, w / 10])));
  });

  it("starts the locality round at each locality in proportion to its weight", () => {
    const tally = firstPicks([locality("a", 1, [ep("10.0.0.1")]), locality("b", 3, [ep("10.0.1.1")])]);
    expectShares(tally, { "10.0.0.1": 0.25, "10.0.1.1": 0.75 });
  });
});
