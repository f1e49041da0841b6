// What a connection to an endpoint of a TLS cluster needs (gRFC A29), whichever integration opens it: the current
// contents of the certificate provider files the cluster names, and a server check that applies the cluster's
// match_subject_alt_names (the endpoint is dialled by IP, so the usual host name check does not apply). `key`
// changes when the files do, so that new connections use new certificates while open ones keep theirs.

import type { PeerCertificate } from "node:tls";
import type { UpstreamTlsModel } from "../resources/cluster-tls.js";
import type { XdsClient } from "../xds-client.js";
import { XdsError } from "../xds-error.js";

/** The TLS material and checks of one connection to an endpoint. */
export interface EndpointTls {
  /** Equal for equal configuration and files; a pooled connection is keyed by it. */
  readonly key: string;
  /** Equal for equal configuration, whatever the files' versions: a connection with this `family` and another `key` is stale. */
  readonly family: string;
  readonly ca: Buffer;
  readonly certificate: Buffer | undefined;
  readonly privateKey: Buffer | undefined;
  /** The SNI: the cluster's `sni`, else the service host of an Istio cluster name; undefined for none. */
  readonly servername: string | undefined;
  /** Node's server identity check: the cluster's SAN matchers; an Error naming the SANs on a mismatch. */
  readonly checkServerIdentity: (host: string, certificate: PeerCertificate) => Error | undefined;
}

/** The TLS of a connection to an endpoint of `cluster`; throws an XdsError when the certificate files cannot be read. */
export function endpointTls(xds: XdsClient, cluster: string, tls: UpstreamTlsModel): EndpointTls {
  const ca = xds.certificates(tls.ca.instance).current();
  const identity = tls.identity === undefined ? undefined : xds.certificates(tls.identity.instance).current();
  if (ca.ca === undefined) {
    throw new XdsError("INVALID_CONFIG", `cluster ${JSON.stringify(cluster)} verifies its endpoints with certificate provider ${JSON.stringify(tls.ca.instance)}, which has no ca_certificate_file`);
  }
  if (tls.identity !== undefined && identity?.certificate === undefined) {
    throw new XdsError("INVALID_CONFIG", `cluster ${JSON.stringify(cluster)} takes its client certificate from certificate provider ${JSON.stringify(tls.identity.instance)}, which has no certificate_file`);
  }
  return {
    key: `${tls.key}#${ca.version}/${identity?.version ?? 0}`,
    family: tls.key,
    ca: ca.ca,
    certificate: identity?.certificate,
    privateKey: identity?.privateKey,
    servername: tls.sni !== "" ? tls.sni : istioHost(cluster),
    checkServerIdentity: (_host, certificate) => {
      if (tls.sanMatches(certificate.subjectaltname)) return undefined;
      const sans = certificate.subjectaltname === undefined || certificate.subjectaltname === "" ? "none" : certificate.subjectaltname;
      return new Error(`the endpoint's certificate has SANs ${sans}, none of which matches match_subject_alt_names of cluster ${JSON.stringify(cluster)} (${tls.subjectAltNames.join(", ")})`);
    },
  };
}

/** The host of Istio's cluster names `outbound|<port>|<subset>|<host>`, a usable SNI; undefined for other names. */
function istioHost(cluster: string): string | undefined {
  const parts = cluster.split("|");
  return parts.length === 4 && parts[3] !== "" ? parts[3] : undefined;
}
