// The transport security of an rxds-wrapped grpc-js server (gRFC A29's server half): what the inbound listener's
// filter chains for the server's port ask for. A chain with a DownstreamTlsContext (Istio's PeerAuthentication STRICT)
// gives TLS with the certificates of the bootstrap's certificate provider instances it names, asking for and checking
// client certificates against the provider's CA when it requires them; the certificate files are re-read every
// refresh interval while the server runs, and new connections use the new ones. A plaintext chain (DISABLE), no
// listener, or no chain for the port gives the fallback credentials.
//
// grpc-js fixes a port's transport when it binds it: one server cannot take TLS and plaintext connections on one port.
// So a port with both kinds of chain (a sidecar's PERMISSIVE port) is served with the fallback (plaintext, as istiod's
// gRPC generator serves PERMISSIVE), and a warning says the mTLS chain is not served; a change of the listener's mode
// after binding is logged at warn and takes effect when the server binds again (the certificates still rotate).

import { experimental, type ServerCredentials } from "@grpc/grpc-js";
import type { Observable, Subscription } from "rxjs";
import { firstValueFrom, skip } from "../../rx.js";
import { defaultLogger, type Logger } from "../../logger.js";
import type { CertificateProviderRef } from "../../resources/cluster-tls.js";
import type { DownstreamTls } from "../../resources/listener-tls.js";
import type { InboundAddress, InboundSnapshot } from "../../routing/inbound-listener.js";
import type { XdsClient } from "../../xds-client.js";
import { XdsError } from "../../xds-error.js";
import { FilesCertificateProvider } from "./files-certificate-provider.js";

/** Where the server listens, and what it serves where its inbound listener asks for no TLS. */
export interface XdsServerCredentialsOptions extends InboundAddress {
  /** The credentials of a port whose inbound listener asks for plaintext, or that has none (e.g. `ServerCredentials.createInsecure()`). */
  readonly fallback: ServerCredentials;
  /** Where warnings go; default: stderr at RXDS_LOG's level. */
  readonly logger?: Logger;
}

/** How a port is served: TLS as a chain asks, or the fallback. */
export type InboundTransport = { readonly kind: "tls"; readonly tls: Extract<DownstreamTls, { kind: "tls" }> } | { readonly kind: "fallback" };

/** Server credentials taken from the inbound listener, and the way to stop following it. */
export interface XdsServerCredentials {
  /** For `server.bindAsync(address, credentials, …)`. */
  readonly credentials: ServerCredentials;
  /** What the listener asked for when the credentials were made. */
  readonly transport: InboundTransport;
  /** The server's inbound listener, as it changes. */
  readonly inbound$: Observable<InboundSnapshot>;
  /** Stops watching the listener for changes of mode (the credentials keep working). */
  close(): void;
}

/**
 * The credentials of a grpc-js server on `options.port` (`options.host`, default `0.0.0.0`), once its inbound listener
 * is known: TLS (mutual when the chain requires client certificates) from the bootstrap's certificate providers when
 * the listener's chains for the port all ask for it, else `options.fallback`. Rejects with the listener's resource error,
 * or INVALID_CONFIG naming the field when a TLS chain asks for what rxds cannot serve (the server must not serve less).
 */
export async function createXdsServerCredentials(xds: XdsClient, options: XdsServerCredentialsOptions): Promise<XdsServerCredentials> {
  if (typeof options !== "object" || options === null || typeof options.fallback !== "object" || options.fallback === null) {
    throw new XdsError("INVALID_ARGUMENT", "xDS server credentials options: expected { port, host?, fallback: ServerCredentials }");
  }
  const log = options.logger ?? defaultLogger();
  const inbound$ = xds.inbound(options);
  const snapshot = await firstValueFrom(inbound$);
  if (snapshot.error !== undefined) throw snapshot.error;
  const transport = inboundTransport(snapshot, log);
  const credentials = transport.kind === "tls" ? tlsCredentials(xds, transport.tls, snapshot.listenerName) : options.fallback;
  const shown = describe(transport);
  const subscription: Subscription = inbound$.pipe(skip(1)).subscribe((next) => {
    if (next.error !== undefined) return;
    let now: string;
    try {
      now = describe(inboundTransport(next, log));
    } catch (error) {
      // A chain the server could not serve (INVALID_CONFIG): said, never thrown out of the subscription.
      now = `TLS it cannot serve (${(error as Error).message})`;
    }
    if (now !== shown) log.warn(`inbound listener ${JSON.stringify(next.listenerName)} for port ${options.port} now asks for ${now}; the server keeps serving ${shown} until it binds again`);
  });
  return { credentials, transport, inbound$, close: () => subscription.unsubscribe() };
}

