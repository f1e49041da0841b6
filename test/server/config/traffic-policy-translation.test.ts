// rxds serve's translation of DestinationRule trafficPolicy into cluster and endpoint fields, as istiod's generators
// build them: the load balancer (simple, consistentHash with ring hash or Maglev), localityLbSetting (distribute,
// failover) applied for the client's locality, and the per-port and per-subset merging.
import { toJson } from "@bufbuild/protobuf";
import { expect } from "chai";
import { Cluster_LbPolicy, ClusterSchema, type Cluster } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ClusterLoadAssignment } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { RouteConfiguration } from "../../../gen/envoy/config/route/v3/route_pb.js";
import { translateForGrpc } from "../../../src/server/config/grpc-translation.js";
import { IdentityCache } from "../../../src/server/config/identity-cache.js";
import { parseMeshConfig } from "../../../src/server/config/mesh-config.js";
import { translateForSidecar } from "../../../src/server/config/sidecar-translation.js";
import type { TranslationOptions } from "../../../src/server/config/view-translation.js";
import { clusterTypeUrl, endpointsTypeUrl, listenerTypeUrl, routeConfigurationTypeUrl, type XdsResources } from "../../../src/server/config/xds-resources.js";
import { translateMeshView } from "../../../src/server/mesh-view.js";
import { XdsError } from "../../../src/xds-error.js";

const fqdn = "echo.default.svc.cluster.local";

/** A service on ports 8080 and 9090 with v1 and v2 instances in four localities of three regions. */
const service = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo}
spec:
  hosts: [echo]
  ports: [{number: 8080, name: http, protocol: HTTP}, {number: 9090, name: grpc, protocol: GRPC}]
  resolution: STATIC
  endpoints:
  - {address: 10.0.0.1, labels: {version: v1}, locality: us-east/a/x}
  - {address: 10.0.0.2, labels: {version: v1}, locality: us-east/b/y}
  - {address: 10.0.0.3, labels: {version: v2}, locality: eu-west/c/z, weight: 3}
  - {address: 10.0.0.4, labels: {version: v2}, locality: ap-south/d/w}
`;

function rule(spec: string): string {
  return `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo}
spec:
  host: echo
${spec}`;
}

function grpc(yaml: string, options: TranslationOptions = {}): XdsResources {
  return translateForGrpc(parseMeshConfig(yaml, "mesh.yaml"), options);
}

function cluster(resources: XdsResources, port: number, subset = ""): Cluster {
  const found = resources.get(clusterTypeUrl)?.get(`outbound|${port}|${subset}|${fqdn}`);
  expect(found, `cluster ${port} ${subset}`).to.not.equal(undefined);
  return found as Cluster;
}

function assignment(resources: XdsResources, port: number, subset = ""): ClusterLoadAssignment {
  return resources.get(endpointsTypeUrl)!.get(`outbound|${port}|${subset}|${fqdn}`) as ClusterLoadAssignment;
}

/** Each locality of an assignment: `region/zone/subZone`, its priority, its weight and how many endpoints it has. */
function localities(a: ClusterLoadAssignment): string[] {
  return a.endpoints.map((l) => `${l.locality?.region}/${l.locality?.zone}/${l.locality?.subZone} p${l.priority} w${l.loadBalancingWeight} n${l.lbEndpoints.length}`);
}

function configError(yaml: string): string {
  try {
    parseMeshConfig(yaml, "mesh.yaml");
  } catch (error) {
    if (error instanceof XdsError) return error.message;
    throw error;
  }
  return expect.fail("the config was accepted");
}

describe("rxds serve: DestinationRule trafficPolicy → clusters and endpoints", () => {
  it("leaves lb_policy at ROUND_ROBIN for proxyless clients, and gives sidecars LEAST_REQUEST by default, as istiod does", () => {
    const config = parseMeshConfig(service, "mesh.yaml");
    expect(cluster(translateForGrpc(config), 8080).lbPolicy).to.equal(Cluster_LbPolicy.ROUND_ROBIN);
    expect(cluster(translateForSidecar(config), 8080).lbPolicy).to.equal(Cluster_LbPolicy.LEAST_REQUEST);
    expect(cluster(translateForSidecar(parseMeshConfig(service + rule("  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}"), "mesh.yaml")), 8080).lbPolicy).to.equal(
      Cluster_LbPolicy.ROUND_ROBIN,
    );
  });

  it("maps consistentHash.ringHash to RING_HASH with its minimum ring size, and consistentHash.maglev to MAGLEV with its table size", () => {
    const ring = cluster(grpc(service + rule("  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 2048}}}}")), 8080);
    expect(toJson(ClusterSchema, ring)).to.deep.include({ lbPolicy: "RING_HASH", ringHashLbConfig: { minimumRingSize: "2048" } });
    const maglev = cluster(grpc(service + rule("  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 251}}}}")), 8080);
    expect(toJson(ClusterSchema, maglev)).to.deep.include({ lbPolicy: "MAGLEV", maglevLbConfig: { tableSize: "251" } });
  });

  it("puts the consistentHash key on the routes: useSourceIp as a source_ip hash policy", () => {
    const resources = grpc(service + rule("  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true}}}"));
    const config = resources.get(routeConfigurationTypeUrl)!.get(`outbound|8080||${fqdn}`) as RouteConfiguration;
    const action = config.virtualHosts[0]!.routes[0]!.action;
    expect(action.case === "route" ? action.value.hashPolicy[0]?.policySpecifier : undefined).to.deep.include({ case: "connectionProperties" });
  });

  it("gives a port its portLevelSettings entry whole (not merged with the top level), and a subset's policy over the port's", () => {
    const resources = grpc(
      service +
        rule(`  trafficPolicy:
    loadBalancer: {simple: RANDOM}
    connectionPool: {http: {http2MaxRequests: 100}}
    portLevelSettings:
    - port: {number: 9090}
      loadBalancer: {consistentHash: {httpHeaderName: x-user}}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {outlierDetection: {consecutive5xxErrors: 3}}
