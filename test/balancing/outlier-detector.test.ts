// Outlier detection's algorithms (gRFC A50 and Envoy's consecutive failures), driven call by call and sweep by sweep
// with explicit times; the timer and the pickers around it are tested through the balancer and over the wire.
import { create } from "@bufbuild/protobuf";
import { expect } from "chai";
import { OutlierDetectionSchema } from "../../gen/envoy/config/cluster/v3/outlier_detection_pb.js";
import { EndpointState } from "../../src/balancing/balancing-state.js";
import { OutlierDetector } from "../../src/balancing/outlier-detector.js";
import { buildOutlierDetection } from "../../src/resources/cluster-outlier-detection.js";
import { fieldRejecter } from "../../src/resources/field-error.js";
import { endpoints, ep, locality } from "./endpoint-sets.js";

type OutlierInit = Parameters<typeof create<typeof OutlierDetectionSchema>>[1];

const OK = 0;
const INVALID_ARGUMENT = 3;
const UNAVAILABLE = 14;
const INTERNAL = 13;
const owner = { name: "c", released: () => undefined };

function states(n: number): EndpointState[] {
  const set = endpoints("c", [locality("a", 1, Array.from({ length: n }, (_, i) => ep(`10.0.0.${i + 1}`)))]);
  return set.priorities[0]![0]!.endpoints.map((e) => new EndpointState(1, `${e.address}:${e.port}`, e, owner));
}

function detector(init: OutlierInit, all: EndpointState[], random = () => 0): OutlierDetector {
  const config = buildOutlierDetection(create(OutlierDetectionSchema, init), "outlier_detection", fieldRejecter("cluster", "c"));
  const d = new OutlierDetector(config, random);
  d.recount(all);
  return d;
}

/** `calls` outcomes on `state`, every `failEvery`-th one failing with `status` (0: none fail). */
function calls(d: OutlierDetector, state: EndpointState, calls: number, failEvery: number, status = UNAVAILABLE, now = 0): void {
  for (let i = 1; i <= calls; i++) d.record(state, failEvery > 0 && i % failEvery === 0 ? status : OK, () => now);
}

const seconds = (s: number) => ({ seconds: BigInt(s), nanos: 0 });
/** Failure percentage only (the consecutive algorithms off). */
const failurePercentage: OutlierInit = {
  enforcingSuccessRate: 0,
  enforcingConsecutive5xx: 0,
  enforcingFailurePercentage: 100,
  failurePercentageThreshold: 30,
  failurePercentageMinimumHosts: 1,
  failurePercentageRequestVolume: 10,
  maxEjectionPercent: 50,
  baseEjectionTime: seconds(30),
};

describe("OutlierDetector: failure percentage (gRFC A50)", () => {
  it("ejects an endpoint that fails 50% of its calls at the sweep, and no other", () => {
    const all = states(4);
    const d = detector(failurePercentage, all);
    calls(d, all[0]!, 20, 2);
    for (const s of all.slice(1)) calls(d, s, 20, 0);
    expect(all[0]!.ejection).to.equal(undefined); // not before the sweep
    expect(d.sweep(all, 1000)).to.equal(true);
    expect(all[0]!.ejection).to.deep.equal({ reason: "failure percentage 50% over 20 calls is above the threshold 30%", since: 1000, until: 31000 });
    expect(all.slice(1).map((s) => s.ejection)).to.deep.equal([undefined, undefined, undefined]);
  });

  it("brings it back at the first sweep after base_ejection_time, and lengthens the next ejection (multiplier)", () => {
    const all = states(2);
    const d = detector(failurePercentage, all);
    calls(d, all[0]!, 20, 2);
    d.sweep(all, 0);
    expect(d.sweep(all, 29_000)).to.equal(false);
    expect(all[0]!.ejection).to.not.equal(undefined);
    expect(d.sweep(all, 30_000)).to.equal(true);
    expect(all[0]!.ejection).to.equal(undefined);
    calls(d, all[0]!, 20, 2);
    d.sweep(all, 40_000);
    expect(all[0]!.ejection?.until).to.equal(40_000 + 2 * 30_000);
  });

  it("caps the ejection at max(base, max_ejection_time), and lowers the multiplier at each sweep without ejection", () => {
    const all = states(2);
    const d = detector({ ...failurePercentage, maxEjectionTime: seconds(45) }, all);
    for (let round = 0; round < 3; round++) {
      calls(d, all[0]!, 20, 2);
      d.sweep(all, round * 100_000);
      d.sweep(all, round * 100_000 + 50_000); // back
    }
    expect(all[0]!.ejections).to.equal(3);
    calls(d, all[0]!, 20, 2);
    d.sweep(all, 300_000);
    expect(all[0]!.ejection!.until - 300_000).to.equal(45_000);
    d.sweep(all, 400_000);
    expect(all[0]!.ejection).to.equal(undefined);
    expect(all[0]!.ejections).to.equal(4);
    d.sweep(all, 500_000);
    expect(all[0]!.ejections).to.equal(3);
  });

  it("does not judge endpoints below the request volume, nor any when fewer than minimum_hosts have it", () => {
    const all = states(3);
    const d = detector({ ...failurePercentage, failurePercentageMinimumHosts: 2 }, all);
    calls(d, all[0]!, 20, 1);
    calls(d, all[1]!, 9, 1);
    d.sweep(all, 0);
    expect(all.map((s) => s.ejection)).to.deep.equal([undefined, undefined, undefined]);
  });

  it("stops ejecting once max_ejection_percent of the endpoints are ejected", () => {
    const all = states(4);
    const d = detector({ ...failurePercentage, maxEjectionPercent: 25 }, all);
    for (const s of all) calls(d, s, 20, 1);
    d.sweep(all, 0);
    expect(all.filter((s) => s.ejection !== undefined)).to.have.length(1);
  });

  it("ejects only with the enforcement percentage's chance", () => {
    const all = states(2);
    const never = detector({ ...failurePercentage, enforcingFailurePercentage: 50 }, all, () => 0.5);
    calls(never, all[0]!, 20, 1);
    never.sweep(all, 0);
    expect(all[0]!.ejection).to.equal(undefined);
  });
});

