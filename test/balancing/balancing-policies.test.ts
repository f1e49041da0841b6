// Each policy as a ClusterBalancer applies it, call by call: least request, random, ring hash, Maglev, pick first;
// priority spill-over with the overprovisioning factor; the circuit breaker; and outlier ejections fed by released
// calls. Distributions are checked with exact binomial bounds at p < 1e-6, also with a new endpoint set (an EDS
// push) between picks.
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { Cluster_LbPolicy } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { PickFirstSchema } from "../../gen/envoy/extensions/load_balancing_policies/pick_first/v3/pick_first_pb.js";
import type { ClusterBalancer } from "../../src/balancing/cluster-balancer.js";
import { validateClusterLoadAssignment, type EndpointsModel } from "../../src/resources/endpoints.js";
import { isPickFailure, type PickedEndpoint } from "../../src/routing/cluster-picking.js";
import { binomialBounds } from "../integrations/split-bounds.js";
import { seededRandom } from "../support/seeded-random.js";
import { clusterModel, endpoints, ep, locality, pickAddress, testBalancer, updated, type LocalityInit } from "./endpoint-sets.js";

const five = Array.from({ length: 5 }, (_, i) => `10.0.0.${i + 1}`);

function held(balancer: ClusterBalancer, hash = 0): PickedEndpoint {
  const picked = balancer.pick(hash);
  if (isPickFailure(picked)) throw new Error(picked.message);
  return picked;
}

function tally(n: number, pick: (i: number) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const address = pick(i);
    out.set(address, (out.get(address) ?? 0) + 1);
  }
  return out;
}

function expectBinomial(counts: Map<string, number>, n: number, shares: Record<string, number>): void {
  for (const [address, share] of Object.entries(shares)) {
    const [lo, hi] = binomialBounds(n, share);
    expect(counts.get(address) ?? 0, `${address} of ${n}`).to.be.within(lo, hi);
  }
}

describe("ClusterBalancer: least request (gRFC A48)", () => {
  const cluster = clusterModel("c", { lbPolicy: Cluster_LbPolicy.LEAST_REQUEST });

  it("with two choices, picks an endpoint that has more calls in flight only when both draws fall on it (1/4)", () => {
    const balancer = updated(testBalancer("c", seededRandom(11)), endpoints("c", [locality("a", 1, [ep("10.0.0.1"), ep("10.0.0.2")])]), cluster);
    // Hold three calls on 10.0.0.1; release whatever lands on 10.0.0.2.
    const busy: PickedEndpoint[] = [];
    while (busy.length < 3) {
      const picked = held(balancer);
      if (picked.endpoint.address === "10.0.0.1") busy.push(picked);
      else picked.release(0);
    }
    const n = 2000;
    expectBinomial(tally(n, () => pickAddress(balancer)), n, { "10.0.0.1": 0.25 });
    for (const call of busy) call.release(0);
    // With no calls in flight, ties go to the first draw: each endpoint half the time.
    expectBinomial(tally(n, () => pickAddress(balancer)), n, { "10.0.0.1": 0.5 });
  });

  it("spreads evenly over equally loaded endpoints, with an EDS push between every pick", () => {
    const balancer = testBalancer("c", seededRandom(12));
    const n = 3000;
    const counts = tally(n, () => pickAddress(updated(balancer, endpoints("c", [locality("a", 1, five.map((a) => ep(a)))]), cluster)));
    expectBinomial(counts, n, Object.fromEntries(five.map((a) => [a, 0.2])));
  });
});

describe("ClusterBalancer: random", () => {
  const cluster = clusterModel("c", { lbPolicy: Cluster_LbPolicy.RANDOM });

  it("picks each endpoint uniformly, also as endpoints come and go between picks", () => {
    const balancer = updated(testBalancer("c", seededRandom(13)), endpoints("c", [locality("a", 1, five.map((a) => ep(a)))]), cluster);
    const n = 3000;
    expectBinomial(tally(n, () => pickAddress(balancer)), n, Object.fromEntries(five.map((a) => [a, 0.2])));
    // Churn: a sixth endpoint joins for every other pick; the five keep equal shares among themselves.
    const churned = tally(n, (i) => pickAddress(updated(balancer, endpoints("c", [locality("a", 1, [...five, ...(i % 2 === 0 ? ["10.0.0.6"] : [])].map((a) => ep(a)))]), cluster)));
    const fives = five.reduce((sum, a) => sum + (churned.get(a) ?? 0), 0);
    expectBinomial(new Map(five.map((a) => [a, churned.get(a) ?? 0])), fives, Object.fromEntries(five.map((a) => [a, 0.2])));
  });
});

