/**
 * Chooses where init() gets its bootstrap, and applies the caller's explicit options over it:
 *
 * 1. a gRPC xDS bootstrap, when `GRPC_XDS_BOOTSTRAP` (a file, preferred) or `GRPC_XDS_BOOTSTRAP_CONFIG`
 *    (inline JSON) is set;
 * 2. else Istio's pod environment (`POD_NAMESPACE`, `POD_NAME`, `INSTANCE_IP`, …; see istio-env.ts), where the
 *    `namespace`, `podName` and `ip` options stand for those variables; with `namespace` given, a pod name and IP
 *    that neither an option nor the environment gives default to the host name and 127.0.0.1 (a laptop, a test).
 *
 * Explicit options win over both: `server` replaces the server list, `node` fields replace the node's
 * (metadata key by key, locality field by field), `mode` sets or removes metadata `GENERATOR`, `namespace` sets
 * metadata `NAMESPACE`.
 */
import { hostname } from "node:os";
import { isIP } from "node:net";
import type { JsonObject } from "@bufbuild/protobuf";
import { XdsError } from "../xds-error.js";
import type { Bootstrap, BootstrapLocality, BootstrapNode, BootstrapServer } from "./bootstrap.js";
import { readGrpcBootstrap, type BootstrapFileReader } from "./grpc-bootstrap.js";
import { applyXdsMode, istioEnvBootstrap, namespaceFromNodeId, type XdsMode } from "./istio-env.js";

/** Node fields to set over the bootstrap's node; each one given replaces (metadata: merges over) the source's. */
export interface BootstrapNodeOverrides {
  /** The node id. */
  readonly id?: string;
  /** The node's service cluster. */
  readonly cluster?: string;
  /** Metadata keys to set; merged key by key over the source's metadata. */
  readonly metadata?: JsonObject;
  /** Locality fields to set; merged field by field. */
  readonly locality?: BootstrapLocality;
}

/** What loadBootstrap reads and what the caller overrides. */
export interface LoadBootstrapOptions {
  /** The environment to read. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Reads the `GRPC_XDS_BOOTSTRAP` file. Default: the file's UTF-8 text from disk. */
  readonly readFile?: BootstrapFileReader;
  /** Whether a file exists (Istio's root certificate, for the pod environment). Default: the file system's answer. */
  readonly fileExists?: (path: string) => boolean;
  /** The xDS server address (`host:port`); replaces the source's server list with this one, plaintext. */
  readonly server?: string;
  /** Node fields set over the source's node. */
  readonly node?: BootstrapNodeOverrides;
  /** "grpc" sets metadata `GENERATOR: "grpc"`, "sidecar" removes it. Default: the source's choice ("grpc" for the Istio env). */
  readonly mode?: XdsMode;
  /** The client's namespace: metadata `NAMESPACE`, and `POD_NAMESPACE` of the pod environment. Enough, with `server`, to run outside a pod. */
  readonly namespace?: string;
  /** The pod name in the node id, in place of `POD_NAME` (without a gRPC bootstrap). Default with `namespace`: the host name. */
  readonly podName?: string;
  /** The IP in the node id and `INSTANCE_IPS`, in place of `INSTANCE_IP` (without a gRPC bootstrap). Default with `namespace`: 127.0.0.1. */
  readonly ip?: string;
}

/** Builds the Bootstrap from the gRPC bootstrap or the Istio environment, with `options` over it; deeply frozen. */
export function loadBootstrap(options: LoadBootstrapOptions = {}): Bootstrap {
  checkOptions(options);
  const env = options.env ?? process.env;
  const grpc = readGrpcBootstrap(env, options.readFile);
  let base: Bootstrap;
  if (grpc === undefined) {
    const istioOptions: { server?: string; mode?: XdsMode; fileExists?: (path: string) => boolean } = {};
    if (options.server !== undefined) istioOptions.server = options.server;
    if (options.mode !== undefined) istioOptions.mode = options.mode;
    if (options.fileExists !== undefined) istioOptions.fileExists = options.fileExists;
    base = istioEnvBootstrap(podEnv(env, options), istioOptions);
  } else {
    const metadata = { ...grpc.node.metadata };
    if (options.mode !== undefined) applyXdsMode(metadata, options.mode);
    base = {
      ...grpc,
      servers: options.server === undefined ? grpc.servers : [plaintextServer(options.server)],
      node: { ...grpc.node, metadata },
    };
  }
  const node = mergeNode(base.node, options.namespace === undefined ? options.node : { ...options.node, metadata: { ...options.node?.metadata, NAMESPACE: options.namespace } });
  const { namespace: _previous, ...unscoped } = base;
  const rest = { ...unscoped, servers: withClusterId(unscoped.servers, stringEntry(env, "ISTIO_META_CLUSTER_ID")) };
  const namespace = stringEntry(node.metadata, "NAMESPACE") ?? stringEntry(env, "POD_NAMESPACE") ?? namespaceFromNodeId(node.id);
  const result: Bootstrap = namespace === undefined ? { ...rest, node } : { ...rest, node, namespace };
  return frozenCopy(result) as Bootstrap;
}

