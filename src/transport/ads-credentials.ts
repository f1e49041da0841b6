// The grpc-js credentials of the channel to one xDS server, from its bootstrap entry: plaintext, or TLS from
// certificate files (gRFC A65) with, over TLS only, a JWT bearer token read from a file (gRFC A97) and Istio's
// `clusterid` header. The files are read again when their refresh interval has passed; new contents make new
// credentials (a new `key`), which the transport uses for its next connection.

import { credentials, Metadata, status, type CallCredentials, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import type { CallCredentialsConfig, ChannelCredentialsConfig } from "../bootstrap/credentials-config.js";
import { CertificateFiles } from "./certificate-files.js";
import { JwtTokenFile } from "./jwt-token-file.js";

/** Credentials for a connection opened now, and a key that changes whenever they do. */
export interface CurrentCredentials {
  readonly key: string;
  readonly credentials: ChannelCredentials;
  /** Channel options the credentials need (the name the server's certificate must have). */
  readonly options: ChannelOptions;
}

/** The credentials of the channel to one xDS server. */
export class AdsCredentials {
  private readonly files: CertificateFiles | undefined;
  private readonly callCredentials: CallCredentials | undefined;
  private made: { readonly version: number; readonly current: CurrentCredentials } | undefined;

  constructor(
    private readonly channelCreds: ChannelCredentialsConfig,
    callCreds: readonly CallCredentialsConfig[],
    uri: string,
  ) {
    this.files = channelCreds.type === "tls" ? new CertificateFiles(channelCreds, `the tls channel_creds of xDS server ${uri}`) : undefined;
    this.callCredentials = callCreds.length === 0 ? undefined : combined(callCreds.map(jwtCallCredentials));
  }

  /** The credentials to connect with now; throws an XdsError (INVALID_CONFIG) naming the file when the certificate files cannot be read. */
  current(): CurrentCredentials {
    if (this.files === undefined) {
      this.made ??= { version: 0, current: { key: "insecure", credentials: credentials.createInsecure(), options: {} } };
      return this.made.current;
    }
    const material = this.files.current();
    if (this.made?.version !== material.version) {
      const tls = credentials.createSsl(material.ca ?? null, material.privateKey ?? null, material.certificate ?? null);
      const serverName = this.channelCreds.type === "tls" ? this.channelCreds.serverName : undefined;
      this.made = {
        version: material.version,
        current: {
          key: `tls#${material.version}`,
          credentials: this.callCredentials === undefined ? tls : tls.compose(this.callCredentials),
          options: serverName === undefined ? {} : { "grpc.ssl_target_name_override": serverName },
        },
      };
    }
    return this.made.current;
  }

  /** The CA file the server is verified against, for error messages; undefined for plaintext or the system's CAs. */
  get caFile(): string | undefined {
    return this.channelCreds.type === "tls" ? this.channelCreds.caCertificateFile : undefined;
  }
}

/** `authorization: Bearer <token>` (and `clusterid`) on every call, from the token file; a failure fails the call (A97's codes). */
function jwtCallCredentials(config: CallCredentialsConfig): CallCredentials {
  const file = new JwtTokenFile(config.jwtTokenFile);
  return credentials.createFromMetadataGenerator((_options, callback) => {
    void file.token().then((result) => {
      if ("error" in result) {
        callback(Object.assign(new Error(result.error), { code: result.unauthenticated ? status.UNAUTHENTICATED : status.UNAVAILABLE }));
        return;
      }
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${result.token}`);
      if (config.clusterId !== undefined) metadata.set("clusterid", config.clusterId);
      callback(null, metadata);
    });
  });
}

function combined(list: readonly CallCredentials[]): CallCredentials {
  return list.slice(1).reduce((all, next) => all.compose(next), list[0]!);
}

/**
 * A stream error with what a TLS verification failure means spelled out: Node's "unable to verify the first
 * certificate" says nothing of the CA it was checked against.
 */
export function explainStreamError(error: Error, caFile: string | undefined): Error {
  const unverified = /unable to verify the first certificate|self[- ]signed certificate|unable to get (local )?issuer certificate/.test(error.message);
  if (!unverified) return error;
  const against = caFile === undefined ? "the system's CA certificates" : `the CA certificates of ${caFile}`;
  return Object.assign(new Error(`${error.message.replace(/\. Resolution note: $/, "")} (the server's certificate is not signed by ${against})`, { cause: error }), {
    code: (error as { code?: unknown }).code,
  });
}