describe("ClusterBalancer: ring hash and Maglev", () => {
  for (const [name, init] of [
    ["ring hash", { lbPolicy: Cluster_LbPolicy.RING_HASH }],
    ["Maglev", { lbPolicy: Cluster_LbPolicy.MAGLEV }],
  ] as const) {
    it(`${name}: sends each request hash to one endpoint, across EDS pushes, and spreads random hashes over all`, () => {
      const cluster = clusterModel("c", init);
      const balancer = testBalancer("c", seededRandom(14));
      const set = () => endpoints("c", [locality("a", 1, five.map((a) => ep(a)))]);
      expect(updated(balancer, set(), cluster).hashed).to.equal(true);
      const random = seededRandom(15);
      const hashes = Array.from({ length: 200 }, () => Math.floor(random() * 2 ** 53));
      const first = hashes.map((h) => pickAddress(updated(balancer, set(), cluster), h));
      const again = hashes.map((h) => pickAddress(updated(balancer, set(), cluster), h));
      expect(again).to.deep.equal(first);
      expect(new Set(first).size).to.equal(5);
    });
  }

  it("ring hash: moves only the ejected endpoint's keys while it is ejected", () => {
    const cluster = clusterModel("c", { lbPolicy: Cluster_LbPolicy.RING_HASH, outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 50, enforcingSuccessRate: 0 } });
    const balancer = updated(testBalancer("c", seededRandom(16)), endpoints("c", [locality("a", 1, five.map((a) => ep(a)))]), cluster);
    const random = seededRandom(17);
    const hashes = Array.from({ length: 500 }, () => Math.floor(random() * 2 ** 53));
    const before = hashes.map((h) => pickAddress(balancer, h));
    const victim = held(balancer, hashes[0]!);
    victim.release(14);
    const during = hashes.map((h) => pickAddress(balancer, h));
    hashes.forEach((_, i) => {
      if (before[i] === victim.endpoint.address) expect(during[i]).to.not.equal(victim.endpoint.address);
      else expect(during[i]).to.equal(before[i]);
    });
    balancer.close();
  });
});

describe("ClusterBalancer: pick first", () => {
  const pickFirst = (shuffleAddressList: boolean) =>
    clusterModel("c", { loadBalancingPolicy: { policies: [{ typedExtensionConfig: { name: "pf", typedConfig: anyPack(PickFirstSchema, create(PickFirstSchema, { shuffleAddressList })) } }] } });

  it("sends every call to the first usable endpoint, in the order sent", () => {
    const balancer = updated(testBalancer("c"), endpoints("c", [locality("a", 1, [ep("10.0.0.1", { health: HealthStatus.DRAINING }), ep("10.0.0.2"), ep("10.0.0.3")])]), pickFirst(false));
    expect(tally(50, () => pickAddress(balancer))).to.deep.equal(new Map([["10.0.0.2", 50]]));
  });

  it("with shuffle_address_list, sends every call to one endpoint drawn at random (each equally often over fresh balancers)", () => {
    const random = seededRandom(23);
    const set = endpoints("c", [locality("a", 1, five.map((a) => ep(a)))]);
    const n = 1000;
    const firsts = tally(n, () => {
      const balancer = updated(testBalancer("c", random), set, pickFirst(true));
      const first = pickAddress(balancer);
      expect(pickAddress(balancer)).to.equal(first);
      return first;
    });
    expectBinomial(firsts, n, Object.fromEntries(five.map((a) => [a, 0.2])));
  });
});

