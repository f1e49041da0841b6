// A cluster's UpstreamTlsContext as a gRPC client honours it (gRFC A29): certificate provider instances of the
// bootstrap, SAN matchers, and a NACK naming the field for everything a client cannot honour.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { ClusterSchema, Cluster_DiscoveryType, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { TransportSocketSchema } from "../../gen/envoy/config/core/v3/base_pb.js";
import { SubjectAltNameMatcher_SanType } from "../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { UpstreamTlsContextSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { validateCluster, type ClusterModel } from "../../src/resources/cluster.js";

const NAME = "outbound|8080||echo.default.svc.cluster.local";
const ads = { configSourceSpecifier: { case: "ads" as const, value: {} } };
const PROVIDERS = new Set(["default"]);
const GREETER = "spiffe://cluster.local/ns/default/sa/greeter";

type TlsInit = MessageInitShape<typeof UpstreamTlsContextSchema>;

function cluster(tls: TlsInit): Cluster {
  return withSocket({ name: "envoy.transport_sockets.tls", configType: { case: "typedConfig", value: anyPack(UpstreamTlsContextSchema, create(UpstreamTlsContextSchema, tls)) } });
}

function withSocket(transportSocket: MessageInitShape<typeof TransportSocketSchema>): Cluster {
  return create(ClusterSchema, {
    name: NAME,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: ads, serviceName: NAME },
    transportSocket,
  });
}

/** The UpstreamTlsContext istiod's grpc generator sends for ISTIO_MUTUAL: current and older fields, exact SANs. */
function istioMutual(sans: string[]): TlsInit {
  return {
    commonTlsContext: {
      tlsCertificateProviderInstance: { instanceName: "default", certificateName: "default" },
      tlsCertificateCertificateProviderInstance: { instanceName: "default", certificateName: "default" },
      validationContextType: {
        case: "combinedValidationContext",
        value: {
          defaultValidationContext: {
            caCertificateProviderInstance: { instanceName: "default", certificateName: "ROOTCA" },
            matchSubjectAltNames: sans.map((exact) => ({ matchPattern: { case: "exact", value: exact } })),
          },
          validationContextCertificateProviderInstance: { instanceName: "default", certificateName: "ROOTCA" },
        },
      },
    },
  };
}

function tlsOf(message: Cluster): NonNullable<ClusterModel["tls"]> {
  const tls = validateCluster(message, NAME, { certificateProviders: PROVIDERS }).tls;
  expect(tls).to.not.equal(undefined);
  return tls!;
}

function reason(message: Cluster, providers: ReadonlySet<string> = PROVIDERS): string {
  try {
    validateCluster(message, NAME, { certificateProviders: providers });
    return "accepted";
  } catch (e) {
    return (e as Error).message;
  }
}

