import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { ClusterSchema, Cluster_DiscoveryType, Cluster_LbPolicy } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import { ClusterConfigSchema } from "../../gen/envoy/extensions/clusters/aggregate/v3/cluster_pb.js";
import { TargetBalancer } from "../../src/balancing/target-balancer.js";
import { validateCluster } from "../../src/resources/cluster.js";
import { isPickFailure, type EndpointPicker, type PickFailure } from "../../src/routing/cluster-picking.js";
import type { ClusterSnapshot } from "../../src/routing/service-snapshot.js";
import { XdsError } from "../../src/xds-error.js";
import { endpoints, ep, locality, pickAddress, type LocalityInit } from "./endpoint-sets.js";

const ads = { configSourceSpecifier: { case: "ads" as const, value: {} } };

function edsCluster(name: string, localities: LocalityInit[] | undefined): ClusterSnapshot {
  const cluster = validateCluster(
    create(ClusterSchema, { name, clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { edsConfig: ads } }),
    name,
  );
  return { name, cluster, endpoints: localities === undefined ? undefined : endpoints(name, localities), error: undefined, children: [] };
}

function aggregate(name: string, children: string[]): ClusterSnapshot {
  const typedConfig = anyPack(ClusterConfigSchema, create(ClusterConfigSchema, { clusters: children }));
  const cluster = validateCluster(
    create(ClusterSchema, { name, clusterDiscoveryType: { case: "clusterType", value: { name: "envoy.clusters.aggregate", typedConfig } } }),
    name,
  );
  return { name, cluster, endpoints: undefined, error: undefined, children };
}

const absentCluster = (name: string): ClusterSnapshot => ({ name, cluster: undefined, endpoints: undefined, error: undefined, children: [] });

function snapshotClusters(...entries: ClusterSnapshot[]): Map<string, ClusterSnapshot> {
  return new Map(entries.map((e) => [e.name, e]));
}

function picked(result: EndpointPicker | PickFailure): EndpointPicker {
  if (isPickFailure(result)) throw new Error(result.message);
  return result;
}

function failure(result: EndpointPicker | PickFailure): PickFailure {
  expect(isPickFailure(result), "expected a failure").to.equal(true);
  return result as PickFailure;
}