function describe(transport: InboundTransport): string {
  if (transport.kind === "fallback") return "plaintext (the fallback credentials)";
  return transport.tls.requireClientCertificate ? "mutual TLS" : "TLS";
}

/** What serving the port takes from the snapshot's chains; warns about what is not served. */
export function inboundTransport(snapshot: InboundSnapshot, log: Logger): InboundTransport {
  const name = JSON.stringify(snapshot.listenerName);
  if (snapshot.listener === undefined) {
    log.warn(`inbound listener ${name} does not exist: the server uses its fallback credentials`);
    return { kind: "fallback" };
  }
  const secured = snapshot.chains.filter((chain) => chain.tls !== undefined);
  if (secured.length === 0) return { kind: "fallback" };
  if (secured.length < snapshot.chains.length) {
    log.warn(`inbound listener ${name} has TLS and plaintext filter chains for the port (PERMISSIVE): a grpc-js server serves one transport per port, so it serves plaintext and the TLS chain ${JSON.stringify(secured[0]!.filterChainName)} is not served`);
    return { kind: "fallback" };
  }
  const tls = secured[0]!.tls!;
  if (tls.kind === "unsupported") {
    throw new XdsError("INVALID_CONFIG", `inbound listener ${name}, filter chain ${JSON.stringify(secured[0]!.filterChainName)}: ${tls.reason}`);
  }
  return { kind: "tls", tls };
}

function tlsCredentials(xds: XdsClient, tls: Extract<DownstreamTls, { kind: "tls" }>, listener: string): ServerCredentials {
  const providers = new Map<string, FilesCertificateProvider>();
  const provider = (ref: CertificateProviderRef) => {
    let found = providers.get(ref.instance);
    if (found === undefined) {
      try {
        found = new FilesCertificateProvider(xds.certificates(ref.instance));
      } catch (reason) {
        throw new XdsError("INVALID_CONFIG", `inbound listener ${JSON.stringify(listener)} names certificate provider instance ${JSON.stringify(ref.instance)}, which the bootstrap does not define`, { cause: reason });
      }
      providers.set(ref.instance, found);
    }
    return found;
  };
  const identity = provider(tls.identity);
  const ca = tls.ca === undefined ? null : provider(tls.ca);
  checkReadable(xds, tls, listener);
  if (typeof experimental.createCertificateProviderServerCredentials !== "function") {
    throw new XdsError("INVALID_CONFIG", `inbound listener ${JSON.stringify(listener)} asks for TLS, which needs @grpc/grpc-js 1.14 or later (experimental.createCertificateProviderServerCredentials)`);
  }
  // grpc-js names this function's parameters the other way round; it takes the identity first, then the CA.
  return experimental.createCertificateProviderServerCredentials(identity, ca, tls.requireClientCertificate);
}

/** Fails now, naming the file, when the provider's files cannot be read (a server would drop every connection). */
function checkReadable(xds: XdsClient, tls: Extract<DownstreamTls, { kind: "tls" }>, listener: string): void {
  const identity = xds.certificates(tls.identity.instance).current();
  if (identity.certificate === undefined || identity.privateKey === undefined) {
    throw new XdsError("INVALID_CONFIG", `inbound listener ${JSON.stringify(listener)} takes the server's certificate from certificate provider ${JSON.stringify(tls.identity.instance)}, which has no certificate_file and private_key_file`);
  }
  if (tls.ca !== undefined && xds.certificates(tls.ca.instance).current().ca === undefined) {
    throw new XdsError("INVALID_CONFIG", `inbound listener ${JSON.stringify(listener)} verifies clients with certificate provider ${JSON.stringify(tls.ca.instance)}, which has no ca_certificate_file`);
  }
}
