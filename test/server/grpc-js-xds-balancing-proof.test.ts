// The cross-check of balancing: grpc-js with @grpc/grpc-js-xds — an xDS client rxds did not write — and a grpc-js
// client routed by rxds, side by side against one `rxds serve` and the same GreetService backends, on the policies
// grpc-js-xds implements: ring hash affinity (both clients send each key to the very same backend, since both build
// gRFC A42's ring), outlier ejection (gRFC A50's failure percentage), and round robin's spread.
import type { Client } from "@grpc/grpc-js";
import { register } from "@grpc/grpc-js-xds";
import { expect } from "chai";
import { binomialBounds } from "../integrations/split-bounds.js";
import { echoHost, echoMesh } from "../support/echo-mesh.js";
import { GrpcGreetBackend } from "../support/greet-backend.js";
import { call } from "../fixtures/serve-mesh.js";
import { SideBySide } from "../fixtures/side-by-side.js";

const target = `${echoHost}:8080`;
const clusterName = `outbound|8080||${echoHost}`;

/** The cluster of the echo service as a raw resource, with failure-percentage outlier detection only. */
function outlierCluster(): string {
  return `---
"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
name: "${clusterName}"
type: EDS
eds_cluster_config: {service_name: "${clusterName}", eds_config: {ads: {}}}
outlier_detection:
  interval: 0.1s
  base_ejection_time: 10s
  max_ejection_percent: 50
  enforcing_success_rate: 0
  enforcing_consecutive_5xx: 0
  enforcing_failure_percentage: 100
  failure_percentage_threshold: 30
  failure_percentage_minimum_hosts: 3
  failure_percentage_request_volume: 4
`;
}

describe("grpc-js-xds and rxds balance alike against rxds serve", function () {
  this.timeout(30000);
  let backends: GrpcGreetBackend[];
  let served: SideBySide | undefined;

  before(() => register());

  beforeEach(async () => {
    backends = await Promise.all(["b0", "b1", "b2"].map((name) => GrpcGreetBackend.start(name)));
  });

  afterEach(async () => {
    await served?.stop();
    served = undefined;
    await Promise.all(backends.map((b) => b.stop()));
  });

  async function serve(yaml: string): Promise<void> {
    served = await SideBySide.start(yaml);
  }

  /** A grpc-js client of `target` through grpc-js-xds. */
  function peerClient(): Client {
    return served!.peerClient(target);
  }

  /** A grpc-js client of `target` routed by rxds. */
  function rxdsClient(): Client {
    return served!.rxdsClient(target);
  }

  it("RingHash: for each x-user, both clients pick the same backend, every time", async () => {
    await serve(echoMesh(backends.map((b) => b.port), "{loadBalancer: {consistentHash: {httpHeaderName: x-user}}}"));
    const peer = peerClient();
    const ours = rxdsClient();
    const homes = new Set<string>();
    for (let user = 0; user < 30; user++) {
      const headers = { "x-user": `user-${user}` };
      const picks = [await call(peer, "SayHello", headers), await call(ours, "SayHello", headers), await call(peer, "SayHello", headers), await call(ours, "SayHello", headers)];
      expect(new Set(picks).size, `backends of user-${user}: ${picks.join(", ")}`).to.equal(1);
      homes.add(picks[0]!);
    }
    expect(homes.size).to.be.above(1);
  });

  it("RoundRobin: both clients spread calls evenly over the backends (binomial bounds, p < 1e-6)", async () => {
    await serve(echoMesh(backends.map((b) => b.port), "{loadBalancer: {simple: ROUND_ROBIN}}"));
    const [lo, hi] = binomialBounds(150, 1 / 3);
    for (const client of [peerClient(), rxdsClient()]) {
      const counts = new Map<string, number>();
      for (let i = 0; i < 150; i++) {
        const name = await call(client, "SayHello");
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      for (const b of backends) expect(counts.get(b.name) ?? 0, b.name).to.be.within(lo, hi);
    }
  });

  it("OutlierEjection: both clients eject the backend that fails half its calls, and send it nothing more", async () => {
    await serve(echoMesh(backends.map((b) => b.port), "{}") + outlierCluster());
    const bad = backends[1]!;
    bad.failEvery = 2;
    for (const [name, client] of [
      ["grpc-js-xds", peerClient()],
      ["rxds", rxdsClient()],
    ] as const) {
      const reached = bad.calls.length;
      // Call until 60 calls in a row have not reached the bad backend (at most 3000 calls).
      let quiet = 0;
      for (let n = 0; n < 3000 && quiet < 60; n++) {
        const before = bad.calls.length;
        await call(client, "SayHello").catch(() => undefined);
        quiet = bad.calls.length === before ? quiet + 1 : 0;
      }
      expect(quiet, `${name}: calls in a row that avoided the failing backend`).to.equal(60);
      expect(bad.calls.length, `${name}: calls the failing backend took before its ejection`).to.be.above(reached);
    }
  });
});
