/**
 * The gRPC xDS bootstrap, as gRPC (gRFC A27, A29, A30, A36, A47, A65) and Istio's injector write it.
 *
 * Sources, per gRPC's `doc/grpc_xds_bootstrap_format.md`: the file named by `GRPC_XDS_BOOTSTRAP`, else
 * the inline JSON in `GRPC_XDS_BOOTSTRAP_CONFIG`; when both are set the file wins. Unknown fields are
 * ignored (A27: "unknown fields in the bootstrap file will be silently ignored").
 */
import { readFileSync } from "node:fs";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { XdsError } from "../xds-error.js";
import type { Bootstrap, BootstrapAuthority, BootstrapLocality, BootstrapNode, BootstrapServer } from "./bootstrap.js";
import {
  readCertificateFiles,
  readJwtTokenFile,
  SUPPORTED_CHANNEL_CREDS,
  type CallCredentialsConfig,
  type CertificateFilesConfig,
  type ChannelCredentialsConfig,
} from "./credentials-config.js";

/** The env var naming a gRPC xDS bootstrap file. */
export const GRPC_XDS_BOOTSTRAP = "GRPC_XDS_BOOTSTRAP";

/** The env var holding a gRPC xDS bootstrap as inline JSON; `GRPC_XDS_BOOTSTRAP` wins when both are set. */
export const GRPC_XDS_BOOTSTRAP_CONFIG = "GRPC_XDS_BOOTSTRAP_CONFIG";

/** Reads a whole file as UTF-8 text, synchronously; tests pass their own. */
export type BootstrapFileReader = (path: string) => string;

/** A parsed gRPC bootstrap: a Bootstrap before its namespace is derived. */
export type GrpcBootstrap = Omit<Bootstrap, "namespace">;

/** Reads the bootstrap the env points at (file first, then inline JSON); undefined when neither is set. */
export function readGrpcBootstrap(
  env: NodeJS.ProcessEnv,
  readFile: BootstrapFileReader = readUtf8,
): GrpcBootstrap | undefined {
  const file = nonBlank(env[GRPC_XDS_BOOTSTRAP]);
  if (file !== undefined) {
    const origin = `${GRPC_XDS_BOOTSTRAP}=${file}`;
    let text: string;
    try {
      text = readFile(file);
    } catch (reason) {
      const detail = reason instanceof Error ? reason.message : String(reason);
      throw new XdsError("INVALID_CONFIG", `${origin}: cannot read the file: ${detail}`, { cause: reason });
    }
    return parseGrpcBootstrap(text, origin);
  }
  const inline = nonBlank(env[GRPC_XDS_BOOTSTRAP_CONFIG]);
  if (inline !== undefined) return parseGrpcBootstrap(inline, GRPC_XDS_BOOTSTRAP_CONFIG);
  return undefined;
}

/** Parses and validates gRPC bootstrap JSON; `origin` (a file or env var) starts every error message. */
export function parseGrpcBootstrap(text: string, origin: string): GrpcBootstrap {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (reason) {
    const detail = reason instanceof Error ? reason.message : String(reason);
    throw new XdsError("INVALID_CONFIG", `${origin}: invalid JSON: ${detail}`, { cause: reason });
  }
  return new BootstrapReader(origin).bootstrap(root);
}

function readUtf8(path: string): string {
  return readFileSync(path, "utf8");
}

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** Walks the JSON, naming the field path of anything wrong. */
class BootstrapReader {
  constructor(private readonly origin: string) {}

  bootstrap(root: unknown): GrpcBootstrap {
    if (!isObject(root)) {
      throw new XdsError("INVALID_CONFIG", `${this.origin}: expected a JSON object at the top level, got ${describe(root)}`);
    }
    const servers = this.servers(root, "xds_servers", "");
    if (servers === undefined) this.fail("xds_servers", "is required: expected a non-empty array of servers");
    const result: { -readonly [K in keyof GrpcBootstrap]: GrpcBootstrap[K] } = {
      source: "grpc-bootstrap",
      origin: this.origin,
      servers,
      node: this.node(field(root, "node")),
    };
    const providers = this.certificateProviders(field(root, "certificate_providers"));
    if (providers !== undefined) result.certificateProviders = providers;
    const serverTemplate = this.optionalString(root, "server_listener_resource_name_template", "");
    if (serverTemplate !== undefined) result.serverListenerResourceNameTemplate = serverTemplate;
    const clientTemplate = this.optionalString(root, "client_default_listener_resource_name_template", "");
    if (clientTemplate !== undefined) result.clientDefaultListenerResourceNameTemplate = clientTemplate;
    const authorities = this.authorities(field(root, "authorities"));
    if (authorities !== undefined) result.authorities = authorities;
    return result;
  }

