import { expect } from "chai";
import {
  DEFAULT_ISTIOD_SERVER,
  REQUIRED_ISTIO_ENV,
  istioEnvBootstrap,
  istioNodeId,
  namespaceFromNodeId,
  type XdsMode,
} from "../../src/bootstrap/istio-env.js";
import { thrown } from "../support/thrown.js";

const POD = { POD_NAMESPACE: "shop", POD_NAME: "client-5d8f", INSTANCE_IP: "10.0.0.7" };

describe("istio-env", () => {
  it("builds the server, node id and metadata from the pod environment", () => {
    const bootstrap = istioEnvBootstrap({ ...POD, ISTIO_VERSION: "1.24.0", HOME: "/root" });
    expect(bootstrap).to.deep.equal({
      source: "istio-env",
      origin: "Istio pod environment",
      servers: [{ uri: "istiod.istio-system.svc:15010", channelCreds: { type: "insecure" }, serverFeatures: [] }],
      node: {
        id: "sidecar~10.0.0.7~client-5d8f.shop~shop.svc.cluster.local",
        cluster: "",
        metadata: { NAMESPACE: "shop", INSTANCE_IPS: "10.0.0.7", ISTIO_VERSION: "1.24.0", CLUSTER_ID: "Kubernetes", GENERATOR: "grpc" },
      },
      namespace: "shop",
    });
    expect(DEFAULT_ISTIOD_SERVER).to.equal("istiod.istio-system.svc:15010");
  });

  it("leaves ISTIO_VERSION out when it is not set", () => {
    expect(istioEnvBootstrap(POD).node.metadata).to.not.have.property("ISTIO_VERSION");
  });

  it("maps ISTIO_META_* variables into metadata without the prefix, as Istio's agent does", () => {
    const metadata = istioEnvBootstrap({
      ...POD,
      ISTIO_META_CLUSTER_ID: "east",
      ISTIO_META_DNS_CAPTURE: "true",
      ISTIO_META_MESH_ID: "mesh1",
      ISTIO_META_: "ignored: no key",
      ISTIO_METAJSON_LABELS: '{"app":"client"}',
    }).node.metadata;
    expect(metadata).to.deep.equal({
      CLUSTER_ID: "east",
      DNS_CAPTURE: "true",
      MESH_ID: "mesh1",
      NAMESPACE: "shop",
      INSTANCE_IPS: "10.0.0.7",
      GENERATOR: "grpc",
    });
  });

  it("gives the pod's own namespace and IP precedence over ISTIO_META_ values, keeping extra IPs", () => {
    const metadata = istioEnvBootstrap({ ...POD, ISTIO_META_NAMESPACE: "other", ISTIO_META_INSTANCE_IPS: "10.0.0.70,fd00::7" }).node.metadata;
    expect(metadata["NAMESPACE"]).to.equal("shop");
    // An exact entry match, not kitex's substring test: "10.0.0.70" does not contain the pod IP as an entry.
    expect(metadata["INSTANCE_IPS"]).to.equal("10.0.0.70,fd00::7,10.0.0.7");
    const already = istioEnvBootstrap({ ...POD, ISTIO_META_INSTANCE_IPS: "fd00::7, 10.0.0.7" }).node.metadata;
    expect(already["INSTANCE_IPS"]).to.equal("fd00::7, 10.0.0.7");
  });

  it("lets ISTIO_META_ISTIO_VERSION win over ISTIO_VERSION, as the agent keeps a version from metadata", () => {
    const metadata = istioEnvBootstrap({ ...POD, ISTIO_VERSION: "1.24.0", ISTIO_META_ISTIO_VERSION: "1.25.1" }).node.metadata;
    expect(metadata["ISTIO_VERSION"]).to.equal("1.25.1");
  });

  for (const subset of [1, 2, 3, 4, 5, 6, 7]) {
    const missing = REQUIRED_ISTIO_ENV.filter((_, i) => (subset & (1 << i)) !== 0);
    it(`names exactly the missing variables: ${missing.join(", ")}`, () => {
      const env: Record<string, string> = { ...POD };
      missing.forEach((name, i) => {
        // Blank counts as missing too.
        if (i % 2 === 0) delete env[name];
        else env[name] = " ";
      });
      const error = thrown(() => istioEnvBootstrap(env), "INVALID_CONFIG");
      expect(error.message).to.contain(`missing ${missing.join(", ")};`);
      // Whole words: POD_NAME is a prefix of POD_NAMESPACE.
      const words = new Set(error.message.split(/[^A-Z_]+/));
      for (const name of REQUIRED_ISTIO_ENV) {
        expect(words.has(name), `${name} in "${error.message}"`).to.equal(missing.includes(name));
      }
    });
  }

  it("tells how to set the missing variables", () => {
    const error = thrown(() => istioEnvBootstrap({}), "INVALID_CONFIG");
    expect(error.message).to.equal(
      "Istio pod environment: missing POD_NAMESPACE, POD_NAME, INSTANCE_IP; set POD_NAMESPACE (fieldRef metadata.namespace), " +
        "POD_NAME (fieldRef metadata.name), INSTANCE_IP (fieldRef status.podIP) in the pod spec, " +
        "or point GRPC_XDS_BOOTSTRAP at a gRPC xDS bootstrap file, or outside a pod give init({ server, namespace })",
    );
  });

  it("rejects an INSTANCE_IP that is not an IP address, and accepts IPv6", () => {
    const error = thrown(() => istioEnvBootstrap({ ...POD, INSTANCE_IP: "client-5d8f" }), "INVALID_CONFIG");
    expect(error.message).to.equal('Istio pod environment: INSTANCE_IP: expected an IP address, got "client-5d8f"');
    expect(istioEnvBootstrap({ ...POD, INSTANCE_IP: "fd00::7" }).node.id).to.equal("sidecar~fd00::7~client-5d8f.shop~shop.svc.cluster.local");
  });

  it("takes the server from RXDS_XDS_SERVER, and the server option over it", () => {
    expect(istioEnvBootstrap({ ...POD, RXDS_XDS_SERVER: "istiod.mesh.svc:15010" }).servers[0]?.uri).to.equal("istiod.mesh.svc:15010");
    expect(istioEnvBootstrap({ ...POD, RXDS_XDS_SERVER: "istiod.mesh.svc:15010" }, { server: "127.0.0.1:18000" }).servers[0]?.uri).to.equal("127.0.0.1:18000");
    expect(istioEnvBootstrap({ ...POD, RXDS_XDS_SERVER: "" }).servers[0]?.uri).to.equal(DEFAULT_ISTIOD_SERVER);
  });

  it("Istiod15012: with Istio's root certificate mounted, uses istiod's TLS port with the root CA and the pod's token; 15010 stays plaintext", () => {
    const mounted = (path: string) => path === "/var/run/secrets/istio/root-cert.pem";
    expect(istioEnvBootstrap(POD, { fileExists: mounted }).servers).to.deep.equal([
      {
        uri: "istiod.istio-system.svc:15012",
        channelCreds: { type: "tls", caCertificateFile: "/var/run/secrets/istio/root-cert.pem" },
        callCreds: [{ type: "jwt_token_file", jwtTokenFile: "/var/run/secrets/tokens/istio-token" }],
        serverFeatures: [],
      },
    ]);
    const moved = { ...POD, RXDS_XDS_SERVER: "istiod.mesh.svc:15012", RXDS_XDS_ROOT_CERT: "/certs/ca.pem", RXDS_XDS_TOKEN: "/tokens/t" };
    expect(istioEnvBootstrap(moved, { fileExists: () => false }).servers[0]).to.deep.include({
      uri: "istiod.mesh.svc:15012",
      channelCreds: { type: "tls", caCertificateFile: "/certs/ca.pem" },
      callCreds: [{ type: "jwt_token_file", jwtTokenFile: "/tokens/t" }],
    });
    expect(istioEnvBootstrap({ ...POD, RXDS_XDS_SERVER: "istiod.istio-system.svc:15010" }, { fileExists: mounted }).servers[0]?.channelCreds).to.deep.equal({ type: "insecure" });
    expect(istioEnvBootstrap(POD, { fileExists: () => false }).servers[0]?.uri).to.equal(DEFAULT_ISTIOD_SERVER);
  });

  it("chooses GENERATOR by mode: grpc by default, none in sidecar mode, explicit mode over ISTIO_META_GENERATOR", () => {
    const generator = (env: Record<string, string>, mode?: XdsMode) => istioEnvBootstrap(env, mode === undefined ? {} : { mode }).node.metadata["GENERATOR"];
    expect(generator(POD)).to.equal("grpc");
    expect(generator(POD, "grpc")).to.equal("grpc");
    expect(generator(POD, "sidecar")).to.equal(undefined);
    expect(generator({ ...POD, ISTIO_META_GENERATOR: "grpc" }, "sidecar")).to.equal(undefined);
    expect(generator({ ...POD, ISTIO_META_GENERATOR: "custom" })).to.equal("custom");
    expect(generator({ ...POD, ISTIO_META_GENERATOR: "custom" }, "grpc")).to.equal("grpc");
  });

  it("rejects bad options", () => {
    expect(thrown(() => istioEnvBootstrap(POD, { server: "" }), "INVALID_ARGUMENT").message).to.equal('server: expected a non-empty string, got ""');
    expect(thrown(() => istioEnvBootstrap(POD, { mode: "envoy" as XdsMode }), "INVALID_ARGUMENT").message).to.equal(
      'mode: expected "grpc" or "sidecar", got "envoy"',
    );
  });

  it("formats node ids, with a custom DNS domain", () => {
    expect(istioNodeId("10.0.0.7", "p", "ns")).to.equal("sidecar~10.0.0.7~p.ns~ns.svc.cluster.local");
    expect(istioNodeId("10.0.0.7", "p", "ns", "corp.internal")).to.equal("sidecar~10.0.0.7~p.ns~ns.svc.corp.internal");
  });

  it("parses the namespace out of node ids", () => {
    expect(namespaceFromNodeId("sidecar~10.0.0.7~client-5d8f.shop~shop.svc.cluster.local")).to.equal("shop");
    // Istio's grpc-simple template uses "~cluster.local" as the domain: the proxy id still names the namespace.
    expect(namespaceFromNodeId("sidecar~10.0.0.7~pod.ns~cluster.local")).to.equal("ns");
    // Pod names may hold dots; a namespace cannot.
    expect(namespaceFromNodeId("sidecar~10.0.0.7~my.pod.ns~ns.svc.cluster.local")).to.equal("ns");
    expect(namespaceFromNodeId("sidecar~10.0.0.7~pod~ns.svc.cluster.local")).to.equal("ns");
    expect(namespaceFromNodeId("sidecar~10.0.0.7~pod~cluster.local")).to.equal(undefined);
    expect(namespaceFromNodeId("my-node")).to.equal(undefined);
    expect(namespaceFromNodeId("")).to.equal(undefined);
  });
});
