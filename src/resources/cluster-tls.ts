// A cluster's `transport_socket` as a gRPC client honours it (gRFC A29): an UpstreamTlsContext whose certificates
// come from certificate provider instances of the bootstrap (`file_watcher`), by name:
// - the client's own certificate: `tls_certificate_provider_instance`, or the older
//   `tls_certificate_certificate_provider_instance` (optional: without it, plain TLS);
// - the CA that verifies the server: `validation_context.ca_certificate_provider_instance` (also inside
//   `combined_validation_context.default_validation_context`), or the older
//   `validation_context_certificate_provider_instance` (required);
// - `match_subject_alt_names` (and `match_typed_subject_alt_names`): the server's certificate must have a SAN that
//   one of them matches; an exact matcher accepts a DNS wildcard SAN (`*.example.com`), as gRPC does.
// Istio's grpc generator sends both the current and the older fields. What a client cannot honour is NACKed, naming
// the field: inline or SDS certificates, SDS validation contexts, SPKI or hash pinning, CRLs, SCTs, custom
// validators and handshakers, TLS parameters, and an instance name the bootstrap does not define. A `raw_buffer`
// transport socket is plaintext.

import { isIPv6 } from "node:net";
import type { TransportSocket } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { CertificateValidationContext, SubjectAltNameMatcher_SanType } from "../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import type { CommonTlsContext } from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import type { StringMatcher } from "../../gen/envoy/type/matcher/v3/string_pb.js";
import { XdsError } from "../xds-error.js";
import type { Reject } from "./field-error.js";
import { anyTypeName, unpackAny } from "./field-types.js";
import { upstreamTlsContext } from "./extension-schemas.js";
import { compileStringMatcher, type StringPredicate } from "./match/string-matcher.js";

/** A certificate of a bootstrap certificate provider instance. */
export interface CertificateProviderRef {
  /** The instance's name in the bootstrap's `certificate_providers`, e.g. Istio's "default". */
  readonly instance: string;
  /** Which certificate of the instance (Istio: "default" for the identity, "ROOTCA" for the CA); file_watcher has one of each. */
  readonly certificateName: string;
}

/** A validated UpstreamTlsContext: how calls to the cluster's endpoints are secured. */
export interface UpstreamTlsModel {
  /** The client's certificate and key (mutual TLS); undefined for TLS without a client certificate. */
  readonly identity: CertificateProviderRef | undefined;
  /** The CA certificates the server's certificate must chain to. */
  readonly ca: CertificateProviderRef;
  /** The SAN matchers, described (`exact "spiffe://cluster.local/ns/default/sa/greeter"`); empty: any SAN. */
  readonly subjectAltNames: readonly string[];
  /** Whether a server certificate's SANs (as Node's `subjectaltname`: `DNS:a, URI:b`) satisfy the matchers. */
  readonly sanMatches: (subjectAltName: string | undefined) => boolean;
  /** The SNI to send, when set. */
  readonly sni: string;
  /** Equal for equal configurations: what a pooled connection's security is keyed by. */
  readonly key: string;
}

const TLS_CONTEXT = upstreamTlsContext.typeName;
/** The plaintext transport socket's config type. */
export const RAW_BUFFER = "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";
/** The plaintext transport socket's name, which also means plaintext without a config. */
export const RAW_BUFFER_SOCKET = "envoy.transport_sockets.raw_buffer";

/** One SAN of a certificate, by Node's type names (`DNS`, `URI`, `IP Address`, `email`). */
interface San {
  readonly type: string;
  readonly value: string;
}

type SanPredicate = (san: San) => boolean;

/**
 * The TLS of a cluster's transport socket; undefined for none or raw_buffer. `providers`: the bootstrap's certificate
 * provider instance names (undefined: none configured). Rejects, naming the field, what a client cannot honour.
 */