/** The pod environment with the explicit `namespace`, `podName` and `ip` over it, and their defaults when `namespace` is given. */
function podEnv(env: NodeJS.ProcessEnv, options: LoadBootstrapOptions): NodeJS.ProcessEnv {
  const { namespace, podName, ip } = options;
  if (namespace === undefined && podName === undefined && ip === undefined) return env;
  const explicit = namespace !== undefined;
  return {
    ...env,
    ...(explicit ? { POD_NAMESPACE: namespace } : {}),
    ...(podName !== undefined ? { POD_NAME: podName } : explicit && stringEntry(env, "POD_NAME") === undefined ? { POD_NAME: hostname() } : {}),
    ...(ip !== undefined ? { INSTANCE_IP: ip } : explicit && stringEntry(env, "INSTANCE_IP") === undefined ? { INSTANCE_IP: "127.0.0.1" } : {}),
  };
}

/** Whether two init() option objects ask for the same thing (deep equality; functions by identity; undefined = absent). */
export function sameBootstrapOptions(a: LoadBootstrapOptions | undefined, b: LoadBootstrapOptions | undefined): boolean {
  return deepEqual(withoutDefaultEnv(a), withoutDefaultEnv(b));
}

/** `env: process.env` is what an absent env means. */
function withoutDefaultEnv(options: LoadBootstrapOptions | undefined): LoadBootstrapOptions {
  if (options === undefined) return {};
  if (options.env !== process.env) return options;
  const { env: _default, ...rest } = options;
  return rest;
}

/** Istio's `clusterid` header beside each JWT token, when `ISTIO_META_CLUSTER_ID` is set (istiod checks the token in that cluster). */
function withClusterId(servers: readonly BootstrapServer[], clusterId: string | undefined): readonly BootstrapServer[] {
  if (clusterId === undefined) return servers;
  return servers.map((server) => (server.callCreds === undefined ? server : { ...server, callCreds: server.callCreds.map((creds) => ({ ...creds, clusterId })) }));
}

function plaintextServer(uri: string): BootstrapServer {
  return { uri, channelCreds: { type: "insecure" }, serverFeatures: [] };
}

function mergeNode(node: BootstrapNode, overrides: BootstrapNodeOverrides | undefined): BootstrapNode {
  if (overrides === undefined) return node;
  const metadata: JsonObject = { ...node.metadata };
  for (const [key, value] of Object.entries(overrides.metadata ?? {})) {
    if (value !== undefined) metadata[key] = value;
  }
  const merged: { -readonly [K in keyof BootstrapNode]: BootstrapNode[K] } = {
    id: overrides.id ?? node.id,
    cluster: overrides.cluster ?? node.cluster,
    metadata,
  };
  if (node.locality !== undefined || overrides.locality !== undefined) {
    merged.locality = { ...node.locality, ...definedOnly(overrides.locality ?? {}) };
  }
  return merged;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function stringEntry(record: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = Object.hasOwn(record, key) ? record[key] : undefined;
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/** Options come from JavaScript callers too: check their shapes, naming the field. */
function checkOptions(options: LoadBootstrapOptions): void {
  if (typeof options !== "object" || options === null) fail("options", "expected an object", options);
  if (options.env !== undefined && (typeof options.env !== "object" || options.env === null)) fail("env", "expected an object", options.env);
  if (options.readFile !== undefined && typeof options.readFile !== "function") fail("readFile", "expected a function", options.readFile);
  if (options.fileExists !== undefined && typeof options.fileExists !== "function") fail("fileExists", "expected a function", options.fileExists);
  if (options.server !== undefined && (typeof options.server !== "string" || options.server.trim() === "")) {
    fail("server", "expected a non-empty string", options.server);
  }
  if (options.mode !== undefined && options.mode !== "grpc" && options.mode !== "sidecar") fail("mode", 'expected "grpc" or "sidecar"', options.mode);
  for (const key of ["namespace", "podName"] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== "string" || value.trim() === "")) fail(key, "expected a non-empty string", value);
  }
  if (options.ip !== undefined && (typeof options.ip !== "string" || isIP(options.ip) === 0)) fail("ip", "expected an IP address", options.ip);
  const node = options.node;
  if (node === undefined) return;
  if (typeof node !== "object" || node === null) fail("node", "expected an object", node);
  if (node.id !== undefined && (typeof node.id !== "string" || node.id.trim() === "")) fail("node.id", "expected a non-empty string", node.id);
  if (node.cluster !== undefined && typeof node.cluster !== "string") fail("node.cluster", "expected a string", node.cluster);
  if (node.metadata !== undefined && !isPlainObject(node.metadata)) fail("node.metadata", "expected a JSON object", node.metadata);
  if (node.locality !== undefined) {
    if (!isPlainObject(node.locality)) fail("node.locality", "expected an object", node.locality);
    for (const key of ["region", "zone", "subZone"] as const) {
      const value = node.locality[key];
      if (value !== undefined && typeof value !== "string") fail(`node.locality.${key}`, "expected a string", value);
    }
  }
}

function fail(path: string, expected: string, got: unknown): never {
  const shown = typeof got === "function" ? "a function" : JSON.stringify(got) ?? String(got);
  throw new XdsError("INVALID_ARGUMENT", `bootstrap options: ${path}: ${expected}, got ${shown}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A deep copy of JSON-like data with every object and array frozen, so callers' objects are never frozen. */
function frozenCopy(value: unknown): unknown {
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy));
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) copy[key] = frozenCopy(entry);
    return Object.freeze(copy);
  }
  return value;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((entry, i) => deepEqual(entry, b[i]));
  }
  const left = definedKeys(a as Record<string, unknown>);
  const right = definedKeys(b as Record<string, unknown>);
  if (left.length !== right.length) return false;
  return left.every((key) => Object.hasOwn(b, key) && deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

function definedKeys(record: Record<string, unknown>): string[] {
  return Object.keys(record).filter((key) => record[key] !== undefined);
}
