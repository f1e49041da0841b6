import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { loadBootstrap, sameBootstrapOptions, type LoadBootstrapOptions } from "../../src/bootstrap/bootstrap-options.js";
import { thrown } from "../support/thrown.js";

const POD = { POD_NAMESPACE: "shop", POD_NAME: "client-5d8f", INSTANCE_IP: "10.0.0.7" };

const AGENT_BOOTSTRAP = JSON.stringify({
  xds_servers: [{ server_uri: "unix:///etc/istio/proxy/XDS", channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
  node: {
    id: "sidecar~10.0.0.9~api-77c.billing~billing.svc.cluster.local",
    cluster: "api.billing",
    metadata: { GENERATOR: "grpc", NAMESPACE: "billing", INSTANCE_IPS: "10.0.0.9" },
    locality: { region: "eu", zone: "eu-b" },
  },
  server_listener_resource_name_template: "xds.istio.io/grpc/lds/inbound/%s",
});

const INLINE_BOOTSTRAP = JSON.stringify({
  xds_servers: [{ server_uri: "inline:15010", channel_creds: [{ type: "insecure" }] }],
  node: { id: "sidecar~10.0.0.8~job.batch~batch.svc.cluster.local" },
});

describe("bootstrap-options", () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rxds-bootstrap-options-"));
    file = join(dir, "grpc-bootstrap.json");
    writeFileSync(file, AGENT_BOOTSTRAP);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe("source", () => {
    it("uses the gRPC bootstrap file when GRPC_XDS_BOOTSTRAP is set, even with the Istio env present", () => {
      const bootstrap = loadBootstrap({ env: { ...POD, GRPC_XDS_BOOTSTRAP: file } });
      expect(bootstrap.source).to.equal("grpc-bootstrap");
      expect(bootstrap.origin).to.equal(`GRPC_XDS_BOOTSTRAP=${file}`);
      expect(bootstrap.servers).to.deep.equal([{ uri: "unix:///etc/istio/proxy/XDS", channelCreds: { type: "insecure" }, serverFeatures: ["xds_v3"] }]);
      expect(bootstrap.node).to.deep.equal({
        id: "sidecar~10.0.0.9~api-77c.billing~billing.svc.cluster.local",
        cluster: "api.billing",
        metadata: { GENERATOR: "grpc", NAMESPACE: "billing", INSTANCE_IPS: "10.0.0.9" },
        locality: { region: "eu", zone: "eu-b" },
      });
      expect(bootstrap.serverListenerResourceNameTemplate).to.equal("xds.istio.io/grpc/lds/inbound/%s");
    });

    it("uses GRPC_XDS_BOOTSTRAP_CONFIG when only it is set, without needing the Istio env", () => {
      const bootstrap = loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: INLINE_BOOTSTRAP } });
      expect(bootstrap.source).to.equal("grpc-bootstrap");
      expect(bootstrap.servers[0]?.uri).to.equal("inline:15010");
    });

    it("prefers the file over the inline config when both are set", () => {
      const bootstrap = loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP: file, GRPC_XDS_BOOTSTRAP_CONFIG: INLINE_BOOTSTRAP } });
      expect(bootstrap.servers[0]?.uri).to.equal("unix:///etc/istio/proxy/XDS");
    });

    it("reads the file through the injected reader", () => {
      const bootstrap = loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP: "/nowhere.json" }, readFile: () => INLINE_BOOTSTRAP });
      expect(bootstrap.servers[0]?.uri).to.equal("inline:15010");
    });

    it("falls back to the Istio pod environment", () => {
      const bootstrap = loadBootstrap({ env: { ...POD, ISTIO_VERSION: "1.24.0" } });
      expect(bootstrap.source).to.equal("istio-env");
      expect(bootstrap.servers[0]?.uri).to.equal("istiod.istio-system.svc:15010");
      expect(bootstrap.node.id).to.equal("sidecar~10.0.0.7~client-5d8f.shop~shop.svc.cluster.local");
      expect(bootstrap.node.metadata).to.deep.equal({ NAMESPACE: "shop", INSTANCE_IPS: "10.0.0.7", ISTIO_VERSION: "1.24.0", CLUSTER_ID: "Kubernetes", GENERATOR: "grpc" });
      expect(bootstrap.namespace).to.equal("shop");
    });

    it("reports the missing Istio variables when no source is complete", () => {
      const error = thrown(() => loadBootstrap({ env: { POD_NAME: "p" } }), "INVALID_CONFIG");
      expect(error.message).to.contain("missing POD_NAMESPACE, INSTANCE_IP;");
    });

    it("surfaces gRPC bootstrap errors instead of falling back", () => {
      writeFileSync(file, "{");
      expect(thrown(() => loadBootstrap({ env: { ...POD, GRPC_XDS_BOOTSTRAP: file } }), "INVALID_CONFIG").message).to.contain(`GRPC_XDS_BOOTSTRAP=${file}: invalid JSON`);
    });
  });

  describe("explicit options", () => {
    it("replace the server list with one plaintext server, for either source", () => {
      const expected = [{ uri: "127.0.0.1:18000", channelCreds: { type: "insecure" }, serverFeatures: [] }];
      expect(loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP: file }, server: "127.0.0.1:18000" }).servers).to.deep.equal(expected);
      expect(loadBootstrap({ env: { ...POD, RXDS_XDS_SERVER: "istiod.x.svc:15010" }, server: "127.0.0.1:18000" }).servers).to.deep.equal(expected);
    });

    it("namespace, podName and ip stand for the pod variables and win over them; with namespace, the others default to the host name and 127.0.0.1", () => {
      const alone = loadBootstrap({ env: {}, server: "127.0.0.1:15010", namespace: "shop" });
      expect(alone.node.id).to.equal(`sidecar~127.0.0.1~${hostname()}.shop~shop.svc.cluster.local`);
      expect(alone.node.metadata).to.include({ NAMESPACE: "shop", INSTANCE_IPS: "127.0.0.1", GENERATOR: "grpc" });
      expect(alone.namespace).to.equal("shop");
      const over = loadBootstrap({ env: POD, namespace: "billing", podName: "laptop", ip: "10.1.2.3" });
      expect(over.node.id).to.equal("sidecar~10.1.2.3~laptop.billing~billing.svc.cluster.local");
      expect(over.namespace).to.equal("billing");
      // Without namespace, a pod's own variables fill the rest, and a missing one is still an error.
      expect(loadBootstrap({ env: POD, podName: "laptop" }).node.id).to.equal("sidecar~10.0.0.7~laptop.shop~shop.svc.cluster.local");
      expect(thrown(() => loadBootstrap({ env: {}, podName: "laptop" }), "INVALID_CONFIG").message).to.contain("missing POD_NAMESPACE, INSTANCE_IP;");
    });

    it("namespace sets the namespace of a gRPC bootstrap's node too", () => {
      const bootstrap = loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP: file }, namespace: "shop" });
      expect(bootstrap.node.metadata["NAMESPACE"]).to.equal("shop");
      expect(bootstrap.namespace).to.equal("shop");
    });

    it("reject a blank namespace or pod name and an ip that is not an IP address, naming the option", () => {
      expect(thrown(() => loadBootstrap({ env: {}, namespace: " " }), "INVALID_ARGUMENT").message).to.equal('bootstrap options: namespace: expected a non-empty string, got " "');
      expect(thrown(() => loadBootstrap({ env: {}, namespace: "a", podName: "" }), "INVALID_ARGUMENT").message).to.contain("podName: expected a non-empty string");
      expect(thrown(() => loadBootstrap({ env: {}, namespace: "a", ip: "laptop" }), "INVALID_ARGUMENT").message).to.equal('bootstrap options: ip: expected an IP address, got "laptop"');
    });

    it("merge node fields over the node: metadata key by key, locality field by field", () => {
      const bootstrap = loadBootstrap({
        env: { GRPC_XDS_BOOTSTRAP: file },
        node: { cluster: "api-canary", metadata: { INSTANCE_IPS: "10.0.0.99", LABELS: { app: "api" } }, locality: { subZone: "r1", zone: "eu-c" } },
      });
      expect(bootstrap.node).to.deep.equal({
        id: "sidecar~10.0.0.9~api-77c.billing~billing.svc.cluster.local",
        cluster: "api-canary",
        metadata: { GENERATOR: "grpc", NAMESPACE: "billing", INSTANCE_IPS: "10.0.0.99", LABELS: { app: "api" } },
        locality: { region: "eu", zone: "eu-c", subZone: "r1" },
      });
      const withId = loadBootstrap({ env: POD, node: { id: "custom-node", locality: { region: "us" } } });
      expect(withId.node.id).to.equal("custom-node");
      expect(withId.node.locality).to.deep.equal({ region: "us" });
      expect(withId.node.metadata["NAMESPACE"]).to.equal("shop");
    });

    it("apply the mode to a gRPC bootstrap's GENERATOR only when given", () => {
      expect(loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP: file } }).node.metadata["GENERATOR"]).to.equal("grpc");
      expect(loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP: file }, mode: "sidecar" }).node.metadata).to.not.have.property("GENERATOR");
      expect(loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: INLINE_BOOTSTRAP } }).node.metadata).to.deep.equal({});
      expect(loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: INLINE_BOOTSTRAP }, mode: "grpc" }).node.metadata).to.deep.equal({ GENERATOR: "grpc" });
      expect(loadBootstrap({ env: POD, mode: "sidecar" }).node.metadata).to.not.have.property("GENERATOR");
    });

    it("reject bad shapes with INVALID_ARGUMENT naming the option", () => {
      const cases: [unknown, string][] = [
        [{ server: "" }, 'bootstrap options: server: expected a non-empty string, got ""'],
        [{ server: 15010 }, "bootstrap options: server: expected a non-empty string, got 15010"],
        [{ mode: "envoy" }, 'bootstrap options: mode: expected "grpc" or "sidecar", got "envoy"'],
        [{ env: "PROD" }, 'bootstrap options: env: expected an object, got "PROD"'],
        [{ readFile: "cat" }, 'bootstrap options: readFile: expected a function, got "cat"'],
        [{ node: "n" }, 'bootstrap options: node: expected an object, got "n"'],
        [{ node: { id: "" } }, 'bootstrap options: node.id: expected a non-empty string, got ""'],
        [{ node: { cluster: 1 } }, "bootstrap options: node.cluster: expected a string, got 1"],
        [{ node: { metadata: ["a"] } }, 'bootstrap options: node.metadata: expected a JSON object, got ["a"]'],
        [{ node: { locality: { zone: 1 } } }, "bootstrap options: node.locality.zone: expected a string, got 1"],
        [null, "bootstrap options: options: expected an object, got null"],
      ];
      for (const [options, message] of cases) {
        const given = (options === null ? null : { env: POD, ...(options as object) }) as LoadBootstrapOptions;
        const error = thrown(() => loadBootstrap(given), "INVALID_ARGUMENT");
        expect(error.message).to.equal(message);
      }
    });
  });

  describe("namespace", () => {
    it("comes from metadata NAMESPACE first", () => {
      expect(loadBootstrap({ env: { POD_NAMESPACE: "shop", GRPC_XDS_BOOTSTRAP: file } }).namespace).to.equal("billing");
      expect(loadBootstrap({ env: POD, node: { metadata: { NAMESPACE: "override" } } }).namespace).to.equal("override");
    });

    it("then from POD_NAMESPACE, then from the node id", () => {
      expect(loadBootstrap({ env: { POD_NAMESPACE: "shop", GRPC_XDS_BOOTSTRAP_CONFIG: INLINE_BOOTSTRAP } }).namespace).to.equal("shop");
      expect(loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: INLINE_BOOTSTRAP } }).namespace).to.equal("batch");
    });

    it("is absent when nothing names one", () => {
      const bootstrap = loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: INLINE_BOOTSTRAP }, node: { id: "plain-node" } });
      expect(bootstrap).to.not.have.property("namespace");
    });
  });

  it("returns a deeply frozen result without freezing the caller's objects", () => {
    const labels = { app: "api" };
    const bootstrap = loadBootstrap({ env: POD, node: { metadata: { LABELS: labels } } });
    expect(Object.isFrozen(bootstrap)).to.equal(true);
    expect(Object.isFrozen(bootstrap.servers)).to.equal(true);
    expect(Object.isFrozen(bootstrap.servers[0]?.channelCreds)).to.equal(true);
    expect(Object.isFrozen(bootstrap.node.metadata)).to.equal(true);
    expect(Object.isFrozen(bootstrap.node.metadata["LABELS"])).to.equal(true);
    expect(Object.isFrozen(labels)).to.equal(false);
  });

  it("ClusterId: ISTIO_META_CLUSTER_ID goes beside each JWT token as Istio's clusterid header", () => {
    const env = { ...POD, ISTIO_META_CLUSTER_ID: "east" };
    const bootstrap = loadBootstrap({ env, fileExists: () => true });
    expect(bootstrap.servers[0]?.callCreds).to.deep.equal([{ type: "jwt_token_file", jwtTokenFile: "/var/run/secrets/tokens/istio-token", clusterId: "east" }]);
    expect(loadBootstrap({ env: POD, fileExists: () => true }).servers[0]?.callCreds).to.deep.equal([{ type: "jwt_token_file", jwtTokenFile: "/var/run/secrets/tokens/istio-token" }]);
  });

  describe("sameBootstrapOptions", () => {
    const read = (): string => "";

    it("treats absent, undefined and empty options alike", () => {
      expect(sameBootstrapOptions(undefined, {})).to.equal(true);
      expect(sameBootstrapOptions({}, undefined)).to.equal(true);
      expect(sameBootstrapOptions(undefined, undefined)).to.equal(true);
      expect(sameBootstrapOptions(undefined, { env: process.env })).to.equal(true);
      expect(sameBootstrapOptions({ env: process.env, server: "s:1" }, { server: "s:1" })).to.equal(true);
    });

    it("compares deeply, functions by identity", () => {
      const a: LoadBootstrapOptions = { env: { ...POD }, readFile: read, server: "s:1", mode: "grpc", node: { id: "n", metadata: { A: { b: [1, 2] } }, locality: { zone: "z" } } };
      const b: LoadBootstrapOptions = { env: { ...POD }, readFile: read, server: "s:1", mode: "grpc", node: { id: "n", metadata: { A: { b: [1, 2] } }, locality: { zone: "z" } } };
      expect(sameBootstrapOptions(a, b)).to.equal(true);
      expect(sameBootstrapOptions(a, { ...b, readFile: () => "" })).to.equal(false);
      expect(sameBootstrapOptions(a, { ...b, server: "s:2" })).to.equal(false);
      expect(sameBootstrapOptions(a, { ...b, mode: "sidecar" })).to.equal(false);
      expect(sameBootstrapOptions(a, { ...b, env: { ...POD, POD_NAME: "other" } })).to.equal(false);
      expect(sameBootstrapOptions(a, { ...b, node: { id: "n", metadata: { A: { b: [1, 3] } }, locality: { zone: "z" } } })).to.equal(false);
      expect(sameBootstrapOptions(a, { ...b, node: { id: "n", metadata: { A: { b: [1, 2, 3] } }, locality: { zone: "z" } } })).to.equal(false);
      expect(sameBootstrapOptions(a, { ...b, node: { id: "n", metadata: { A: { b: [1, 2] } } } })).to.equal(false);
      expect(sameBootstrapOptions({ server: "s:1" }, { server: "s:1", mode: undefined } as unknown as LoadBootstrapOptions)).to.equal(true);
      expect(sameBootstrapOptions({ node: { metadata: { A: [] } } }, { node: { metadata: { A: {} } } })).to.equal(false);
    });
  });
});