describe("cluster transport_socket (gRFC A29)", () => {
  it("IstioMutual: reads istiod's ISTIO_MUTUAL context: identity and CA from instance default, SANs matched exactly", () => {
    const tls = tlsOf(cluster(istioMutual([GREETER])));
    expect(tls.identity).to.deep.equal({ instance: "default", certificateName: "default" });
    expect(tls.ca).to.deep.equal({ instance: "default", certificateName: "ROOTCA" });
    expect(tls.subjectAltNames).to.deep.equal([`exact "${GREETER}"`]);
    expect(tls.sanMatches(`URI:${GREETER}`)).to.equal(true);
    expect(tls.sanMatches("URI:spiffe://cluster.local/ns/default/sa/other, DNS:greeter")).to.equal(false);
    expect(tls.sanMatches(undefined)).to.equal(false);
  });

  it("OlderFields: the deprecated provider-instance fields alone are enough; no SAN matcher accepts any certificate", () => {
    const tls = tlsOf(
      cluster({
        commonTlsContext: {
          tlsCertificateCertificateProviderInstance: { instanceName: "default", certificateName: "default" },
          validationContextType: { case: "validationContextCertificateProviderInstance", value: { instanceName: "default", certificateName: "ROOTCA" } },
        },
      }),
    );
    expect(tls.ca.instance).to.equal("default");
    expect(tls.sanMatches("URI:spiffe://anything")).to.equal(true);
  });

  it("TlsOnly: without an identity certificate, the client verifies the server without presenting one", () => {
    const tls = tlsOf(cluster({ commonTlsContext: { validationContextType: { case: "validationContext", value: { caCertificateProviderInstance: { instanceName: "default" } } } } }));
    expect(tls.identity).to.equal(undefined);
  });

  it("SanMatchers: prefix, regex and typed matchers; an exact matcher accepts a DNS wildcard SAN, as gRPC does", () => {
    const tls = tlsOf(
      cluster({
        commonTlsContext: {
          validationContextType: {
            case: "validationContext",
            value: {
              caCertificateProviderInstance: { instanceName: "default" },
              matchSubjectAltNames: [
                { matchPattern: { case: "exact", value: "api.example.com" } },
                { matchPattern: { case: "prefix", value: "spiffe://cluster.local/ns/prod/" } },
                { matchPattern: { case: "safeRegex", value: { regex: "spiffe://cluster\\.local/ns/[a-z]+/sa/db" } } },
              ],
              matchTypedSubjectAltNames: [{ sanType: SubjectAltNameMatcher_SanType.DNS, matcher: { matchPattern: { case: "suffix", value: ".internal" } } }],
            },
          },
        },
      }),
    );
    expect(tls.sanMatches("DNS:*.example.com")).to.equal(true);
    expect(tls.sanMatches("DNS:*.other.com")).to.equal(false);
    expect(tls.sanMatches("URI:spiffe://cluster.local/ns/prod/sa/x")).to.equal(true);
    expect(tls.sanMatches("URI:spiffe://cluster.local/ns/dev/sa/db")).to.equal(true);
    expect(tls.sanMatches("DNS:db.internal")).to.equal(true);
    expect(tls.sanMatches("URI:db.internal")).to.equal(false);
    expect(tls.subjectAltNames).to.deep.equal([
      'exact "api.example.com"',
      'prefix "spiffe://cluster.local/ns/prod/"',
      'safe_regex "spiffe://cluster\\\\.local/ns/[a-z]+/sa/db"',
      'DNS suffix ".internal"',
    ]);
  });

  it("RawBuffer: a raw_buffer transport socket is plaintext", () => {
    const raw = withSocket({ name: "envoy.transport_sockets.raw_buffer" });
    expect(validateCluster(raw, NAME).tls).to.equal(undefined);
  });

  it("Nack: rejects what a client cannot honour, naming the field", () => {
    const base = "transport_socket.typed_config.common_tls_context";
    const common = istioMutual([GREETER]).commonTlsContext as Record<string, unknown>;
    const cases: [Cluster, string, ReadonlySet<string>][] = [
      [cluster(istioMutual([GREETER])), `${base}.tls_certificate_provider_instance.instance_name: certificate provider instance "default" is not in the bootstrap's certificate_providers (defined: none)`, new Set()],
      [cluster(istioMutual([GREETER])), `${base}.tls_certificate_provider_instance.instance_name: certificate provider instance "default" is not in the bootstrap's certificate_providers (defined: "other")`, new Set(["other"])],
      [cluster({}), `${base}: is required`, PROVIDERS],
      [cluster({ commonTlsContext: { ...common, tlsParams: {} } }), `${base}.tls_params: is not supported by a gRPC client`, PROVIDERS],
      [cluster({ commonTlsContext: { tlsCertificates: [{}] } }), `${base}.tls_certificates: inline certificates are not supported; use tls_certificate_provider_instance`, PROVIDERS],
      [cluster({ commonTlsContext: { tlsCertificateProviderInstance: { instanceName: "default" } } }), `${base}: a validation context is required: a client must verify the server`, PROVIDERS],
      [
        cluster({ commonTlsContext: { validationContextType: { case: "validationContextSdsSecretConfig", value: { name: "ROOTCA" } } } }),
        `${base}.validation_context_sds_secret_config: SDS is not supported; use a CA certificate provider instance`,
        PROVIDERS,
      ],
      [
        cluster({ commonTlsContext: { validationContextType: { case: "validationContext", value: { caCertificateProviderInstance: { instanceName: "default" }, verifyCertificateSpki: ["x"] } } } }),
        `${base}.validation_context.verify_certificate_spki: is not supported by a gRPC client`,
        PROVIDERS,
      ],
      [
        cluster({ commonTlsContext: { validationContextType: { case: "validationContext", value: { matchSubjectAltNames: [] } } } }),
        `${base}: a CA certificate provider instance is required to verify the server (validation_context.ca_certificate_provider_instance)`,
        PROVIDERS,
      ],
      [
        cluster({ commonTlsContext: { validationContextType: { case: "validationContext", value: { caCertificateProviderInstance: { instanceName: "default" }, matchSubjectAltNames: [{ matchPattern: { case: "prefix", value: "" } }] } } } }),
        `${base}.validation_context.match_subject_alt_names[0].prefix: must not be empty`,
        PROVIDERS,
      ],
    ];
    for (const [message, expected, providers] of cases) expect(reason(message, providers)).to.equal(`cluster "${NAME}": ${expected}`);
    const other = withSocket({ name: "alts", configType: { case: "typedConfig", value: anyPack(ClusterSchema, create(ClusterSchema)) } });
    expect(reason(other)).to.equal(`cluster "${NAME}": transport_socket.typed_config: unsupported transport socket envoy.config.cluster.v3.Cluster`);
    const untyped = withSocket({ name: "envoy.transport_sockets.tls" });
    expect(reason(untyped)).to.equal(`cluster "${NAME}": transport_socket.typed_config: is required (transport socket "envoy.transport_sockets.tls")`);
  });
});
