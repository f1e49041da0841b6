import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { ClusterSchema, Cluster_DiscoveryType } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import type { LbEndpointSchema, LocalityLbEndpointsSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ClusterConfigSchema } from "../../gen/envoy/extensions/clusters/aggregate/v3/cluster_pb.js";
import { validateCluster } from "../../src/resources/cluster.js";
import { validateClusterLoadAssignment, type EndpointsModel } from "../../src/resources/endpoints.js";
import {
  createClusterPicker,
  createEndpointPicker,
  isPickFailure,
  type EndpointPicker,
} from "../../src/routing/endpoint-picker.js";
import type { ClusterSnapshot } from "../../src/routing/service-snapshot.js";

type LbEndpointInit = MessageInitShape<typeof LbEndpointSchema>;
type LocalityInit = MessageInitShape<typeof LocalityLbEndpointsSchema>;

function ep(address: string, extra: { weight?: number; health?: HealthStatus } = {}): LbEndpointInit {
  return {
    hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address, portSpecifier: { case: "portValue", value: 8888 } } } } } },
    healthStatus: extra.health ?? HealthStatus.HEALTHY,
    ...(extra.weight === undefined ? {} : { loadBalancingWeight: extra.weight }),
  };
}

function locality(zone: string, weight: number, endpoints: LbEndpointInit[], priority = 0): LocalityInit {
  return { locality: { region: "r", zone }, loadBalancingWeight: weight, priority, lbEndpoints: endpoints };
}

function endpoints(name: string, localities: LocalityInit[]): EndpointsModel {
  return validateClusterLoadAssignment(create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints: localities }), name);
}

const ads = { configSourceSpecifier: { case: "ads" as const, value: {} } };

function edsCluster(name: string, localities: LocalityInit[] | undefined): ClusterSnapshot {
  const cluster = validateCluster(
    create(ClusterSchema, { name, clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { edsConfig: ads } }),
    name,
  );
  return { name, cluster, endpoints: localities === undefined ? undefined : endpoints(name, localities), children: [] };
}

function aggregate(name: string, children: string[]): ClusterSnapshot {
  const typedConfig = anyPack(ClusterConfigSchema, create(ClusterConfigSchema, { clusters: children }));
  const cluster = validateCluster(
    create(ClusterSchema, { name, clusterDiscoveryType: { case: "clusterType", value: { name: "envoy.clusters.aggregate", typedConfig } } }),
    name,
  );
  return { name, cluster, endpoints: undefined, children };
}

function counts(picker: EndpointPicker, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const e = picker.pick();
    out[e.address] = (out[e.address] ?? 0) + 1;
  }
  return out;
}

function picker(name: string, localities: LocalityInit[]): EndpointPicker {
  const p = createEndpointPicker(name, endpoints(name, localities));
  if (p === undefined) throw new Error("no picker");
  return p;
}