describe("ClusterBalancer: priorities with the overprovisioning factor", () => {
  /** Priority 0: `healthy` of 10 endpoints healthy; priority 1: 10.1.0.1. */
  function degraded(healthy: number, factor?: number): EndpointsModel {
    const p0: LocalityInit = locality("a", 1, Array.from({ length: 10 }, (_, i) => ep(`10.0.0.${i + 1}`, { health: i < healthy ? HealthStatus.HEALTHY : HealthStatus.UNHEALTHY })));
    const p1 = locality("b", 1, [ep("10.1.0.1")], 1);
    if (factor === undefined) return endpoints("c", [p0, p1]);
    return validateClusterLoadAssignment(create(ClusterLoadAssignmentSchema, { clusterName: "c", endpoints: [p0, p1], policy: { overprovisioningFactor: factor } }), "c");
  }

  it("keeps all traffic on priority 0 while 1/1.4 of it is healthy, then spills gradually (6 of 10: 16% to priority 1)", () => {
    const n = 3000;
    const full = updated(testBalancer("c", seededRandom(18)), degraded(8));
    expect(tally(n, () => pickAddress(full)).get("10.1.0.1") ?? 0).to.equal(0);
    const spilling = updated(testBalancer("c", seededRandom(19)), degraded(6));
    expectBinomial(tally(n, () => pickAddress(spilling)), n, { "10.1.0.1": 0.16 });
  });

  it("takes the factor from the assignment's policy: 100 spills as soon as an endpoint is down", () => {
    const n = 3000;
    const balancer = updated(testBalancer("c", seededRandom(20)), degraded(9, 100));
    expectBinomial(tally(n, () => pickAddress(balancer)), n, { "10.1.0.1": 0.1 });
  });

  it("counts ejected endpoints as down: ejections in priority 0 spill traffic to priority 1", () => {
    const cluster = clusterModel("c", { outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 100, enforcingSuccessRate: 0 } });
    const balancer = updated(testBalancer("c", seededRandom(21)), degraded(10), cluster);
    // Eject four endpoints of priority 0 with one failure each.
    const ejected = new Set<string>();
    while (ejected.size < 4) {
      const picked = held(balancer);
      if (picked.endpoint.address.startsWith("10.0.") && !ejected.has(picked.endpoint.address)) {
        ejected.add(picked.endpoint.address);
        picked.release(14);
      } else picked.release(0);
    }
    const n = 3000;
    const counts = tally(n, () => pickAddress(balancer));
    for (const address of ejected) expect(counts.get(address) ?? 0).to.equal(0);
    expectBinomial(counts, n, { "10.1.0.1": 0.16 });
    balancer.close();
  });
});

describe("ClusterBalancer: circuit breaking (gRFC A32)", () => {
  it("fails a pick with CIRCUIT_BREAKER_OPEN, naming the cluster and the limit, while max_requests calls are in flight", () => {
    const cluster = clusterModel("c", { circuitBreakers: { thresholds: [{ maxRequests: 3 }] } });
    const balancer = updated(testBalancer("c"), endpoints("c", [locality("a", 1, five.map((a) => ep(a)))]), cluster);
    const calls = [held(balancer), held(balancer), held(balancer)];
    expect(balancer.pick(0)).to.deep.equal({
      code: "CIRCUIT_BREAKER_OPEN",
      message: `cluster "c" has 3 calls in flight, the most its circuit breaker allows (max_requests)`,
    });
    calls[0]!.release(0);
    held(balancer).release(undefined);
    expect(balancer.status().inFlight).to.equal(2);
  });

  it("counts calls across EDS pushes, and a call released after its endpoint left still frees its place", () => {
    const cluster = clusterModel("c", { circuitBreakers: { thresholds: [{ maxRequests: 1 }] } });
    const balancer = updated(testBalancer("c"), endpoints("c", [locality("a", 1, [ep("10.0.0.1")])]), cluster);
    const call = held(balancer);
    updated(balancer, endpoints("c", [locality("a", 1, [ep("10.0.0.2")])]), cluster);
    expect(isPickFailure(balancer.pick(0))).to.equal(true);
    call.release(0);
    expect(pickAddress(balancer)).to.equal("10.0.0.2");
  });
});

describe("ClusterBalancer: outlier ejections through released calls", () => {
  it("ejects an endpoint at once on its consecutive failures, says so in the log and the status, and picks no more of it", () => {
    const lines: string[] = [];
    let changes = 0;
    const cluster = clusterModel("c", { outlierDetection: { consecutive5xx: 2, maxEjectionPercent: 50, enforcingSuccessRate: 0 } });
    const balancer = updated(testBalancer("c", seededRandom(22), { log: (l) => lines.push(l), changed: () => changes++ }), endpoints("c", [locality("a", 1, five.map((a) => ep(a)))]), cluster);
    // Two UNAVAILABLE outcomes on one endpoint; the others' successes do not end its run.
    const victim = held(balancer);
    victim.release(14);
    let failures = 1;
    while (failures < 2) {
      const picked = held(balancer);
      if (picked.endpoint === victim.endpoint) {
        picked.release(14);
        failures++;
      } else picked.release(0);
    }
    expect(changes).to.equal(1);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(new RegExp(`^cluster "c": endpoint ${victim.endpoint.address.replaceAll(".", "\\.")}:8888 ejected for 30 s \\(ejection 1 in a row\\): 2 consecutive 5xx-class failures \\(the last UNAVAILABLE\\)$`));
    const status = balancer.status().endpoints.find((e) => e.address === victim.endpoint.address)!;
    expect(status.ejection?.reason).to.equal("2 consecutive 5xx-class failures (the last UNAVAILABLE)");
    expect(tally(200, () => pickAddress(balancer)).has(victim.endpoint.address)).to.equal(false);
    balancer.close();
  });
});