describe("TargetBalancer: what each cluster of a snapshot gives a call", () => {
  const healthy = edsCluster("leaf-ok", [locality("a", 1, [ep("10.1.0.1")])]);
  const sick = edsCluster("leaf-sick", [locality("a", 1, [ep("10.2.0.1", { health: HealthStatus.UNHEALTHY })])]);
  const clusters = snapshotClusters(
    healthy,
    sick,
    edsCluster("no-eds", undefined),
    absentCluster("absent"),
    aggregate("agg", ["leaf-sick", "absent", "leaf-ok"]),
    aggregate("agg-dead", ["leaf-sick", "no-eds"]),
  );
  const pickers = new TargetBalancer().pickers(clusters);

  it("reports CLUSTER_ABSENT for a cluster known not to exist or not in the snapshot, naming it", () => {
    for (const name of ["absent", "unknown"]) {
      expect(failure(pickers(name))).to.deep.equal({ code: "CLUSTER_ABSENT", message: `cluster "${name}" does not exist` });
    }
  });

  it("reports NO_HEALTHY_ENDPOINT for a cluster without usable or known endpoints, naming it", () => {
    for (const name of ["leaf-sick", "no-eds"]) {
      expect(failure(pickers(name))).to.deep.equal({ code: "NO_HEALTHY_ENDPOINT", message: `cluster "${name}" has no healthy endpoint` });
    }
  });

  it("serves an aggregate cluster from its first child with a usable endpoint", () => {
    const result = picked(pickers("agg")).pick(0);
    if (isPickFailure(result)) throw new Error(result.message);
    expect(result.clusterName).to.equal("leaf-ok");
    expect(result.endpoint.address).to.equal("10.1.0.1");
    result.release(0);
  });

  it("reports NO_HEALTHY_ENDPOINT for an aggregate none of whose children can serve, naming them", () => {
    expect(failure(pickers("agg-dead"))).to.deep.equal({
      code: "NO_HEALTHY_ENDPOINT",
      message: `aggregate cluster "agg-dead" has no healthy endpoint in any of its clusters ("leaf-sick", "no-eds")`,
    });
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
    const result = new TargetBalancer().pickers(snapshotClusters({ name, cluster, endpoints: undefined, error: undefined, children: [] }))(name);
    expect(pickAddress(picked(result))).to.equal("127.0.0.1");
  });

  it("gives a cluster with a resource error (its own or its endpoints') that error's code, naming the cluster and the reason", () => {
    const reason = `cluster "bad": eds_cluster_config: is required for an EDS cluster`;
    const bad: ClusterSnapshot = { ...absentCluster("bad"), error: new XdsError("INVALID_RESOURCE", reason) };
    const down: ClusterSnapshot = { ...edsCluster("down", undefined), error: new XdsError("CONTROL_PLANE_UNAVAILABLE", "xDS server 127.0.0.1:1 unreachable") };
    const result = new TargetBalancer().pickers(snapshotClusters(bad, down, aggregate("agg", ["bad", "down"])));
    expect(failure(result("bad"))).to.deep.equal({ code: "INVALID_RESOURCE", message: `cluster "bad" cannot be used: ${reason}` });
    expect(failure(result("down"))).to.deep.equal({ code: "CONTROL_PLANE_UNAVAILABLE", message: `cluster "down" cannot be used: xDS server 127.0.0.1:1 unreachable` });
    expect(failure(result("agg")).code).to.equal("NO_HEALTHY_ENDPOINT");
  });

  it("gives an ORIGINAL_DST cluster (Istio's PassthroughCluster) UNSUPPORTED_CLUSTER, naming it", () => {
    const name = "PassthroughCluster";
    const cluster = validateCluster(
      create(ClusterSchema, { name, clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.ORIGINAL_DST }, lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED }),
      name,
    );
    const result = failure(new TargetBalancer().pickers(snapshotClusters({ name, cluster, endpoints: undefined, error: undefined, children: [] }))(name));
    expect(result.code).to.equal("UNSUPPORTED_CLUSTER");
    expect(result.message).to.match(/^cluster "PassthroughCluster" is an ORIGINAL_DST cluster/);
  });
});

describe("TargetBalancer: state from one snapshot to the next", () => {
  const addresses = Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}`);
  const ten = addresses.map((a) => ep(a));

  it("goes on round robin in every cluster, through an aggregate too, when each snapshot brings new endpoint sets", () => {
    const balancer = new TargetBalancer({ random: () => 0 });
    const sequence: string[] = [];
    for (let i = 0; i < 20; i++) {
      const pickers = balancer.pickers(snapshotClusters(edsCluster("a", [locality("z", 1, ten)]), aggregate("agg", ["a"])));
      sequence.push(pickAddress(picked(pickers(i % 2 === 0 ? "a" : "agg"))));
    }
    expect(sequence).to.deep.equal([...addresses, ...addresses]);
  });

  it("keeps state only for the leaf clusters of the latest snapshot that have endpoints", () => {
    const balancer = new TargetBalancer();
    balancer.pickers(snapshotClusters(edsCluster("a", [locality("z", 1, ten)]), edsCluster("b", [locality("z", 1, ten)]), aggregate("agg", ["a", "b"])));
    expect([...balancer.clusters].sort()).to.deep.equal(["a", "b"]);
    balancer.pickers(snapshotClusters(edsCluster("b", [locality("z", 1, ten)]), absentCluster("c")));
    expect(balancer.clusters).to.deep.equal(["b"]);
    balancer.pickers(new Map());
    expect(balancer.clusters).to.deep.equal([]);
  });
});
