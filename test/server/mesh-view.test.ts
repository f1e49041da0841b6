// Which view a node gets: its generator, namespace, address and locality, read as istiod reads a node.
import { expect } from "chai";
import { meshViewOf, nodeFromSpecs } from "../../src/server/mesh-view.js";

describe("meshViewOf", () => {
  const cases: [string, string[], string][] = [
    ["an Istio node id gives the namespace and the address", ["sidecar~10.0.0.5~pod.shop~shop.svc.cluster.local"], "sidecar/shop~10.0.0.5"],
    ["GENERATOR=grpc and NAMESPACE", ["sidecar~10.0.0.5~pod.shop~shop.svc.cluster.local", "GENERATOR=grpc", "NAMESPACE=other"], "grpc/other~10.0.0.5"],
    ["the first of INSTANCE_IPS wins over the node id's IP", ["sidecar~10.0.0.5~pod.shop~shop.svc.cluster.local", "INSTANCE_IPS=fd00::7,10.0.0.6"], "sidecar/shop~fd00::7"],
    ["an id part that is not an IP is no address", ["sidecar~pod-ip~pod.shop~shop.svc.cluster.local"], "sidecar/shop"],
    ["a node id of another form: neither namespace nor address", ["client-1"], "sidecar"],
    ["a node as JSON", ['{"id": "sidecar~10.0.0.5~pod.shop~shop.svc.cluster.local", "metadata": {"GENERATOR": "grpc"}}'], "grpc/shop~10.0.0.5"],
  ];
  for (const [what, specs, view] of cases) it(`${what}: ${view}`, () => expect(meshViewOf(nodeFromSpecs(specs))).to.equal(view));

  it("the locality follows the address: grpc/shop~10.0.0.5@us-east/a/x", () => {
    const node = nodeFromSpecs(["sidecar~10.0.0.5~pod.shop~shop.svc.cluster.local", "GENERATOR=grpc"]);
    node.locality = { $typeName: "envoy.config.core.v3.Locality", region: "us-east", zone: "a", subZone: "x" };
    expect(meshViewOf(node)).to.equal("grpc/shop~10.0.0.5@us-east/a/x");
  });
});