describe("OutlierDetector: success rate (gRFC A50)", () => {
  it("ejects the endpoint whose success rate is below mean − 1.9 × stdev among those with enough calls", () => {
    const all = states(6);
    const d = detector({ enforcingConsecutive5xx: 0, successRateMinimumHosts: 5, successRateRequestVolume: 50, maxEjectionPercent: 50 }, all);
    all.forEach((s, i) => calls(d, s, 100, i === 3 ? 2 : 100));
    d.sweep(all, 0);
    expect(all.map((s) => s.ejection !== undefined)).to.deep.equal([false, false, false, true, false, false]);
    expect(all[3]!.ejection!.reason).to.match(/^success rate 50\.0% over 100 calls is below the cluster's threshold \d+\.\d% \(mean 90\.8% − 1\.9 × stdev /);
  });
});

describe("OutlierDetector: Envoy's consecutive failures", () => {
  it("ejects at once on the consecutive_5xx-th 5xx-class failure in a row, which a success resets", () => {
    const all = states(2);
    const d = detector({ consecutive5xx: 3, maxEjectionPercent: 50 }, all);
    expect(d.record(all[0]!, INTERNAL, () => 5)).to.equal(false);
    expect(d.record(all[0]!, UNAVAILABLE, () => 5)).to.equal(false);
    d.record(all[0]!, OK, () => 5);
    d.record(all[0]!, UNAVAILABLE, () => 5);
    d.record(all[0]!, UNAVAILABLE, () => 5);
    expect(d.record(all[0]!, UNAVAILABLE, () => 7)).to.equal(true);
    expect(all[0]!.ejection).to.deep.equal({ reason: "3 consecutive 5xx-class failures (the last UNAVAILABLE)", since: 7, until: 30_007 });
  });

  it("does not count statuses that are not 5xx-class (INVALID_ARGUMENT is a 400)", () => {
    const all = states(2);
    const d = detector({ consecutive5xx: 2, maxEjectionPercent: 50 }, all);
    for (let i = 0; i < 10; i++) d.record(all[0]!, INVALID_ARGUMENT, () => 0);
    expect(all[0]!.ejection).to.equal(undefined);
  });

  it("counts only UNAVAILABLE and DEADLINE_EXCEEDED as gateway failures, and only when enforced", () => {
    const all = states(2);
    const d = detector({ enforcingConsecutive5xx: 0, consecutiveGatewayFailure: 2, enforcingConsecutiveGatewayFailure: 100, maxEjectionPercent: 50 }, all);
    d.record(all[0]!, INTERNAL, () => 0);
    d.record(all[0]!, INTERNAL, () => 0);
    expect(all[0]!.ejection).to.equal(undefined);
    d.record(all[0]!, 4, () => 0);
    expect(d.record(all[0]!, UNAVAILABLE, () => 0)).to.equal(true);
    expect(all[0]!.ejection!.reason).to.equal("2 consecutive gateway failures (the last UNAVAILABLE)");
  });

  it("applies Envoy's defaults: consecutive_5xx 5, enforced; gateway failures not enforced", () => {
    const all = states(2);
    const d = detector({ maxEjectionPercent: 50 }, all);
    for (let i = 0; i < 4; i++) d.record(all[0]!, UNAVAILABLE, () => 0);
    expect(all[0]!.ejection).to.equal(undefined);
    expect(d.record(all[0]!, UNAVAILABLE, () => 0)).to.equal(true);
  });

  it("ends every ejection when outlier detection is turned off", () => {
    const all = states(2);
    const d = detector({ consecutive5xx: 1, maxEjectionPercent: 50 }, all);
    d.record(all[0]!, UNAVAILABLE, () => 0);
    expect(d.uneject(all)).to.equal(true);
    expect(all.map((s) => [s.ejection, s.ejections])).to.deep.equal([
      [undefined, 0],
      [undefined, 0],
    ]);
  });
});
