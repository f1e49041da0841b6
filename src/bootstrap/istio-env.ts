/**
 * Node identity and server from an Istio pod's environment, as kitex-contrib/xds builds them, without
 * a bootstrap file. Environment variables read:
 *
 * - `POD_NAMESPACE`, `POD_NAME`, `INSTANCE_IP` — required; set them with the downward API
 *   (fieldRef `metadata.namespace`, `metadata.name`, `status.podIP`).
 * - `ISTIO_VERSION` — optional; sent as metadata `ISTIO_VERSION` (istiod warns when it is missing).
 * - `ISTIO_META_*` — optional; each becomes a metadata key without the prefix, as Istio's agent does
 *   (`ISTIO_META_CLUSTER_ID=Kubernetes` → `CLUSTER_ID: "Kubernetes"`).
 * - `RXDS_XDS_SERVER` — optional; the xDS server address. Default: istiod's TLS port
 *   `istiod.istio-system.svc:15012` when Istio's root certificate is mounted (`/var/run/secrets/istio/root-cert.pem`),
 *   else its plaintext port `istiod.istio-system.svc:15010`. An explicit `server` option wins over it.
 * - `RXDS_XDS_ROOT_CERT`, `RXDS_XDS_TOKEN` — optional; the CA file and the JWT token file used on port 15012, by
 *   default Istio's `/var/run/secrets/istio/root-cert.pem` and `/var/run/secrets/tokens/istio-token`.
 *
 * A server on port 15012 is reached with TLS verified against the root certificate and the token as a bearer token
 * (gRFC A65, A97), as istiod requires there; any other port in plaintext.
 */
import { existsSync } from "node:fs";
import { isIP } from "node:net";
import type { JsonObject } from "@bufbuild/protobuf";
import { XdsError } from "../xds-error.js";
import type { Bootstrap } from "./bootstrap.js";

/** The env var that overrides the xDS server address when no gRPC bootstrap is used. */
export const RXDS_XDS_SERVER = "RXDS_XDS_SERVER";

/** The server used when neither an option nor `RXDS_XDS_SERVER` names one and no root certificate is mounted: istiod's plaintext xDS port. */
export const DEFAULT_ISTIOD_SERVER = "istiod.istio-system.svc:15010";

/** The server used when Istio's root certificate is mounted: istiod's TLS xDS port. */
export const DEFAULT_ISTIOD_SECURE_SERVER = "istiod.istio-system.svc:15012";

/** Where Istio mounts its root certificate (the `istio-ca-root-cert` ConfigMap); override with `RXDS_XDS_ROOT_CERT`. */
export const ISTIO_ROOT_CERT = "/var/run/secrets/istio/root-cert.pem";

/** Where Istio mounts the pod's projected token (audience `istio-ca`); override with `RXDS_XDS_TOKEN`. */
export const ISTIO_TOKEN = "/var/run/secrets/tokens/istio-token";

/** The cluster id Istio's injector uses by default, sent as `CLUSTER_ID` unless `ISTIO_META_CLUSTER_ID` says otherwise. */
export const DEFAULT_ISTIO_CLUSTER_ID = "Kubernetes";

/** The prefix of env vars that Istio's agent passes through as node metadata. */
export const ISTIO_META_PREFIX = "ISTIO_META_";

/** The pod variables that must be set, in the order they are reported. */
export const REQUIRED_ISTIO_ENV: readonly string[] = Object.freeze(["POD_NAMESPACE", "POD_NAME", "INSTANCE_IP"]);

/**
 * Which resources istiod generates for this client: "grpc" (metadata `GENERATOR: "grpc"`, gRPC-style
 * listeners named after the target) or "sidecar" (no GENERATOR: Envoy sidecar resources, as kitex uses).
 */
export type XdsMode = "grpc" | "sidecar";

/** What can override the Istio environment. */
export interface IstioEnvOptions {
  /** The xDS server address; wins over `RXDS_XDS_SERVER` and the default. */
  readonly server?: string;
  /** The resource shape to ask istiod for. Default: "grpc", unless `ISTIO_META_GENERATOR` names a generator. */
  readonly mode?: XdsMode;
  /** Whether a file exists (the root certificate); tests pass their own. Default: the file system's answer. */
  readonly fileExists?: (path: string) => boolean;
}

