/**
 * How rxds authenticates: to the xDS server (gRFC A65 `tls` channel credentials, A97 `jwt_token_file` call
 * credentials) and to workloads (A29 `file_watcher` certificate providers). The shapes are the bootstrap's,
 * typed; `readCertificateFiles` and `readJwtTokenFile` validate the JSON and name the field of anything wrong.
 */
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

/** Certificate files re-read every `refreshIntervalMs`, as gRPC's file-watcher certificate provider reads them. */
export interface CertificateFilesConfig {
  /** The identity certificate chain (PEM); with `privateKeyFile`. */
  readonly certificateFile?: string;
  /** The identity's private key (PEM); with `certificateFile`. */
  readonly privateKeyFile?: string;
  /** The CA certificates that verify the peer (PEM). */
  readonly caCertificateFile?: string;
  /** How often the files are read again, in ms. Default 600000 (10 minutes), as gRPC's. */
  readonly refreshIntervalMs?: number;
}

/** TLS to an xDS server (gRFC A65): mutual when `certificateFile` is set; the server is verified against `caCertificateFile`, else the system's CAs. */
export interface TlsCredentialsConfig extends CertificateFilesConfig {
  readonly type: "tls";
  /**
   * The name the server's certificate must have (and the SNI), when it is not the host of the server's address, e.g.
   * `istiod.istio-system.svc` for istiod reached by IP. An rxds extension (`server_name` in the bootstrap's tls config).
   */
  readonly serverName?: string;
}

/** How the channel to an xDS server is secured: plaintext, or TLS. */
export type ChannelCredentialsConfig = { readonly type: "insecure" } | TlsCredentialsConfig;

/** A bearer token read from a file and sent with every ADS stream (gRFC A97), re-read before it expires. */
export interface JwtTokenFileConfig {
  readonly type: "jwt_token_file";
  /** The file holding the JWT, e.g. Istio's `/var/run/secrets/tokens/istio-token`. */
  readonly jwtTokenFile: string;
  /** Sent as Istio's `clusterid` header beside the token, when set (istiod checks the token against that cluster). */
  readonly clusterId?: string;
}

/** Call credentials of an xDS server. */
export type CallCredentialsConfig = JwtTokenFileConfig;

/** The `channel_creds` types rxds can connect with. */
export const SUPPORTED_CHANNEL_CREDS: readonly string[] = Object.freeze(["insecure", "tls"]);

/** gRPC's default refresh interval of file-watcher certificates: 10 minutes. */
export const DEFAULT_REFRESH_INTERVAL_MS = 600_000;

/** Reports a wrong field: the path below the config and what is wrong; never returns. */
export type ConfigFailure = (path: string, message: string) => never;

/**
 * Reads a file-watcher config (`certificate_file`, `private_key_file`, `ca_certificate_file`, `refresh_interval`).
 * `requireOne`: at least one of the certificate or the CA must be named (a certificate provider); A65's `tls` needs neither.
 */
export function readCertificateFiles(config: JsonObject, fail: ConfigFailure, requireOne: boolean): CertificateFilesConfig {
  const certificateFile = optionalPath(config, "certificate_file", fail);
  const privateKeyFile = optionalPath(config, "private_key_file", fail);
  const caCertificateFile = optionalPath(config, "ca_certificate_file", fail);
  if ((certificateFile === undefined) !== (privateKeyFile === undefined)) {
    fail(certificateFile === undefined ? "certificate_file" : "private_key_file", "certificate_file and private_key_file must be set together");
  }
  if (requireOne && certificateFile === undefined && caCertificateFile === undefined) {
    fail("", "expected certificate_file and private_key_file, or ca_certificate_file, or both");
  }
  const interval = Object.hasOwn(config, "refresh_interval") ? config["refresh_interval"] : undefined;
  const refreshIntervalMs = interval === undefined ? DEFAULT_REFRESH_INTERVAL_MS : durationMs(interval, fail);
  return {
    ...(certificateFile === undefined ? {} : { certificateFile }),
    ...(privateKeyFile === undefined ? {} : { privateKeyFile }),
    ...(caCertificateFile === undefined ? {} : { caCertificateFile }),
    refreshIntervalMs,
  };
}

/** Reads the config of a `jwt_token_file` call credential (gRFC A97): `jwt_token_file`, required. */
export function readJwtTokenFile(config: JsonObject | undefined, fail: ConfigFailure): JwtTokenFileConfig {
  if (config === undefined) return fail("config", 'is required: expected {"jwt_token_file": <path>}');
  const jwtTokenFile = optionalPath(config, "jwt_token_file", fail);
  if (jwtTokenFile === undefined) return fail("config.jwt_token_file", "is required: expected the path of the token file");
  return { type: "jwt_token_file", jwtTokenFile };
}

function optionalPath(config: JsonObject, key: string, fail: ConfigFailure): string | undefined {
  const value = Object.hasOwn(config, key) ? config[key] : undefined;
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") fail(key, `expected a file path, got ${JSON.stringify(value)}`);
  return value;
}

/** A protobuf JSON Duration (`"900s"`, `"0.5s"`) in ms; must be positive. */
function durationMs(value: JsonValue, fail: ConfigFailure): number {
  const match = typeof value === "string" ? /^(\d+)(\.\d{1,9})?s$/.exec(value) : null;
  const ms = match === null ? NaN : Number(match[1]) * 1000 + Number(match[2] ?? 0) * 1000;
  if (!(ms > 0)) fail("refresh_interval", `expected a positive duration such as "600s", got ${JSON.stringify(value)}`);
  return ms;
}
