// The security of a server's filter chain (gRFC A29, server side): the chain's `transport_socket`, an Envoy
// DownstreamTlsContext whose certificates come from bootstrap certificate provider instances, as Istio's grpc generator
// writes it for PeerAuthentication STRICT. It is read tolerantly, since sidecar listeners carry SDS contexts a proxyless
// server cannot use: what a server cannot honour (SDS or inline certificates, SNI requirement, OCSP stapling, SPKI or
// hash pinning, CRLs, custom validators, TLS parameters) makes the chain `unsupported`, with the field named, and a
// server that would serve it refuses to (see integrations/grpc/xds-server-credentials.ts) rather than serve less.

import type { TransportSocket } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { CertificateValidationContext } from "../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import type { CommonTlsContext } from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { fromBinary } from "@bufbuild/protobuf";
import { identityRef, RAW_BUFFER, RAW_BUFFER_SOCKET, type CertificateProviderRef } from "./cluster-tls.js";
import { downstreamTlsContext } from "./extension-schemas.js";
import { anyTypeName } from "./field-types.js";

/** How a filter chain secures its connections: mutual or server-only TLS, or a context a server cannot honour. */
export type DownstreamTls =
  | {
      readonly kind: "tls";
      /** The server's own certificate and key. */
      readonly identity: CertificateProviderRef;
      /** The CA that client certificates must chain to; undefined: client certificates are not asked for. */
      readonly ca: CertificateProviderRef | undefined;
      /** `require_client_certificate`: a client without a certificate (from `ca`) is refused. */
      readonly requireClientCertificate: boolean;
    }
  | {
      readonly kind: "unsupported";
      /** What a server cannot honour, naming the field. */
      readonly reason: string;
    };

const TLS_CONTEXT = downstreamTlsContext.typeName;
/** DownstreamTlsContext.OcspStaplePolicy.LENIENT_STAPLING, the default. */
const LENIENT_STAPLING = 0;

/** The TLS of a filter chain's `transport_socket` at `path`; undefined for none or raw_buffer (plaintext). */
export function readDownstreamTls(socket: TransportSocket | undefined, path: string): DownstreamTls | undefined {
  if (socket === undefined) return undefined;
  const at = `${path}.transport_socket.typed_config`;
  if (socket.configType.case !== "typedConfig") {
    return socket.name === RAW_BUFFER_SOCKET ? undefined : unsupported(at, `is required (transport socket ${JSON.stringify(socket.name)})`);
  }
  const any = socket.configType.value;
  const type = anyTypeName(any);
  if (type === RAW_BUFFER) return undefined;
  if (type !== TLS_CONTEXT) return unsupported(at, `unsupported transport socket ${type || "(no type)"}`);
  let context;
  try {
    context = fromBinary(downstreamTlsContext.schema(), any.value);
  } catch (reason) {
    return unsupported(at, `is not a valid ${TLS_CONTEXT}: ${reason instanceof Error ? reason.message : String(reason)}`);
  }
  if (context.requireSni === true) return unsupported(`${at}.require_sni`, "is not supported by a gRPC server");
  if (context.ocspStaplePolicy !== LENIENT_STAPLING) return unsupported(`${at}.ocsp_staple_policy`, "only LENIENT_STAPLING is supported");
  const common = context.commonTlsContext;
  if (common === undefined) return unsupported(`${at}.common_tls_context`, "is required");
  const commonPath = `${at}.common_tls_context`;
  const problem = commonProblem(common, commonPath);
  if (problem !== undefined) return { kind: "unsupported", reason: problem };
  const identity = identityRef(common);
  if (identity === undefined) return unsupported(`${commonPath}.tls_certificate_provider_instance`, "is required: a server needs its certificate from a certificate provider instance");
  const validation = caOf(common, commonPath);
  if (typeof validation === "string") return { kind: "unsupported", reason: validation };
  const requireClientCertificate = context.requireClientCertificate === true;
  if (requireClientCertificate && validation === undefined) {
    return unsupported(`${at}.require_client_certificate`, "is set without a CA certificate provider instance to verify clients with");
  }
  return Object.freeze({ kind: "tls", identity, ca: validation, requireClientCertificate });
}

function unsupported(path: string, what: string): DownstreamTls {
  return Object.freeze({ kind: "unsupported", reason: `${path}: ${what}` });
}

/** What a server cannot honour in a CommonTlsContext, described; undefined when nothing. */
function commonProblem(common: CommonTlsContext, path: string): string | undefined {
  if (common.tlsParams !== undefined) return `${path}.tls_params: is not supported by a gRPC server`;
  if (common.customHandshaker !== undefined) return `${path}.custom_handshaker: is not supported by a gRPC server`;
  if (identityRef(common) === undefined && common.tlsCertificateSdsSecretConfigs.length > 0) {
    return `${path}.tls_certificate_sds_secret_configs: SDS is not supported; use tls_certificate_provider_instance`;
  }
  if (identityRef(common) === undefined && common.tlsCertificates.length > 0) return `${path}.tls_certificates: inline certificates are not supported; use tls_certificate_provider_instance`;
  return undefined;
}

/** The CA instance that verifies clients, wherever the oneof puts it; a string describing what cannot be honoured. */
function caOf(common: CommonTlsContext, path: string): CertificateProviderRef | undefined | string {
  const choice = common.validationContextType;
  switch (choice.case) {
    case undefined:
      return undefined;
    case "validationContext":
      return fromContext(choice.value, `${path}.validation_context`);
    case "combinedValidationContext": {
      const field = `${path}.combined_validation_context`;
      if (choice.value.validationContextSdsSecretConfig !== undefined) return `${field}.validation_context_sds_secret_config: SDS is not supported`;
      const context = choice.value.defaultValidationContext;
      const current = context === undefined ? undefined : fromContext(context, `${field}.default_validation_context`);
      if (current !== undefined) return current;
      const older = choice.value.validationContextCertificateProviderInstance;
      return older === undefined ? undefined : { instance: older.instanceName, certificateName: older.certificateName };
    }
    case "validationContextCertificateProviderInstance":
      return { instance: choice.value.instanceName, certificateName: choice.value.certificateName };
    default:
      return `${path}.${choice.case}: is not supported; use a CA certificate provider instance`;
  }
}

function fromContext(context: CertificateValidationContext, at: string): CertificateProviderRef | undefined | string {
  if (context.verifyCertificateSpki.length > 0) return `${at}.verify_certificate_spki: is not supported by a gRPC server`;
  if (context.verifyCertificateHash.length > 0) return `${at}.verify_certificate_hash: is not supported by a gRPC server`;
  if (context.requireSignedCertificateTimestamp === true) return `${at}.require_signed_certificate_timestamp: is not supported by a gRPC server`;
  if (context.crl !== undefined) return `${at}.crl: is not supported by a gRPC server`;
  if (context.customValidatorConfig !== undefined) return `${at}.custom_validator_config: is not supported by a gRPC server`;
  const instance = context.caCertificateProviderInstance;
  return instance === undefined ? undefined : { instance: instance.instanceName, certificateName: instance.certificateName };
}