`),
    );
    expect(cluster(resources, 8080).lbPolicy).to.equal(Cluster_LbPolicy.RANDOM);
    expect(cluster(resources, 8080).circuitBreakers?.thresholds[0]?.maxRequests).to.equal(100);
    expect(cluster(resources, 9090).lbPolicy).to.equal(Cluster_LbPolicy.RING_HASH);
    expect(cluster(resources, 9090).circuitBreakers, "the port's entry replaces the connection pool too").to.equal(undefined);
    expect(cluster(resources, 9090, "v1").lbPolicy).to.equal(Cluster_LbPolicy.RING_HASH);
    expect(cluster(resources, 9090, "v1").outlierDetection?.consecutive5xx).to.equal(3);
    expect(cluster(resources, 8080, "v1").lbPolicy).to.equal(Cluster_LbPolicy.RANDOM);
  });

  it("groups the endpoints by locality, each weighing the sum of its endpoints' weights", () => {
    expect(localities(assignment(grpc(service), 8080))).to.deep.equal(["ap-south/d/w p0 w1 n1", "eu-west/c/z p0 w3 n1", "us-east/a/x p0 w1 n1", "us-east/b/y p0 w1 n1"]);
  });

  it("localityLbSetting.distribute: sets each locality's weight for the client's locality, and drops the localities no rule names", () => {
    const yaml =
      service +
      rule(`  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        distribute:
        - {from: "us-east/a/*", to: {"us-east/*": 80, "eu-west/c/z": 20}}
`);
    const near = grpc(yaml, { clientLocality: { region: "us-east", zone: "a", subZone: "x" } });
    expect(localities(assignment(near, 8080))).to.deep.equal(["ap-south/d/w p0 w1 n0", "eu-west/c/z p0 w20 n1", "us-east/a/x p0 w40 n1", "us-east/b/y p0 w40 n1"]);
    expect(toJson(ClusterSchema, cluster(near, 8080))).to.deep.include({ commonLbConfig: { localityWeightedLbConfig: {} } });
    // A client the rule is not from keeps the plain weights.
    expect(localities(assignment(grpc(yaml, { clientLocality: { region: "eu-west", zone: "c", subZone: "z" } }), 8080))).to.deep.equal([
      "ap-south/d/w p0 w1 n1",
      "eu-west/c/z p0 w3 n1",
      "us-east/a/x p0 w1 n1",
      "us-east/b/y p0 w1 n1",
    ]);
  });

  it("localityLbSetting failover (with outlier detection): priorities by closeness to the client, a failover region next", () => {
    const yaml = (failover: string) =>
      service +
      rule(`  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 5}
    loadBalancer:
      localityLbSetting: {${failover}}