/** The Bootstrap built from the Istio pod environment (its namespace is POD_NAMESPACE). */
export function istioEnvBootstrap(env: NodeJS.ProcessEnv, options: IstioEnvOptions = {}): Bootstrap {
  if (options.server !== undefined && (typeof options.server !== "string" || options.server.trim() === "")) {
    throw new XdsError("INVALID_ARGUMENT", `server: expected a non-empty string, got ${JSON.stringify(options.server)}`);
  }
  if (options.mode !== undefined && options.mode !== "grpc" && options.mode !== "sidecar") {
    throw new XdsError("INVALID_ARGUMENT", `mode: expected "grpc" or "sidecar", got ${JSON.stringify(options.mode)}`);
  }
  const missing = REQUIRED_ISTIO_ENV.filter((name) => value(env, name) === undefined);
  if (missing.length > 0) {
    const hints = missing.map((name) => `${name} (fieldRef ${FIELD_REFS[name]})`).join(", ");
    throw new XdsError(
      "INVALID_CONFIG",
      `Istio pod environment: missing ${missing.join(", ")}; set ${hints} in the pod spec, ` +
        `or point GRPC_XDS_BOOTSTRAP at a gRPC xDS bootstrap file, or outside a pod give init({ server, namespace })`,
    );
  }
  const namespace = value(env, "POD_NAMESPACE") as string;
  const pod = value(env, "POD_NAME") as string;
  const ip = value(env, "INSTANCE_IP") as string;
  if (isIP(ip) === 0) throw new XdsError("INVALID_CONFIG", `Istio pod environment: INSTANCE_IP: expected an IP address, got ${JSON.stringify(ip)}`);

  const rootCert = value(env, "RXDS_XDS_ROOT_CERT") ?? ISTIO_ROOT_CERT;
  const mounted = (options.fileExists ?? existsSync)(rootCert);
  const server = options.server ?? value(env, RXDS_XDS_SERVER) ?? (mounted ? DEFAULT_ISTIOD_SECURE_SERVER : DEFAULT_ISTIOD_SERVER);
  const secure = server.endsWith(":15012");
  return {
    source: "istio-env",
    origin: "Istio pod environment",
    servers: [
      secure
        ? {
            uri: server,
            channelCreds: { type: "tls", caCertificateFile: rootCert },
            callCreds: [{ type: "jwt_token_file", jwtTokenFile: value(env, "RXDS_XDS_TOKEN") ?? ISTIO_TOKEN }],
            serverFeatures: [],
          }
        : { uri: server, channelCreds: { type: "insecure" }, serverFeatures: [] },
    ],
    node: { id: istioNodeId(ip, pod, namespace), cluster: "", metadata: istioMetadata(env, ip, namespace, options.mode) },
    namespace,
  };
}

/** The node id istiod parses: `sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>`. */
export function istioNodeId(ip: string, pod: string, namespace: string, domain = "cluster.local"): string {
  return `sidecar~${ip}~${pod}.${namespace}~${namespace}.svc.${domain}`;
}

/** The namespace in an Istio node id (`<type>~<ip>~<pod>.<namespace>~<domain>`); undefined when it has none. */
export function namespaceFromNodeId(id: string): string | undefined {
  const parts = id.split("~");
  if (parts.length !== 4) return undefined;
  const proxyId = parts[2] as string;
  const dot = proxyId.lastIndexOf(".");
  if (dot > 0 && dot < proxyId.length - 1) return proxyId.slice(dot + 1);
  const domain = parts[3] as string;
  const svc = domain.indexOf(".svc.");
  return svc > 0 ? domain.slice(0, svc) : undefined;
}

/** Sets or removes metadata `GENERATOR` for a mode, in place: "grpc" sets it, "sidecar" removes it. */
export function applyXdsMode(metadata: JsonObject, mode: XdsMode): void {
  if (mode === "grpc") metadata["GENERATOR"] = "grpc";
  else delete metadata["GENERATOR"];
}

const FIELD_REFS: Readonly<Record<string, string>> = {
  POD_NAMESPACE: "metadata.namespace",
  POD_NAME: "metadata.name",
  INSTANCE_IP: "status.podIP",
};

/**
 * Istio agent's order (pkg/bootstrap/config.go GetNodeMetaData): `ISTIO_META_*` first, then the
 * agent's own values (namespace, instance IPs) over them; ISTIO_VERSION only when none was given.
 */
function istioMetadata(env: NodeJS.ProcessEnv, ip: string, namespace: string, mode: XdsMode | undefined): JsonObject {
  const metadata: JsonObject = {};
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith(ISTIO_META_PREFIX) || name.length === ISTIO_META_PREFIX.length) continue;
    metadata[name.slice(ISTIO_META_PREFIX.length)] = raw;
  }
  metadata["NAMESPACE"] = namespace;
  metadata["INSTANCE_IPS"] = withIp(metadata["INSTANCE_IPS"], ip);
  const version = value(env, "ISTIO_VERSION");
  if (version !== undefined && value(metadata, "ISTIO_VERSION") === undefined) metadata["ISTIO_VERSION"] = version;
  if (value(metadata, "CLUSTER_ID") === undefined) metadata["CLUSTER_ID"] = DEFAULT_ISTIO_CLUSTER_ID;
  if (mode !== undefined) applyXdsMode(metadata, mode);
  else if (value(metadata, "GENERATOR") === undefined) metadata["GENERATOR"] = "grpc";
  return metadata;
}

/** The pod IP joined to a comma-separated IP list unless it is already an entry (exact, not substring). */
function withIp(list: unknown, ip: string): string {
  if (typeof list !== "string" || list.trim() === "") return ip;
  const entries = list.split(",").map((entry) => entry.trim());
  return entries.includes(ip) ? list : `${list},${ip}`;
}

/** A non-blank string value of an env-like record. */
function value(record: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const raw = Object.hasOwn(record, name) ? record[name] : undefined;
  return typeof raw === "string" && raw.trim() !== "" ? raw : undefined;
}