  /** `xds_servers` of the top level or of an authority; undefined when absent or empty. */
  private servers(parent: JsonObject, key: string, prefix: string): BootstrapServer[] | undefined {
    const path = prefix + key;
    const value = field(parent, key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) this.fail(path, `expected an array, got ${describe(value)}`);
    if (value.length === 0) return undefined;
    return value.map((entry, i) => this.server(entry, `${path}[${i}]`));
  }

  private server(value: JsonValue, path: string): BootstrapServer {
    const server = this.object(value, path);
    const uri = field(server, "server_uri");
    if (typeof uri !== "string" || uri.trim() === "") {
      this.fail(`${path}.server_uri`, uri === undefined ? "expected a non-empty string" : `expected a non-empty string, got ${describe(uri)}`);
    }
    const callCreds = this.callCreds(field(server, "call_creds"), `${path}.call_creds`);
    const channelCreds = this.channelCreds(field(server, "channel_creds"), `${path}.channel_creds`);
    if (callCreds.length > 0 && channelCreds.type !== "tls") {
      this.fail(`${path}.call_creds`, "need tls channel_creds: rxds never sends a bearer token over a plaintext channel");
    }
    return {
      uri,
      channelCreds,
      ...(callCreds.length === 0 ? {} : { callCreds }),
      serverFeatures: this.serverFeatures(field(server, "server_features"), `${path}.server_features`),
    };
  }

  /** The first supported entry, as gRPC picks it; every entry must still be well formed. */
  private channelCreds(value: JsonValue | undefined, path: string): ChannelCredentialsConfig {
    const entries = this.typedEntries(value, path, true);
    const index = entries.findIndex((entry) => SUPPORTED_CHANNEL_CREDS.includes(entry.type));
    if (index < 0) {
      const found = entries.map((entry) => JSON.stringify(entry.type)).join(", ");
      const supported = SUPPORTED_CHANNEL_CREDS.map((type) => JSON.stringify(type)).join(", ");
      const google = entries.some((entry) => entry.type === "google_default")
        ? '; "google_default" (Google Cloud credentials) is not supported by rxds'
        : "";
      this.fail(path, `no supported channel credentials type among ${found} (rxds supports ${supported})${google}`);
    }
    const { type, config } = entries[index]!;
    if (type === "insecure") return { type };
    const prefix = `${path}[${index}].config`;
    const tls = config ?? {};
    const serverName = this.optionalString(tls, "server_name", `${prefix}.`);
    const files = readCertificateFiles(tls, (field, message) => this.fail(field === "" ? prefix : `${prefix}.${field}`, message), false);
    return { type: "tls", ...files, ...(serverName === undefined || serverName === "" ? {} : { serverName }) };
  }

  /** Every supported entry (gRFC A97: unsupported types are skipped); every entry must still be well formed. */
  private callCreds(value: JsonValue | undefined, path: string): CallCredentialsConfig[] {
    if (value === undefined) return [];
    return this.typedEntries(value, path, false).flatMap(({ type, config }, i) =>
      type === "jwt_token_file" ? [readJwtTokenFile(config, (field, message) => this.fail(`${path}[${i}].${field}`, message))] : [],
    );
  }

  /** A list of `{type, config?}` entries (channel_creds, call_creds). */
  private typedEntries(value: JsonValue | undefined, path: string, nonEmpty: boolean): { type: string; config: JsonObject | undefined }[] {
    if (!Array.isArray(value) || (nonEmpty && value.length === 0)) {
      this.fail(path, `expected a ${nonEmpty ? "non-empty " : ""}array of {type, config}, got ${describe(value)}`);
    }
    return value.map((entry, i) => {
      const creds = this.object(entry, `${path}[${i}]`);
      const type = field(creds, "type");
      if (typeof type !== "string" || type === "") {
        this.fail(`${path}[${i}].type`, `expected a non-empty string, got ${describe(type)}`);
      }
      return { type, config: this.optionalObject(creds, "config", `${path}[${i}].`) };
    });
  }