export function buildUpstreamTls(
  socket: TransportSocket | undefined,
  providers: ReadonlySet<string> | "any" | undefined,
  cluster: string,
  reject: Reject,
): UpstreamTlsModel | undefined {
  if (socket === undefined) return undefined;
  const typed = socket.configType.case === "typedConfig" ? socket.configType.value : undefined;
  if (typed === undefined) {
    if (socket.name === RAW_BUFFER_SOCKET) return undefined;
    return reject("transport_socket.typed_config", `is required (transport socket ${JSON.stringify(socket.name)})`);
  }
  const type = anyTypeName(typed);
  if (type === RAW_BUFFER) return undefined;
  if (type !== TLS_CONTEXT) return reject("transport_socket.typed_config", `unsupported transport socket ${type || "(no type)"}`);
  const context = unpackAny(typed, upstreamTlsContext.schema(), "transport_socket.typed_config", reject);
  const common = context.commonTlsContext;
  const path = "transport_socket.typed_config.common_tls_context";
  if (common === undefined) return reject(path, "is required");
  checkCommon(common, path, reject);
  const known = (ref: CertificateProviderRef | undefined, field: string): CertificateProviderRef | undefined => {
    if (ref === undefined) return undefined;
    if (providers !== "any" && providers?.has(ref.instance) !== true) {
      const defined = providers === undefined || providers.size === 0 ? "none" : [...providers].map((name) => JSON.stringify(name)).join(", ");
      reject(`${path}.${field}.instance_name`, `certificate provider instance ${JSON.stringify(ref.instance)} is not in the bootstrap's certificate_providers (defined: ${defined})`);
    }
    return ref;
  };
  const identity = known(identityRef(common), common.tlsCertificateProviderInstance ? "tls_certificate_provider_instance" : "tls_certificate_certificate_provider_instance");
  const validation = validationOf(common, path, reject);
  const ca = known(validation.ca, validation.caField);
  if (ca === undefined) return reject(path, "a CA certificate provider instance is required to verify the server (validation_context.ca_certificate_provider_instance)");
  const matchers = sanMatchers(validation.context, `${path}.${validation.contextField}`, cluster);
  const predicates = matchers.map((m) => m.predicate);
  return Object.freeze({
    identity,
    ca,
    subjectAltNames: Object.freeze(matchers.map((m) => m.description)),
    sanMatches: (subjectAltName: string | undefined) => predicates.length === 0 || parseSans(subjectAltName).some((san) => predicates.some((p) => p(san))),
    sni: context.sni,
    key: JSON.stringify([identity, ca, matchers.map((m) => m.description), context.sni]),
  });
}

/** Rejects the CommonTlsContext fields a client cannot honour. */
function checkCommon(common: CommonTlsContext, path: string, reject: Reject): void {
  if (common.tlsParams !== undefined) reject(`${path}.tls_params`, "is not supported by a gRPC client");
  if (common.customHandshaker !== undefined) reject(`${path}.custom_handshaker`, "is not supported by a gRPC client");
  if (identityRef(common) === undefined) {
    if (common.tlsCertificates.length > 0) reject(`${path}.tls_certificates`, "inline certificates are not supported; use tls_certificate_provider_instance");
    if (common.tlsCertificateSdsSecretConfigs.length > 0) {
      reject(`${path}.tls_certificate_sds_secret_configs`, "SDS is not supported; use tls_certificate_provider_instance");
    }
  }
}

/** The identity certificate's instance of a CommonTlsContext: the current field, else the older one. */
export function identityRef(common: CommonTlsContext): CertificateProviderRef | undefined {
  const current = common.tlsCertificateProviderInstance;
  if (current !== undefined) return { instance: current.instanceName, certificateName: current.certificateName };
  const older = common.tlsCertificateCertificateProviderInstance;
  return older === undefined ? undefined : { instance: older.instanceName, certificateName: older.certificateName };
}

/** The validation context and the CA instance, wherever the oneof puts them. */
function validationOf(
  common: CommonTlsContext,
  path: string,
  reject: Reject,
): { context: CertificateValidationContext | undefined; contextField: string; ca: CertificateProviderRef | undefined; caField: string } {
  const choice = common.validationContextType;
  switch (choice.case) {
    case "validationContext":
      return { context: choice.value, contextField: "validation_context", ...caOf(choice.value, "validation_context", path, reject) };
    case "combinedValidationContext": {
      const { defaultValidationContext: context, validationContextCertificateProviderInstance: older } = choice.value;
      const field = "combined_validation_context.default_validation_context";
      if (choice.value.validationContextSdsSecretConfig !== undefined) reject(`${path}.combined_validation_context.validation_context_sds_secret_config`, "SDS is not supported");
      const fromContext = context === undefined ? { ca: undefined, caField: field } : caOf(context, field, path, reject);
      if (fromContext.ca !== undefined || older === undefined) return { context, contextField: field, ...fromContext };
      return {
        context,
        contextField: field,
        ca: { instance: older.instanceName, certificateName: older.certificateName },
        caField: "combined_validation_context.validation_context_certificate_provider_instance",
      };
    }
    case "validationContextCertificateProviderInstance":
      return {
        context: undefined,
        contextField: "validation_context",
        ca: { instance: choice.value.instanceName, certificateName: choice.value.certificateName },
        caField: "validation_context_certificate_provider_instance",
      };
    case "validationContextSdsSecretConfig":
      return reject(`${path}.validation_context_sds_secret_config`, "SDS is not supported; use a CA certificate provider instance");
    case "validationContextCertificateProvider":
      return reject(`${path}.validation_context_certificate_provider`, "is not supported; use a CA certificate provider instance");
    case undefined:
      return reject(path, "a validation context is required: a client must verify the server");
  }
}

