// PeerAuthentication in rxds serve: validated as istiod validates it, and applied to the inbound listeners of the
// workload a view's clients are, as istiod composes mesh-, namespace- and workload-wide policies and port-level modes.
import { fromBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import type { Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import { DownstreamTlsContextSchema } from "../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { translateForGrpc } from "../../../src/server/config/grpc-translation.js";
import { parseMeshConfig } from "../../../src/server/config/mesh-config.js";
import { translateForSidecar } from "../../../src/server/config/sidecar-translation.js";
import { listenerTypeUrl, type XdsResources } from "../../../src/server/config/xds-resources.js";
import { errorOf } from "../../support/mesh-config-text.js";

// 10.0.0.1 serves echo on 17070 and 18080 (labels app: echo).
const services = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: shop}
spec:
  hosts: [echo]
  ports: [{number: 7070, name: grpc, protocol: GRPC}, {number: 8080, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.0.1, ports: {grpc: 17070, http: 18080}, labels: {app: echo}}]
`;

function policy(namespace: string, spec: string, name = "default"): string {
  return `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ${name}, namespace: ${namespace}}
spec: ${spec}
`;
}

const view = { clientNamespace: "shop", clientAddress: "10.0.0.1" };

function grpc(...policies: string[]): XdsResources {
  return translateForGrpc(parseMeshConfig([services, ...policies].join("---\n"), "mesh.yaml"), view);
}

/** The chain names of the A36 server listener of each port of 10.0.0.1: 17070, then 18080. */
function grpcChains(resources: XdsResources): string[][] {
  return [17070, 18080].map((port) => (resources.get(listenerTypeUrl)?.get(`grpc/server?xds.resource.listening_address=0.0.0.0:${port}`) as Listener).filterChains.map((chain) => chain.name));
}

describe("PeerAuthentication in rxds serve", () => {
  it("Validation: a bad mode, port-level mTLS without selector labels and a port that is no port number are errors naming the document and field", () => {
    expect(errorOf(policy("shop", "{mtls: {mode: STRICTER}}"))).to.match(/^mesh\.yaml: document 1 \(PeerAuthentication default\): spec\.mtls\.mode: expected one of UNSET, DISABLE, PERMISSIVE, STRICT, got "STRICTER" \(line \d+\)$/);
    expect(errorOf(policy("shop", "{mtls: {mode: STRICT}, portLevelMtls: {8080: {mode: DISABLE}}}"))).to.contain(
      "spec.portLevelMtls: a mesh- or namespace-wide PeerAuthentication (no selector labels) cannot set port-level mTLS",
    );
    expect(errorOf(policy("shop", "{selector: {matchLabels: {app: echo}}, portLevelMtls: {0: {mode: DISABLE}}}"))).to.contain("spec.portLevelMtls.0: expected a port number 1..65535 as key");
    expect(errorOf(policy("shop", "{mtls: {mode: STRICT}, peers: []}"))).to.contain("spec.peers");
  });

  it("GrpcModes: no policy or PERMISSIVE serves plaintext, STRICT one mTLS chain, as istiod's gRPC generator; a tlsMode=istio workload gets mTLS for PERMISSIVE", () => {
    expect(grpcChains(grpc())).to.deep.equal([["inbound-plaintext"], ["inbound-plaintext"]]);
    const strict = grpc(policy("shop", "{mtls: {mode: STRICT}}"));
    expect(grpcChains(strict)).to.deep.equal([["inbound-mtls"], ["inbound-mtls"]]);
    const chain = (strict.get(listenerTypeUrl)?.get("xds.istio.io/grpc/lds/inbound/10.0.0.1:17070") as Listener).filterChains[0]!;
    expect(chain.filters.map((filter) => filter.name)).to.deep.equal(["inbound-hcmmtls"]);
    expect(chain.transportSocket?.name).to.equal("envoy.transport_sockets.tls");
    const socket = chain.transportSocket?.configType;
    const context = fromBinary(DownstreamTlsContextSchema, socket?.case === "typedConfig" ? socket.value.value : new Uint8Array());
    expect(context.requireClientCertificate).to.equal(true);
    expect(context.commonTlsContext?.tlsCertificateProviderInstance).to.include({ instanceName: "default", certificateName: "default" });
    const validation = context.commonTlsContext?.validationContextType;
    expect(validation?.case === "combinedValidationContext" ? validation.value.defaultValidationContext?.caCertificateProviderInstance : undefined).to.include({ instanceName: "default", certificateName: "ROOTCA" });
    const labelled = services.replace("labels: {app: echo}", "labels: {app: echo, security.istio.io/tlsMode: istio}");
    expect(grpcChains(translateForGrpc(parseMeshConfig(labelled, "mesh.yaml"), view))).to.deep.equal([["inbound-mtls"], ["inbound-mtls"]]);
  });

  it("Scopes: the workload's policy wins over its namespace's, which wins over the mesh's; UNSET inherits; portLevelMtls sets one port", () => {
    const mesh = policy("istio-system", "{mtls: {mode: STRICT}}");
    expect(grpcChains(grpc(mesh))).to.deep.equal([["inbound-mtls"], ["inbound-mtls"]]);
    // Another namespace's policy does not apply; this one's overrides the mesh's.
    expect(grpcChains(grpc(mesh, policy("other", "{mtls: {mode: DISABLE}}")))).to.deep.equal([["inbound-mtls"], ["inbound-mtls"]]);
    const namespace = policy("shop", "{mtls: {mode: DISABLE}}");
    expect(grpcChains(grpc(mesh, namespace))).to.deep.equal([["inbound-plaintext"], ["inbound-plaintext"]]);
    // A workload policy whose labels the workload has wins; UNSET keeps the namespace's mode; a port-level mode sets its port.
    const workload = policy("shop", "{selector: {matchLabels: {app: echo}}, mtls: {mode: STRICT}, portLevelMtls: {18080: {mode: DISABLE}}}", "echo");
    expect(grpcChains(grpc(mesh, namespace, workload))).to.deep.equal([["inbound-mtls"], ["inbound-plaintext"]]);
    const unset = policy("shop", "{selector: {matchLabels: {app: echo}}, portLevelMtls: {17070: {mode: STRICT}}}", "echo");
    expect(grpcChains(grpc(mesh, namespace, unset))).to.deep.equal([["inbound-mtls"], ["inbound-plaintext"]]);
    const elsewhere = policy("shop", "{selector: {matchLabels: {app: billing}}, mtls: {mode: STRICT}}", "billing");
    expect(grpcChains(grpc(mesh, namespace, elsewhere))).to.deep.equal([["inbound-plaintext"], ["inbound-plaintext"]]);
  });

  it("Sidecar: virtualInbound has per port an mTLS chain matching tls (STRICT), that and a raw_buffer chain (PERMISSIVE), or a plaintext chain (DISABLE)", () => {
    const chains = (...policies: string[]) =>
      (translateForSidecar(parseMeshConfig([services, ...policies].join("---\n"), "mesh.yaml"), view).get(listenerTypeUrl)?.get("virtualInbound") as Listener).filterChains.map((chain) => [
        chain.filterChainMatch?.destinationPort,
        chain.filterChainMatch?.transportProtocol,
        chain.transportSocket?.name ?? "plaintext",
      ]);
    expect(chains(policy("shop", "{mtls: {mode: STRICT}}"))).to.deep.equal([
      [17070, "tls", "envoy.transport_sockets.tls"],
      [18080, "tls", "envoy.transport_sockets.tls"],
    ]);
    expect(chains(policy("shop", "{selector: {matchLabels: {app: echo}}, mtls: {mode: DISABLE}, portLevelMtls: {18080: {mode: PERMISSIVE}}}"))).to.deep.equal([
      [17070, "", "plaintext"],
      [18080, "tls", "envoy.transport_sockets.tls"],
      [18080, "raw_buffer", "plaintext"],
    ]);
  });
});