`);
    const client = { clientLocality: { region: "us-east", zone: "a", subZone: "x" } };
    expect(localities(assignment(grpc(yaml(""), client), 8080))).to.deep.equal(["ap-south/d/w p2 w1 n1", "eu-west/c/z p2 w3 n1", "us-east/a/x p0 w1 n1", "us-east/b/y p1 w1 n1"]);
    expect(localities(assignment(grpc(yaml("failover: [{from: us-east, to: eu-west}]"), client), 8080))).to.deep.equal([
      "ap-south/d/w p3 w1 n1",
      "eu-west/c/z p2 w3 n1",
      "us-east/a/x p0 w1 n1",
      "us-east/b/y p1 w1 n1",
    ]);
    // Without outlier detection istiod leaves the priorities alone: failover would never happen.
    const plain = service + rule("  trafficPolicy: {loadBalancer: {localityLbSetting: {enabled: true}}}");
    expect(localities(assignment(grpc(plain, client), 8080)).every((l) => l.includes(" p0 "))).to.equal(true);
  });

  it("serves views in different localities from one cache each their own endpoints, and shares those no localityLbSetting touches", () => {
    const other = `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: other}
spec:
  hosts: [other]
  ports: [{number: 7070, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.1.1, locality: us-east/a/x}, {address: 10.0.1.2, locality: eu-west/c/z}]
`;
    const config = parseMeshConfig(
      service + other + rule(`  trafficPolicy: {loadBalancer: {localityLbSetting: {distribute: [{from: "us-east/*", to: {"us-east/*": 100}}]}}}`),
      "mesh.yaml",
    );
    const cache = new IdentityCache();
    const eds = (view: string, shared: IdentityCache | undefined, host: string) =>
      translateMeshView(config, view, shared).get(endpointsTypeUrl)?.get(`outbound|${host.startsWith("echo") ? 8080 : 7070}||${host}`);
    const otherFqdn = "other.default.svc.cluster.local";
    for (const view of ["grpc@us-east/a/x", "grpc@eu-west/c/z", "sidecar/default@eu-west/c/z", "sidecar/default@us-east/a/x"]) {
      // Each view, translated after others with the same cache, serves what it serves translated on its own.
      expect(eds(view, cache, fqdn)?.value, view).to.deep.equal(eds(view, undefined, fqdn)?.value);
      const listener = view.startsWith("grpc") ? `${fqdn}:8080` : "0.0.0.0_8080";
      expect(translateMeshView(config, view, cache).get(listenerTypeUrl)?.has(listener), `${view} ${listener}`).to.equal(true);
    }
    expect(eds("grpc@us-east/a/x", cache, fqdn)?.value).to.not.deep.equal(eds("grpc@eu-west/c/z", cache, fqdn)?.value);
    expect(eds("grpc@us-east/a/x", cache, otherFqdn)).to.equal(eds("grpc@eu-west/c/z", cache, otherFqdn));
  });

  it("rejects a distribute whose weights do not sum to 100, failoverPriority, and a Maglev table size that is not prime, naming the field", () => {
    expect(configError(service + rule(`  trafficPolicy: {loadBalancer: {localityLbSetting: {distribute: [{from: "*", to: {"us-east": 70}}]}}}`))).to.include(
      "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to: expected weights that sum to 100, got 70",
    );
    expect(configError(service + rule(`  trafficPolicy: {loadBalancer: {localityLbSetting: {failoverPriority: [topology.kubernetes.io/region]}}}`))).to.include(
      "spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority: is not supported by rxds serve",
    );
    expect(configError(service + rule(`  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x, maglev: {tableSize: 250}}}}`))).to.include(
      "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize",
    );
  });
});