describe("endpoint picker (baseline: priority, locality weight, endpoint weight, smooth WRR)", () => {
  it("uses only the lowest priority that has a usable endpoint", () => {
    const p = picker("c", [locality("a", 1, [ep("10.0.0.1"), ep("10.0.0.2")]), locality("b", 1, [ep("10.0.1.1")], 1)]);
    expect(p.priority).to.equal(0);
    expect(counts(p, 10)).to.deep.equal({ "10.0.0.1": 5, "10.0.0.2": 5 });
  });

  it("fails over to the next priority when every endpoint of priority 0 is unusable", () => {
    const p = picker("c", [
      locality("a", 1, [ep("10.0.0.1", { health: HealthStatus.UNHEALTHY }), ep("10.0.0.2", { health: HealthStatus.DRAINING })]),
      locality("b", 1, [ep("10.0.1.1")], 1),
    ]);
    expect(p.priority).to.equal(1);
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

  it("splits over localities exactly by locality weight over a full cycle (1:3)", () => {
    const p = picker("c", [locality("a", 1, [ep("10.0.0.1")]), locality("b", 3, [ep("10.0.1.1")])]);
    expect(counts(p, 4)).to.deep.equal({ "10.0.0.1": 1, "10.0.1.1": 3 });
    expect(counts(p, 400)).to.deep.equal({ "10.0.0.1": 100, "10.0.1.1": 300 });
  });

  it("splits within a locality exactly by endpoint weight over a full cycle, interleaved (smooth)", () => {
    const p = picker("c", [locality("a", 1, [ep("10.0.0.1", { weight: 1 }), ep("10.0.0.2", { weight: 2 }), ep("10.0.0.3", { weight: 3 })])]);
    const sequence = Array.from({ length: 6 }, () => p.pick().address);
    expect(sequence.filter((a) => a === "10.0.0.3")).to.have.length(3);
    expect(sequence.filter((a) => a === "10.0.0.2")).to.have.length(2);
    expect(sequence.filter((a) => a === "10.0.0.1")).to.have.length(1);
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
    expect(p.priority).to.equal(1);
    expect(counts(p, 2)).to.deep.equal({ "10.0.2.1": 2 });
  });

  it("pools the priority's endpoints by endpoint weight when no locality has a weight", () => {
    const p = picker("c", [locality("a", 0, [ep("10.0.0.1"), ep("10.0.0.2")]), locality("b", 0, [ep("10.0.1.1")])]);
    expect(counts(p, 300)).to.deep.equal({ "10.0.0.1": 100, "10.0.0.2": 100, "10.0.1.1": 100 });
  });

  it("has no picker when no endpoint is usable", () => {
    expect(createEndpointPicker("c", endpoints("c", [locality("a", 1, [ep("10.0.0.1", { health: HealthStatus.UNHEALTHY })])]))).to.equal(undefined);
    expect(createEndpointPicker("c", endpoints("c", []))).to.equal(undefined);
  });

  describe("createClusterPicker", () => {
    const healthy = edsCluster("leaf-ok", [locality("a", 1, [ep("10.1.0.1")])]);
    const sick = edsCluster("leaf-sick", [locality("a", 1, [ep("10.2.0.1", { health: HealthStatus.UNHEALTHY })])]);
    const clusters = new Map<string, ClusterSnapshot>([
      ["leaf-ok", healthy],
      ["leaf-sick", sick],
      ["no-eds", edsCluster("no-eds", undefined)],
      ["absent", { name: "absent", cluster: undefined, endpoints: undefined, children: [] }],
      ["agg", aggregate("agg", ["leaf-sick", "absent", "leaf-ok"])],
      ["agg-dead", aggregate("agg-dead", ["leaf-sick", "no-eds"])],
    ]);

    it("reports CLUSTER_ABSENT for a cluster known not to exist or not in the snapshot, naming it", () => {
      for (const name of ["absent", "unknown"]) {
        const result = createClusterPicker(clusters, name);
        expect(isPickFailure(result) && result).to.deep.equal({ code: "CLUSTER_ABSENT", message: `cluster "${name}" does not exist` });
      }
    });

    it("reports NO_HEALTHY_ENDPOINT for a cluster without usable or known endpoints, naming it", () => {
      for (const name of ["leaf-sick", "no-eds"]) {
        const result = createClusterPicker(clusters, name);
        expect(isPickFailure(result) && result).to.deep.equal({ code: "NO_HEALTHY_ENDPOINT", message: `cluster "${name}" has no healthy endpoint` });
      }
    });

    it("serves an aggregate cluster from its first child with a usable endpoint", () => {
      const result = createClusterPicker(clusters, "agg");
      if (isPickFailure(result)) throw new Error(result.message);
      expect(result.clusterName).to.equal("leaf-ok");
      expect(result.pick().address).to.equal("10.1.0.1");
    });

    it("reports NO_HEALTHY_ENDPOINT for an aggregate none of whose children can serve, naming them", () => {
      const result = createClusterPicker(clusters, "agg-dead");
      expect(isPickFailure(result) && result.code).to.equal("NO_HEALTHY_ENDPOINT");
      expect(isPickFailure(result) && result.message).to.equal(`aggregate cluster "agg-dead" has no healthy endpoint in any of its clusters ("leaf-sick", "no-eds")`);
    });

    it("uses a STATIC cluster's inline endpoints when the snapshot holds none", () => {
      const name = "static";
      const cluster = validateCluster(
        create(ClusterSchema, {
          name,
          clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
          loadAssignment: { clusterName: name, endpoints: [locality("a", 1, [ep("127.0.0.1")])] },
        }),
        name,
      );
      const result = createClusterPicker(new Map([[name, { name, cluster, endpoints: undefined, children: [] }]]), name);
      if (isPickFailure(result)) throw new Error(result.message);
      expect(result.pick().address).to.equal("127.0.0.1");
    });
  });
});
