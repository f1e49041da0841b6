// Balancing over a real ADS stream: the picking state lives beside the snapshots (carried from each Router to the
// next), starts at a random point for each new router stream, and goes with the stream's last subscriber.
import { create } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { XdsError, type XdsClient } from "rxds";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { Router } from "../../src/routing/router.js";
import { binomialBounds } from "../integrations/split-bounds.js";
import { apiListener, edsCluster, prefixRoute, routeConfiguration } from "../support/resources.js";
import { CDS, EDS, Harness, LDS, next, RDS } from "../support/wire.js";

const target = "svc.default.svc.cluster.local:8080";
const ports = Array.from({ length: 10 }, (_, i) => 9001 + i);

/** The assignment of cluster A: the ten endpoints, and, when `extra` is set, an eleventh that is DRAINING (a pod going away). */
function assignment(extra: number | undefined): Any {
  const endpoint = (port: number, healthStatus: HealthStatus) => ({
    healthStatus,
    hostIdentifier: {
      case: "endpoint" as const,
      value: { address: { address: { case: "socketAddress" as const, value: { address: "127.0.0.1", portSpecifier: { case: "portValue" as const, value: port } } } } },
    },
  });
  const lbEndpoints = ports.map((port) => endpoint(port, HealthStatus.HEALTHY));
  if (extra !== undefined) lbEndpoints.push(endpoint(extra, HealthStatus.DRAINING));
  return anyPack(ClusterLoadAssignmentSchema, create(ClusterLoadAssignmentSchema, { clusterName: "A", endpoints: [{ locality: { region: "local" }, loadBalancingWeight: 1, lbEndpoints }] }));
}

function portOf(router: Router): number {
  const decision = router.route({ path: "/svc.Service/Call", headers: {} });
  if (decision instanceof XdsError) throw decision;
  return decision.endpoint.port;
}

function ready(router: Router): boolean {
  return router.snapshot.clusters.get("A")?.endpoints !== undefined;
}

describe("balancing across snapshots, over a real ADS stream", () => {
  let h: Harness;
  let client: XdsClient;
  beforeEach(async () => {
    h = await new Harness().start();
    h.cp.set(LDS, { [target]: apiListener(target, "rc") });
    h.cp.set(RDS, { rc: routeConfiguration("rc", ["*"], [prefixRoute("/", "A")]) });
    h.cp.set(CDS, { A: edsCluster("A") });
    h.cp.set(EDS, { A: assignment(undefined) });
    client = h.xds();
  });
  afterEach(async () => h.stop());

  it("RoundRobin_EdsPushBetweenEveryCall: calls still spread evenly over the ten endpoints", async () => {
    const calls = 300;
    const routers = client.router(target);
    const hold = routers.subscribe();
    try {
      let router = await next(routers, ready);
      const tally = new Map<number, number>();
      for (let i = 0; i < calls; i++) {
        const port = portOf(router);
        tally.set(port, (tally.get(port) ?? 0) + 1);
        // istiod re-sends the assignment whenever any pod of the service changes: here one drains and goes, by turns.
        h.cp.set(EDS, { A: assignment(i % 2 === 0 ? 9999 : undefined) });
        const before = router;
        router = await next(routers, (r) => r !== before);
      }
      const [lo, hi] = binomialBounds(calls, 1 / ports.length);
      for (const port of ports) expect(tally.get(port) ?? 0, `calls to port ${port} of ${calls}`).to.be.within(lo, hi);
    } finally {
      hold.unsubscribe();
    }
  });

  /** The first `picks` ports of each of `cycles` router streams of the target, each started fresh and dropped. */
  async function freshStreams(cycles: number, picks: number): Promise<number[][]> {
    const seen: number[][] = [];
    for (let i = 0; i < cycles; i++) {
      const routers = client.router(target);
      const hold = routers.subscribe();
      try {
        const router = await next(routers, ready);
        seen.push(Array.from({ length: picks }, () => portOf(router)));
      } finally {
        hold.unsubscribe();
      }
    }
    return seen;
  }

  it("RoundRobin_RandomStart: the first call of each new router stream goes to each endpoint equally often", async () => {
    const cycles = 100;
    const firsts = (await freshStreams(cycles, 1)).map(([port]) => port!);
    const [lo, hi] = binomialBounds(cycles, 1 / ports.length);
    for (const port of ports) expect(firsts.filter((p) => p === port).length, `first calls to port ${port} of ${cycles}`).to.be.within(lo, hi);
  });

  it("RingSizeCap_Checked: a cap outside 1..8388608 is an INVALID_ARGUMENT naming the option", () => {
    for (const ringSizeCap of [0, 8_388_609, 1.5]) {
      expect(() => h.xds({ ringSizeCap }))
        .to.throw(XdsError, `ringSizeCap: expected an integer in 1..8388608, got ${ringSizeCap}`)
        .with.property("code", "INVALID_ARGUMENT");
    }
  });

  it("RoundRobin_StateDroppedWithLastSubscriber: a new stream of the target does not go on from where the last one stopped", async () => {
    const cycles = 40;
    const streams = await freshStreams(cycles, 3);
    // Were the state kept, each stream would start right after the previous one's last pick, every time.
    let continued = 0;
    for (let i = 1; i < streams.length; i++) {
      const after = ports[(ports.indexOf(streams[i - 1]!.at(-1)!) + 1) % ports.length];
      if (streams[i]![0] === after) continued++;
    }
    const [, hi] = binomialBounds(cycles - 1, 1 / ports.length);
    expect(continued).to.be.at.most(hi);
  });
});
