import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TransportSocketSchema } from "../../../gen/envoy/config/core/v3/base_pb.js";
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema, type CommonTlsContextSchema } from "../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import type { MeshService } from "./mesh-catalog.js";
import { packMessage } from "./message-encoding.js";

/**
 * The CommonTlsContext of istiod's grpc generator (`buildCommonTLSContext`): identity and CA from the bootstrap's
 * certificate provider instance `default` (certificates `default` and `ROOTCA`), in the current fields and the older
 * ones for older clients, and an exact SAN matcher per entry of `sans`.
 */
function istioCommonTlsContext(sans: readonly string[]): MessageInitShape<typeof CommonTlsContextSchema> {
  const identity = { instanceName: "default", certificateName: "default" };
  const root = { instanceName: "default", certificateName: "ROOTCA" };
  return {
    tlsCertificateProviderInstance: identity,
    tlsCertificateCertificateProviderInstance: identity,
    validationContextType: {
      case: "combinedValidationContext",
      value: {
        defaultValidationContext: {
          caCertificateProviderInstance: root,
          matchSubjectAltNames: sans.map((san) => ({ matchPattern: { case: "exact" as const, value: san } })),
        },
        validationContextCertificateProviderInstance: root,
      },
    },
  };
}

/**
 * The transport socket istiod's grpc generator gives a cluster whose DestinationRule says `tls.mode: ISTIO_MUTUAL`
 * (`buildUpstreamTLSContext`): `envoy.transport_sockets.tls` with an UpstreamTlsContext from `default` (see
 * `istioCommonTlsContext`) and an exact SAN matcher per service account.
 */
export function istioMutualTransportSocket(sans: readonly string[]): MessageInitShape<typeof TransportSocketSchema> {
  const context: MessageInitShape<typeof UpstreamTlsContextSchema> = { commonTlsContext: istioCommonTlsContext(sans) };
  return { name: "envoy.transport_sockets.tls", configType: { case: "typedConfig", value: packMessage(UpstreamTlsContextSchema, context) } };
}

/**
 * The transport socket of an mTLS inbound filter chain, as istiod's grpc generator builds it for PeerAuthentication
 * STRICT (`buildInboundFilterChains`): a DownstreamTlsContext from `default` that requires a client certificate.
 */
export const istioMutualDownstreamSocket: MessageInitShape<typeof TransportSocketSchema> = {
  name: "envoy.transport_sockets.tls",
  configType: {
    case: "typedConfig",
    value: packMessage(DownstreamTlsContextSchema, { commonTlsContext: istioCommonTlsContext([]), requireClientCertificate: true }),
  },
};

/**
 * The SANs a service's workloads may present, as istiod collects them (`push.ServiceAccounts`): the ServiceEntry's
 * `subjectAltNames`, then the SPIFFE identity `spiffe://cluster.local/ns/<namespace>/sa/<serviceAccount>` of each
 * endpoint that names a service account; sorted, without repeats.
 */
export function serviceAccountSans(service: MeshService): string[] {
  const sans = new Set(service.entry.subjectAltNames);
  for (const endpoint of service.entry.endpoints) {
    if (endpoint.serviceAccount !== undefined) sans.add(`spiffe://cluster.local/ns/${service.namespace}/sa/${endpoint.serviceAccount}`);
  }
  return [...sans].sort();
}