  /** Unknown entries, of any type, are ignored as gRPC does; non-strings are dropped. */
  private serverFeatures(value: JsonValue | undefined, path: string): string[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) this.fail(path, `expected an array of strings, got ${describe(value)}`);
    return value.filter((feature): feature is string => typeof feature === "string");
  }

  private node(value: JsonValue | undefined): BootstrapNode {
    if (value === undefined) return { id: "", cluster: "", metadata: {} };
    const node = this.object(value, "node");
    const result: { -readonly [K in keyof BootstrapNode]: BootstrapNode[K] } = {
      id: this.optionalString(node, "id", "node.") ?? "",
      cluster: this.optionalString(node, "cluster", "node.") ?? "",
      metadata: this.optionalObject(node, "metadata", "node.") ?? {},
    };
    const locality = field(node, "locality");
    if (locality !== undefined) result.locality = this.locality(locality);
    return result;
  }

  private locality(value: JsonValue): BootstrapLocality {
    const locality = this.object(value, "node.locality");
    const result: { -readonly [K in keyof BootstrapLocality]: BootstrapLocality[K] } = {};
    const region = this.optionalString(locality, "region", "node.locality.");
    if (region !== undefined) result.region = region;
    const zone = this.optionalString(locality, "zone", "node.locality.");
    if (zone !== undefined) result.zone = zone;
    const subZone = this.optionalString(locality, "sub_zone", "node.locality.");
    if (subZone !== undefined) result.subZone = subZone;
    return result;
  }

  /** Each instance's file_watcher config (gRFC A29); another plugin is an error naming it. */
  private certificateProviders(value: JsonValue | undefined): Record<string, CertificateFilesConfig> | undefined {
    if (value === undefined) return undefined;
    const providers = this.object(value, "certificate_providers");
    return Object.fromEntries(
      Object.entries(providers).map(([name, entry]) => {
        const path = `certificate_providers[${JSON.stringify(name)}]`;
        const provider = this.object(entry, path);
        const pluginName = field(provider, "plugin_name");
        if (typeof pluginName !== "string" || pluginName === "") {
          this.fail(`${path}.plugin_name`, `expected a non-empty string, got ${describe(pluginName)}`);
        }
        if (pluginName !== "file_watcher") {
          this.fail(`${path}.plugin_name`, `${JSON.stringify(pluginName)} is not supported (rxds supports "file_watcher")`);
        }
        const config = this.optionalObject(provider, "config", `${path}.`) ?? {};
        return [name, readCertificateFiles(config, (key, message) => this.fail(key === "" ? `${path}.config` : `${path}.config.${key}`, message), true)];
      }),
    );
  }

  private authorities(value: JsonValue | undefined): Record<string, BootstrapAuthority> | undefined {
    if (value === undefined) return undefined;
    const authorities = this.object(value, "authorities");
    return Object.fromEntries(
      Object.entries(authorities).map(([name, entry]) => {
        const prefix = `authorities[${JSON.stringify(name)}].`;
        const authority = this.object(entry, prefix.slice(0, -1));
        const result: { -readonly [K in keyof BootstrapAuthority]: BootstrapAuthority[K] } = {};
        const template = this.optionalString(authority, "client_listener_resource_name_template", prefix);
        if (template !== undefined) {
          // gRPC's bootstrap format: the template must start with "xdstp://<authority_name>/".
          if (!template.startsWith(`xdstp://${name}/`)) {
            this.fail(`${prefix}client_listener_resource_name_template`, `must start with "xdstp://${name}/"`);
          }
          result.clientListenerResourceNameTemplate = template;
        }
        const servers = this.servers(authority, "xds_servers", prefix);
        if (servers !== undefined) result.servers = servers;
        return [name, result];
      }),
    );
  }

  private object(value: JsonValue | undefined, path: string): JsonObject {
    if (!isObject(value)) this.fail(path, `expected an object, got ${describe(value)}`);
    return value;
  }

  private optionalObject(parent: JsonObject, key: string, prefix: string): JsonObject | undefined {
    const value = field(parent, key);
    return value === undefined ? undefined : this.object(value, prefix + key);
  }

  private optionalString(parent: JsonObject, key: string, prefix: string): string | undefined {
    const value = field(parent, key);
    if (value === undefined || typeof value === "string") return value;
    this.fail(prefix + key, `expected a string, got ${describe(value)}`);
  }

  private fail(path: string, message: string): never {
    throw new XdsError("INVALID_CONFIG", `${this.origin}: ${path}: ${message}`);
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An own field only: a bootstrap key never reaches Object.prototype. */
function field(parent: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(parent, key) ? parent[key] : undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
