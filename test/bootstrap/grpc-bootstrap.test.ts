import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GRPC_XDS_BOOTSTRAP,
  GRPC_XDS_BOOTSTRAP_CONFIG,
  parseGrpcBootstrap,
  readGrpcBootstrap,
} from "../../src/bootstrap/grpc-bootstrap.js";
import { thrown } from "../support/thrown.js";

/** What Istio's agent writes to /etc/istio/proxy/grpc-bootstrap.json, plus the A47 fields. */
const AGENT_BOOTSTRAP = {
  xds_servers: [{ server_uri: "unix:///etc/istio/proxy/XDS", channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
  node: {
    id: "sidecar~10.0.0.7~client-5d8f.shop~shop.svc.cluster.local",
    cluster: "client.shop",
    metadata: { GENERATOR: "grpc", INSTANCE_IPS: "10.0.0.7", ISTIO_VERSION: "1.24.0", PILOT_SAN: ["istiod.istio-system.svc"] },
    locality: { region: "eu-west1", zone: "eu-west1-b", sub_zone: "rack-4" },
  },
  certificate_providers: {
    default: {
      plugin_name: "file_watcher",
      config: {
        certificate_file: "/var/lib/istio/data/cert-chain.pem",
        private_key_file: "/var/lib/istio/data/key.pem",
        ca_certificate_file: "/var/lib/istio/data/root-cert.pem",
        refresh_interval: "900s",
      },
    },
  },
  server_listener_resource_name_template: "xds.istio.io/grpc/lds/inbound/%s",
  client_default_listener_resource_name_template: "%s",
  authorities: {
    "mesh.example": {
      client_listener_resource_name_template: "xdstp://mesh.example/envoy.config.listener.v3.Listener/%s",
      xds_servers: [{ server_uri: "xds.mesh.example:443", channel_creds: [{ type: "insecure" }] }],
    },
    "empty.example": {},
  },
};

function withField(path: (root: Record<string, unknown>) => void): string {
  const root = structuredClone(AGENT_BOOTSTRAP) as unknown as Record<string, unknown>;
  path(root);
  return JSON.stringify(root);
}

function server0(root: Record<string, unknown>): Record<string, unknown> {
  return (root["xds_servers"] as Record<string, unknown>[])[0] as Record<string, unknown>;
}

describe("grpc-bootstrap", () => {
  describe("parseGrpcBootstrap", () => {
    it("maps every field of the bootstrap Istio's agent writes", () => {
      const bootstrap = parseGrpcBootstrap(JSON.stringify(AGENT_BOOTSTRAP), "test");
      expect(bootstrap).to.deep.equal({
        source: "grpc-bootstrap",
        origin: "test",
        servers: [{ uri: "unix:///etc/istio/proxy/XDS", channelCreds: { type: "insecure" }, serverFeatures: ["xds_v3"] }],
        node: {
          id: "sidecar~10.0.0.7~client-5d8f.shop~shop.svc.cluster.local",
          cluster: "client.shop",
          metadata: { GENERATOR: "grpc", INSTANCE_IPS: "10.0.0.7", ISTIO_VERSION: "1.24.0", PILOT_SAN: ["istiod.istio-system.svc"] },
          locality: { region: "eu-west1", zone: "eu-west1-b", subZone: "rack-4" },
        },
        certificateProviders: {
          default: {
            certificateFile: "/var/lib/istio/data/cert-chain.pem",
            privateKeyFile: "/var/lib/istio/data/key.pem",
            caCertificateFile: "/var/lib/istio/data/root-cert.pem",
            refreshIntervalMs: 900_000,
          },
        },
        serverListenerResourceNameTemplate: "xds.istio.io/grpc/lds/inbound/%s",
        clientDefaultListenerResourceNameTemplate: "%s",
        authorities: {
          "mesh.example": {
            clientListenerResourceNameTemplate: "xdstp://mesh.example/envoy.config.listener.v3.Listener/%s",
            servers: [{ uri: "xds.mesh.example:443", channelCreds: { type: "insecure" }, serverFeatures: [] }],
          },
          "empty.example": {},
        },
      });
    });

    it("parses the grpc-simple template's bootstrap (dns:/// uri, no locality, no providers)", () => {
      const text = JSON.stringify({
        xds_servers: [{ server_uri: "dns:///istiod.istio-system.svc:15010", channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
        node: { id: "sidecar~10.0.0.7~pod.ns~cluster.local", metadata: { GENERATOR: "grpc" } },
      });
      expect(parseGrpcBootstrap(text, "test")).to.deep.equal({
        source: "grpc-bootstrap",
        origin: "test",
        servers: [{ uri: "dns:///istiod.istio-system.svc:15010", channelCreds: { type: "insecure" }, serverFeatures: ["xds_v3"] }],
        node: { id: "sidecar~10.0.0.7~pod.ns~cluster.local", cluster: "", metadata: { GENERATOR: "grpc" } },
      });
    });

    it("keeps every server in order, and a node-less bootstrap gets an empty node", () => {
      const text = JSON.stringify({
        xds_servers: [
          { server_uri: "a:1", channel_creds: [{ type: "insecure" }] },
          { server_uri: "b:2", channel_creds: [{ type: "insecure" }], server_features: ["ignore_resource_deletion"] },
        ],
      });
      const bootstrap = parseGrpcBootstrap(text, "test");
      expect(bootstrap.servers.map((s) => s.uri)).to.deep.equal(["a:1", "b:2"]);
      expect(bootstrap.servers[1]?.serverFeatures).to.deep.equal(["ignore_resource_deletion"]);
      expect(bootstrap.node).to.deep.equal({ id: "", cluster: "", metadata: {} });
    });

    it("ignores unknown top-level, server and node fields (forward compatible)", () => {
      const text = withField((root) => {
        root["future_field"] = { anything: [1, 2] };
        server0(root)["future_server_field"] = [{ type: "x" }];
        (root["node"] as Record<string, unknown>)["user_agent_name"] = "x";
      });
      const bootstrap = parseGrpcBootstrap(text, "test");
      expect(bootstrap).to.not.have.property("future_field");
      expect(bootstrap.servers[0]).to.deep.equal({ uri: "unix:///etc/istio/proxy/XDS", channelCreds: { type: "insecure" }, serverFeatures: ["xds_v3"] });
    });

    it("ignores server_features entries that are not strings, as gRPC does", () => {
      const text = withField((root) => (server0(root)["server_features"] = ["xds_v3", 7, { x: 1 }, "ignore_resource_deletion"]));
      expect(parseGrpcBootstrap(text, "test").servers[0]?.serverFeatures).to.deep.equal(["xds_v3", "ignore_resource_deletion"]);
    });

    it("uses the first supported channel_creds type", () => {
      const text = withField(
        (root) =>
          (server0(root)["channel_creds"] = [
            { type: "google_default" },
            { type: "insecure", config: { note: "plaintext" } },
            { type: "tls", config: {} },
          ]),
      );
      expect(parseGrpcBootstrap(text, "test").servers[0]?.channelCreds).to.deep.equal({ type: "insecure" });
    });

    it("TlsChannelCreds: reads gRFC A65's tls config, with system CAs and a 10 minute refresh by default", () => {
      const text = withField(
        (root) =>
          (server0(root)["channel_creds"] = [
            {
              type: "tls",
              config: {
                ca_certificate_file: "/var/run/secrets/istio/root-cert.pem",
                certificate_file: "/c.pem",
                private_key_file: "/k.pem",
                refresh_interval: "0.5s",
                server_name: "istiod.istio-system.svc",
              },
            },
          ]),
      );
      expect(parseGrpcBootstrap(text, "test").servers[0]?.channelCreds).to.deep.equal({
        type: "tls",
        caCertificateFile: "/var/run/secrets/istio/root-cert.pem",
        certificateFile: "/c.pem",
        privateKeyFile: "/k.pem",
        refreshIntervalMs: 500,
        serverName: "istiod.istio-system.svc",
      });
      const bare = withField((root) => (server0(root)["channel_creds"] = [{ type: "tls" }]));
      expect(parseGrpcBootstrap(bare, "test").servers[0]?.channelCreds).to.deep.equal({ type: "tls", refreshIntervalMs: 600_000 });
    });

    it("JwtCallCreds: reads gRFC A97's jwt_token_file call credentials and skips unknown call_creds types", () => {
      const text = withField((root) => {
        server0(root)["channel_creds"] = [{ type: "tls", config: { ca_certificate_file: "/ca.pem" } }];
        server0(root)["call_creds"] = [{ type: "future_creds" }, { type: "jwt_token_file", config: { jwt_token_file: "/var/run/secrets/tokens/istio-token" } }];
      });
      expect(parseGrpcBootstrap(text, "test").servers[0]?.callCreds).to.deep.equal([
        { type: "jwt_token_file", jwtTokenFile: "/var/run/secrets/tokens/istio-token" },
      ]);
    });

    it("GoogleDefault: rejects channel_creds with no supported type, naming the types found, the path, and google_default as unsupported", () => {
      const text = withField((root) => (server0(root)["channel_creds"] = [{ type: "google_default" }, { type: "alts" }]));
      const error = thrown(() => parseGrpcBootstrap(text, "GRPC_XDS_BOOTSTRAP_CONFIG"), "INVALID_CONFIG");
      expect(error.message).to.equal(
        'GRPC_XDS_BOOTSTRAP_CONFIG: xds_servers[0].channel_creds: no supported channel credentials type among "google_default", "alts" ' +
          '(rxds supports "insecure", "tls"); "google_default" (Google Cloud credentials) is not supported by rxds',
      );
    });

    it("requires channel_creds to be a non-empty array of typed entries", () => {
      for (const creds of [undefined, [], "insecure"]) {
        const text = withField((root) => (server0(root)["channel_creds"] = creds));
        expect(thrown(() => parseGrpcBootstrap(text, "src"), "INVALID_CONFIG").message).to.match(/^src: xds_servers\[0\]\.channel_creds: expected a non-empty array/);
      }
      const untyped = withField((root) => (server0(root)["channel_creds"] = [{ type: "insecure" }, { config: {} }]));
      expect(thrown(() => parseGrpcBootstrap(untyped, "src"), "INVALID_CONFIG").message).to.equal(
        "src: xds_servers[0].channel_creds[1].type: expected a non-empty string, got nothing",
      );
    });

    it("names the source and the field path of a bad field", () => {
      const origin = "GRPC_XDS_BOOTSTRAP=/etc/istio/proxy/grpc-bootstrap.json";
      const cases: [(root: Record<string, unknown>) => void, string][] = [
        [(root) => delete server0(root)["server_uri"], "xds_servers[0].server_uri: expected a non-empty string"],
        [(root) => (server0(root)["server_uri"] = ""), 'xds_servers[0].server_uri: expected a non-empty string, got ""'],
        [(root) => (server0(root)["server_uri"] = 15010), "xds_servers[0].server_uri: expected a non-empty string, got 15010"],
        [(root) => delete root["xds_servers"], "xds_servers: is required: expected a non-empty array of servers"],
        [(root) => (root["xds_servers"] = []), "xds_servers: is required: expected a non-empty array of servers"],
        [(root) => (root["xds_servers"] = { server_uri: "x" }), 'xds_servers: expected an array, got {"server_uri":"x"}'],
        [(root) => (root["xds_servers"] = ["x:1"]), 'xds_servers[0]: expected an object, got "x:1"'],
        [(root) => (server0(root)["server_features"] = "xds_v3"), 'xds_servers[0].server_features: expected an array of strings, got "xds_v3"'],
        [(root) => (root["node"] = []), "node: expected an object, got []"],
        [(root) => ((root["node"] as Record<string, unknown>)["id"] = 1), "node.id: expected a string, got 1"],
        [(root) => ((root["node"] as Record<string, unknown>)["cluster"] = true), "node.cluster: expected a string, got true"],
        [(root) => ((root["node"] as Record<string, unknown>)["metadata"] = "GENERATOR=grpc"), 'node.metadata: expected an object, got "GENERATOR=grpc"'],
        [(root) => ((root["node"] as Record<string, unknown>)["locality"] = { zone: 3 }), "node.locality.zone: expected a string, got 3"],
        [(root) => ((root["node"] as Record<string, unknown>)["locality"] = { sub_zone: null }), "node.locality.sub_zone: expected a string, got null"],
        [(root) => (root["certificate_providers"] = { default: { config: {} } }), 'certificate_providers["default"].plugin_name: expected a non-empty string, got nothing'],
        [(root) => (root["certificate_providers"] = { default: { plugin_name: "file_watcher", config: [] } }), 'certificate_providers["default"].config: expected an object, got []'],
        [(root) => (root["certificate_providers"] = { default: { plugin_name: "spiffe" } }), 'certificate_providers["default"].plugin_name: "spiffe" is not supported (rxds supports "file_watcher")'],
        [
          (root) => (root["certificate_providers"] = { default: { plugin_name: "file_watcher", config: { refresh_interval: "1m" } } }),
          'certificate_providers["default"].config: expected certificate_file and private_key_file, or ca_certificate_file, or both',
        ],
        [
          (root) => (root["certificate_providers"] = { default: { plugin_name: "file_watcher", config: { certificate_file: "/c.pem" } } }),
          'certificate_providers["default"].config.private_key_file: certificate_file and private_key_file must be set together',
        ],
        [
          (root) => (root["certificate_providers"] = { default: { plugin_name: "file_watcher", config: { ca_certificate_file: "/ca.pem", refresh_interval: "1m" } } }),
          'certificate_providers["default"].config.refresh_interval: expected a positive duration such as "600s", got "1m"',
        ],
        [(root) => (server0(root)["channel_creds"] = [{ type: "tls", config: { ca_certificate_file: 7 } }]), "xds_servers[0].channel_creds[0].config.ca_certificate_file: expected a file path, got 7"],
        [
          (root) => (server0(root)["call_creds"] = [{ type: "jwt_token_file", config: { jwt_token_file: "/t" } }]),
          "xds_servers[0].call_creds: need tls channel_creds: rxds never sends a bearer token over a plaintext channel",
        ],
        [
          (root) => {
            server0(root)["channel_creds"] = [{ type: "tls" }];
            server0(root)["call_creds"] = [{ type: "jwt_token_file", config: {} }];
          },
          "xds_servers[0].call_creds[0].config.jwt_token_file: is required: expected the path of the token file",
        ],
        [(root) => (root["server_listener_resource_name_template"] = 1), "server_listener_resource_name_template: expected a string, got 1"],
        [(root) => (root["client_default_listener_resource_name_template"] = {}), "client_default_listener_resource_name_template: expected a string, got {}"],
        [
          (root) => (root["authorities"] = { a: { client_listener_resource_name_template: "xdstp://b/x/%s" } }),
          'authorities["a"].client_listener_resource_name_template: must start with "xdstp://a/"',
        ],
        [
          (root) => (root["authorities"] = { a: { xds_servers: [{ server_uri: "a:1", channel_creds: [{ type: "alts" }] }] } }),
          'authorities["a"].xds_servers[0].channel_creds: no supported channel credentials type among "alts" (rxds supports "insecure", "tls")',
        ],
      ];
      for (const [mutate, expected] of cases) {
        const error = thrown(() => parseGrpcBootstrap(withField(mutate), origin), "INVALID_CONFIG");
        expect(error.message).to.equal(`${origin}: ${expected}`);
      }
    });

    it("rejects a top level that is not an object", () => {
      expect(thrown(() => parseGrpcBootstrap("[]", "src"), "INVALID_CONFIG").message).to.equal("src: expected a JSON object at the top level, got []");
    });

    it("rejects bad JSON, naming the source", () => {
      const error = thrown(() => parseGrpcBootstrap('{"xds_servers": [', "GRPC_XDS_BOOTSTRAP_CONFIG"), "INVALID_CONFIG");
      expect(error.message).to.match(/^GRPC_XDS_BOOTSTRAP_CONFIG: invalid JSON: /);
      expect(error.cause).to.be.instanceOf(SyntaxError);
    });
  });

  describe("readGrpcBootstrap", () => {
    const inline = JSON.stringify({ xds_servers: [{ server_uri: "inline:1", channel_creds: [{ type: "insecure" }] }] });
    const fromFile = JSON.stringify({ xds_servers: [{ server_uri: "file:1", channel_creds: [{ type: "insecure" }] }] });
    let dir: string;
    let file: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "rxds-grpc-bootstrap-"));
      file = join(dir, "grpc-bootstrap.json");
      writeFileSync(file, fromFile);
    });

    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("returns undefined when neither variable is set (or both are blank)", () => {
      expect(readGrpcBootstrap({})).to.equal(undefined);
      expect(readGrpcBootstrap({ [GRPC_XDS_BOOTSTRAP]: "", [GRPC_XDS_BOOTSTRAP_CONFIG]: "  " })).to.equal(undefined);
    });

    it("reads the file named by GRPC_XDS_BOOTSTRAP from disk", () => {
      const bootstrap = readGrpcBootstrap({ [GRPC_XDS_BOOTSTRAP]: file });
      expect(bootstrap?.servers[0]?.uri).to.equal("file:1");
      expect(bootstrap?.origin).to.equal(`GRPC_XDS_BOOTSTRAP=${file}`);
    });

    it("reads inline JSON from GRPC_XDS_BOOTSTRAP_CONFIG", () => {
      const bootstrap = readGrpcBootstrap({ [GRPC_XDS_BOOTSTRAP_CONFIG]: inline });
      expect(bootstrap?.servers[0]?.uri).to.equal("inline:1");
      expect(bootstrap?.origin).to.equal("GRPC_XDS_BOOTSTRAP_CONFIG");
    });

    it("prefers the file when both are set, as gRPC does", () => {
      const bootstrap = readGrpcBootstrap({ [GRPC_XDS_BOOTSTRAP]: file, [GRPC_XDS_BOOTSTRAP_CONFIG]: inline });
      expect(bootstrap?.servers[0]?.uri).to.equal("file:1");
    });

    it("uses the injected reader", () => {
      const read: string[] = [];
      const bootstrap = readGrpcBootstrap({ [GRPC_XDS_BOOTSTRAP]: "/virtual/bootstrap.json" }, (path) => {
        read.push(path);
        return inline;
      });
      expect(read).to.deep.equal(["/virtual/bootstrap.json"]);
      expect(bootstrap?.servers[0]?.uri).to.equal("inline:1");
    });

    it("names the file when it cannot be read", () => {
      const missing = join(dir, "missing.json");
      const error = thrown(() => readGrpcBootstrap({ [GRPC_XDS_BOOTSTRAP]: missing, [GRPC_XDS_BOOTSTRAP_CONFIG]: inline }), "INVALID_CONFIG");
      expect(error.message.startsWith(`GRPC_XDS_BOOTSTRAP=${missing}: cannot read the file: `)).to.equal(true, error.message);
      expect(error.message).to.contain("ENOENT");
    });

    it("names the file when its JSON is bad", () => {
      writeFileSync(file, "{ not json");
      expect(thrown(() => readGrpcBootstrap({ [GRPC_XDS_BOOTSTRAP]: file }), "INVALID_CONFIG").message).to.contain(`GRPC_XDS_BOOTSTRAP=${file}: invalid JSON: `);
    });

    it("names the variable when inline JSON is bad", () => {
      expect(thrown(() => readGrpcBootstrap({ [GRPC_XDS_BOOTSTRAP_CONFIG]: "{" }), "INVALID_CONFIG").message).to.match(/^GRPC_XDS_BOOTSTRAP_CONFIG: invalid JSON: /);
    });
  });
});