/** The CA instance of a CertificateValidationContext, after rejecting what a client cannot honour in it. */
function caOf(context: CertificateValidationContext, field: string, path: string, reject: Reject): { ca: CertificateProviderRef | undefined; caField: string } {
  const at = `${path}.${field}`;
  if (context.verifyCertificateSpki.length > 0) reject(`${at}.verify_certificate_spki`, "is not supported by a gRPC client");
  if (context.verifyCertificateHash.length > 0) reject(`${at}.verify_certificate_hash`, "is not supported by a gRPC client");
  if (context.requireSignedCertificateTimestamp === true) reject(`${at}.require_signed_certificate_timestamp`, "is not supported by a gRPC client");
  if (context.crl !== undefined) reject(`${at}.crl`, "is not supported by a gRPC client");
  if (context.customValidatorConfig !== undefined) reject(`${at}.custom_validator_config`, "is not supported by a gRPC client");
  const instance = context.caCertificateProviderInstance;
  return {
    ca: instance === undefined ? undefined : { instance: instance.instanceName, certificateName: instance.certificateName },
    caField: `${field}.ca_certificate_provider_instance`,
  };
}

/** The SAN matchers of a validation context, each compiled with its description. */
function sanMatchers(context: CertificateValidationContext | undefined, path: string, cluster: string): { description: string; predicate: SanPredicate }[] {
  if (context === undefined) return [];
  const untyped = context.matchSubjectAltNames.map((matcher, i) => sanMatcher(matcher, undefined, `${path}.match_subject_alt_names[${i}]`, cluster));
  const typed = context.matchTypedSubjectAltNames.map((entry, i) =>
    sanMatcher(entry.matcher, SAN_TYPES[entry.sanType], `${path}.match_typed_subject_alt_names[${i}].matcher`, cluster),
  );
  return [...untyped, ...typed];
}

/** Node's names for the SAN types of SubjectAltNameMatcher (OTHER_NAME and unspecified match nothing Node reports). */
const SAN_TYPES: Readonly<Record<number, string>> = {
  1: "email",
  2: "DNS",
  3: "URI",
  4: "IP Address",
  5: "othername",
  0: "(unspecified)",
} satisfies Record<SubjectAltNameMatcher_SanType, string>;

function sanMatcher(matcher: StringMatcher | undefined, sanType: string | undefined, path: string, cluster: string): { description: string; predicate: SanPredicate } {
  let predicate: StringPredicate;
  try {
    predicate = compileStringMatcher(matcher, path);
  } catch (reason: unknown) {
    throw new XdsError("INVALID_RESOURCE", `cluster ${JSON.stringify(cluster)}: ${reason instanceof Error ? reason.message : String(reason)}`);
  }
  const pattern = matcher!.matchPattern;
  const shown = pattern.case === "safeRegex" ? `safe_regex ${JSON.stringify(pattern.value.regex)}` : `${pattern.case} ${JSON.stringify(pattern.value)}`;
  const description = `${sanType === undefined ? "" : `${sanType} `}${shown}${matcher!.ignoreCase ? " (ignoring case)" : ""}`;
  const typeOk = (san: San) => (sanType === undefined ? SUPPORTED_TYPES.has(san.type) : san.type === sanType);
  if (pattern.case === "exact") {
    const exact = pattern.value;
    const lower = exact.toLowerCase();
    return {
      description,
      predicate: (san) => {
        if (!typeOk(san)) return false;
        if (san.type === "DNS" && san.value.startsWith("*.")) return dnsWildcardMatches(san.value, matcher!.ignoreCase ? lower : exact, matcher!.ignoreCase);
        return predicate(canonical(san));
      },
    };
  }
  return { description, predicate: (san) => typeOk(san) && predicate(canonical(san)) };
}

const SUPPORTED_TYPES: ReadonlySet<string> = new Set(["DNS", "URI", "email", "IP Address"]);

/** `*.example.com` matches `a.example.com` (one label), as gRPC's exact SAN matcher does. */
function dnsWildcardMatches(wildcard: string, name: string, ignoreCase: boolean): boolean {
  const suffix = ignoreCase ? wildcard.slice(1).toLowerCase() : wildcard.slice(1);
  const target = ignoreCase ? name.toLowerCase() : name;
  const dot = target.indexOf(".");
  return dot > 0 && target.slice(dot) === suffix;
}

/** IPv6 SANs compared in one form. */
function canonical(san: San): string {
  if (san.type !== "IP Address" || !isIPv6(san.value)) return san.value;
  return new URL(`http://[${san.value}]/`).hostname.slice(1, -1);
}

/** Node's `subjectaltname` text (`DNS:a.b, URI:spiffe://…, IP Address:10.0.0.1`) as SANs. */
export function parseSans(subjectAltName: string | undefined): San[] {
  if (subjectAltName === undefined || subjectAltName === "") return [];
  return subjectAltName.split(", ").flatMap((entry) => {
    const colon = entry.indexOf(":");
    return colon < 0 ? [] : [{ type: entry.slice(0, colon), value: entry.slice(colon + 1) }];
  });
}
