import type { Any } from "@bufbuild/protobuf/wkt";
import { watch, type FSWatcher } from "node:fs";
import type { Server as HttpServer } from "node:http";
import type { Subscription } from "rxjs";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import { XdsError } from "../xds-error.js";
import { IdentityCache } from "./config/identity-cache.js";
import { MeshConfigCache, parseMeshSources, type MeshConfig, type MeshSource } from "./config/mesh-config.js";
import { clusterTypeUrl, listenerTypeUrl, shortTypeName } from "./config/xds-resources.js";
import { listeningAddress, serveConfigDump } from "./config-dump-endpoint.js";
import { ControlPlane } from "./control-plane.js";
import { readSources, sameSources } from "./mesh-sources.js";
import type { ViewState, ViewUpdate } from "./config/view-state.js";
import { dumpMeshView, meshViewOf, meshViewState, meshViewTranslation, translateMeshView } from "./mesh-view.js";
import { logRequests } from "./request-log.js";
import { ServedResourceCheck, servedResourceError } from "./served-resource-check.js";
import { applyChanges, describeChanges } from "./view-changes.js";

/** How `serveMesh` serves mesh config. */
export interface MeshServerOptions {
  /**
   * The sources, one or several: a file (multi-document YAML; see `parseMeshSources`), a directory (its
   * `*.yaml` and `*.yml` files, recursively, skipping names that start with ".") or `-` for standard
   * input (read once). Messages name each file as given.
   */
  readonly config: string | readonly string[];
  /** The port to listen on; 0 picks a free one. Default 15010, istiod's plaintext ADS port. */
  readonly port?: number;
  /** The address to bind (ADS and the debug endpoint). Default 127.0.0.1. */
  readonly host?: string;
  /** Also log connects, subscriptions and ACKs. Default false: only start, reloads, warnings, errors and NACKs. */
  readonly verbose?: boolean;
  /** Receives each log line (without a timestamp). Default: written to stderr. */
  readonly log?: (line: string) => void;
  /** How long file events are collected before a reload, in ms. Default 20. */
  readonly debounceMs?: number;
  /**
   * Serves what a node gets over HTTP on this port (0 picks a free one): `GET /debug/config_dump?node=…`
   * (`node` as `--node` takes it, repeatable; `format=yaml` for YAML). Default: not served.
   */
  readonly debugPort?: number;
  /** Read once when a source is `-`. Default: the process's standard input. */
  readonly stdin?: NodeJS.ReadableStream;
}

/** A running `serveMesh`. */
export interface MeshServer {
  /** The `host:port` it listens on. */
  readonly address: string;
  /** The `host:port` of the config dump endpoint, when `debugPort` was given. */
  readonly debugAddress: string | undefined;
  /**
   * Reads the sources again and serves what changed; resolves true once the new config is served, false
   * when it could not be loaded (the error is logged and the last good config keeps being served).
   * Changes to the files do this by themselves.
   */
  reload(): Promise<boolean>;
  /** What a node would be served now (see `dumpMeshView`). */
  dump(node: Node): Record<string, unknown>;
  /** Stops watching, ends every stream and stops listening. */
  close(): Promise<void>;
}

/** istiod answers a sidecar's LDS and CDS with the whole set; a proxyless client gets what it names. */
const sidecarWholeSet = [listenerTypeUrl, clusterTypeUrl];

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Parses the sources (reading again only the documents `cache` does not hold) and checks the raw resources with the
 * client's validation, as they are served as written; throws an XdsError naming the file, document and field.
 */
function loadConfig(sources: readonly MeshSource[], cache: MeshConfigCache, checks: ServedResourceCheck): MeshConfig {
  const config = parseMeshSources(sources, cache);
  for (const raw of config.raw) {
    const reason = checks.rejection(raw.typeUrl, raw.resource);
    if (reason !== undefined) throw new XdsError("INVALID_CONFIG", `${raw.place}: clients would NACK the ${shortTypeName(raw.typeUrl)} ${raw.name === "" ? '""' : raw.name}: ${reason}`);
  }
  return config;
}

/** Runs a translation for one view; throws an XdsError naming the sources when translation fails. */
function translating<T>(config: MeshConfig, view: string, translate: () => T): T {
  try {
    return translate();
  } catch (error) {
    if (error instanceof XdsError) throw error;
    throw new XdsError("INVALID_CONFIG", `${config.file}: cannot translate for ${view} clients: ${errorMessage(error)}`, { cause: error });
  }
}

function describeConfig(config: MeshConfig): string {
  const services = config.serviceEntries.filter((entry) => entry.declaredBy === "Service").length;
  const counts = [
    `${config.serviceEntries.length - services} ServiceEntry`,
    ...(services > 0 ? [`${services} Service`] : []),
    `${config.destinationRules.length} DestinationRule`,
    `${config.virtualServices.length} VirtualService`,
    `${config.raw.length} raw`,
  ];
  return counts.join(", ");
}

function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer | string) => chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk));
    stream.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    stream.once("error", reject);
  });
}

class MeshServing implements MeshServer {
  private readonly plane: ControlPlane;
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly warned = new Set<string>();
  private logging: Subscription | undefined;
  private debug: HttpServer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** The last sources that failed to load, so that repeated file events log their error once. */
  private failed: readonly MeshSource[] | undefined;
  /** Every view served so far (built when its first client came), with what it serves. */
  private readonly views = new Map<string, ViewState<unknown>>();
  /** What translation built, kept across views and reloads. */
  private readonly translations = new IdentityCache();
  /** Resources found to be ones clients would NACK, so that each is logged once. */
  private readonly refused = new WeakSet<Any>();

  constructor(
    private readonly configs: readonly string[],
    private readonly options: MeshServerOptions,
    private readonly log: (line: string) => void,
    private readonly stdin: () => Promise<string>,
    /** What parsing kept, so that a reload reads only the documents that changed. */
    private readonly parsed: MeshConfigCache,
    /** The client's validation of what is served, remembered per resource. */
    private readonly checks: ServedResourceCheck,
    private config: MeshConfig,
    private sources: readonly MeshSource[],
  ) {
    this.plane = new ControlPlane({
      view: (node) => this.view(node),
      wholeSetTypes: (view) => (view.startsWith("sidecar") ? sidecarWholeSet : []),
      admit: (view, typeUrl, name, resource) => this.admit(view, typeUrl, name, resource),
    });
  }

  get address(): string {
    return this.plane.address ?? "";
  }

  get debugAddress(): string | undefined {
    return listeningAddress(this.debug);
  }

  /** Starts listening, logging, watching the sources and serving the debug endpoint. */
  async start(directories: ReadonlySet<string>): Promise<void> {
    const host = this.options.host ?? "127.0.0.1";
    await this.plane.listen({ host, port: this.options.port ?? 15010 });
    this.logging = logRequests(this.plane.requests$, { log: this.log, verbose: this.options.verbose ?? false });
    this.logWarnings();
    try {
      this.watch(directories);
      if (this.options.debugPort !== undefined) this.debug = await serveConfigDump(host, this.options.debugPort, (node) => this.dump(node));
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Watches exactly `directories`: any entry changing in one (an edit, a rename, a ConfigMap's `..data` swap) schedules a reload. */
  private watch(directories: ReadonlySet<string>): void {
    for (const [directory, watcher] of this.watchers) {
      if (directories.has(directory)) continue;
      watcher.close();
      this.watchers.delete(directory);
    }
    for (const directory of directories) {
      if (this.watchers.has(directory)) continue;
      let watcher: FSWatcher;
      try {
        watcher = watch(directory, () => this.schedule());
      } catch (error) {
        throw new XdsError("INVALID_CONFIG", `${directory}: cannot watch the directory: ${errorMessage(error)}`, { cause: error });
      }
      watcher.on("error", (error) => this.log(`error: cannot watch ${directory} any more: ${error.message}`));
      this.watchers.set(directory, watcher);
    }
  }

  private logWarnings(): void {
    for (const warning of this.config.warnings) {
      if (this.warned.has(warning)) continue;
      this.warned.add(warning);
      this.log(`warning: ${warning}`);
    }
  }

  /** The view of a stream's node; a view no stream had before is translated now, before its first response. */
  private view(node: Node | undefined): string {
    const view = meshViewOf(node);
    if (!this.views.has(view)) {
      const state = meshViewState(view);
      this.views.set(view, state);
      try {
        const update = translating(this.config, view, () => state.update(meshViewTranslation(this.config, view, this.translations)));
        update.commit();
        applyChanges(this.plane, view, update.changes);
      } catch (error) {
        this.log(`error: cannot serve ${view} clients: ${errorMessage(error)}`);
      }
    }
    return view;
  }

  /**
   * Whether a resource may be sent: it passes the client's validation (checked once per resource). Reloads check
   * what they change before serving it; this checks what a view served from the start holds, as it is first sent.
   */
  private admit(view: string, typeUrl: string, name: string, resource: Any): boolean {
    const reason = this.checks.rejection(typeUrl, resource);
    if (reason === undefined) return true;
    if (!this.refused.has(resource)) {
      this.refused.add(resource);
      this.log(`error: not serving what ${servedResourceError(this.config, view, typeUrl, name, reason)}`);
    }
    return false;
  }

  dump(node: Node): Record<string, unknown> {
    const view = this.view(node);
    return dumpMeshView(view, this.views.get(view)?.resources ?? new Map());
  }

  reload(): Promise<boolean> {
    const run = this.queue.then(() => this.reloadNow());
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    await this.queue;
    this.logging?.unsubscribe();
    const debug = this.debug;
    if (debug !== undefined) await new Promise((resolve) => debug.close(resolve));
    await this.plane.close();
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, this.options.debounceMs ?? 20);
  }

  private async reloadNow(): Promise<boolean> {
    if (this.closed) return false;
    let config: MeshConfig;
    let sources: readonly MeshSource[] | undefined;
    const updates: { view: string; update: ViewUpdate }[] = [];
    try {
      const read = await readSources(this.configs, this.stdin);
      if (!this.closed) this.watch(read.directories);
      sources = read.sources;
      if (sameSources(sources, this.sources)) return true;
      if (this.failed !== undefined && sameSources(sources, this.failed)) return false;
      const loaded = loadConfig(sources, this.parsed, this.checks);
      config = loaded;
      for (const [view, state] of this.views) {
        const update = translating(loaded, view, () => state.update(meshViewTranslation(loaded, view, this.translations, state)));
        // What a reload changes is checked before any client gets it: a reload clients would NACK is refused whole.
        for (const { typeUrl, name, resource } of update.changes) {
          const reason = resource === undefined ? undefined : this.checks.rejection(typeUrl, resource);
          if (reason !== undefined) throw new XdsError("INVALID_CONFIG", servedResourceError(loaded, view, typeUrl, name, reason));
        }
        updates.push({ view, update });
      }
    } catch (error) {
      this.failed = sources;
      this.log(`error: reload failed, still serving the last good config: ${errorMessage(error)}`);
      return false;
    }
    this.failed = undefined;
    if (this.closed) return false;
    this.config = config;
    this.sources = sources;
    for (const { view, update } of updates) {
      update.commit();
      applyChanges(this.plane, view, update.changes);
    }
    this.log(`reloaded ${this.config.file}: ${describeChanges(updates.map(({ view, update }) => ({ view, changes: update.changes })))}`);
    this.logWarnings();
    return true;
  }
}

/**
 * Loads the mesh config sources once, as `serveMesh` would, and returns what the node would be
 * served (see `dumpMeshView`): `rxds serve --print`. Throws `XdsError("INVALID_CONFIG")` like `serveMesh`.
 */
export async function dumpMesh(config: string | readonly string[], node: Node, stdin: NodeJS.ReadableStream = process.stdin): Promise<Record<string, unknown>> {
  const configs = typeof config === "string" ? [config] : [...config];
  const { sources } = await readSources(configs, () => readStream(stdin));
  const view = meshViewOf(node);
  const checks = new ServedResourceCheck();
  const loaded = loadConfig(sources, new MeshConfigCache(), checks);
  const packed = translating(loaded, view, () => translateMeshView(loaded, view, new IdentityCache()));
  for (const [typeUrl, byName] of packed) {
    for (const [name, resource] of byName) {
      const reason = checks.rejection(typeUrl, resource);
      if (reason !== undefined) throw new XdsError("INVALID_CONFIG", servedResourceError(loaded, view, typeUrl, name, reason));
    }
  }
  return dumpMeshView(view, packed);
}

/**
 * Serves mesh config over ADS (SotW) on loopback or any address: Istio resources, Kubernetes objects
 * and raw `@type` xDS resources, translated as istiod would for each client — proxyless resources for
 * a node with `GENERATOR: grpc`, sidecar resources otherwise. Every source is watched and reloaded on
 * change (only changed resources get a new version); sources that fail to load are logged and the last
 * good config keeps being served. Rejects with an `XdsError("INVALID_CONFIG")` naming the file,
 * document and field when the config cannot be served at start, including anything clients would NACK.
 */
export async function serveMesh(options: MeshServerOptions): Promise<MeshServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const configs = typeof options.config === "string" ? [options.config] : [...options.config];
  if (configs.length === 0) throw new XdsError("INVALID_ARGUMENT", "serveMesh: config: expected at least one source");
  let stdinText: Promise<string> | undefined;
  const stdin = () => (stdinText ??= readStream(options.stdin ?? process.stdin));
  const { sources, directories } = await readSources(configs, stdin);
  const parsed = new MeshConfigCache();
  const checks = new ServedResourceCheck();
  const config = loadConfig(sources, parsed, checks);
  const serving = new MeshServing(configs, options, log, stdin, parsed, checks, config, sources);
  await serving.start(directories);
  log(`serving ${config.file} on ${serving.address} (${describeConfig(config)})`);
  if (serving.debugAddress !== undefined) log(`config dump at http://${serving.debugAddress}/debug/config_dump?node=GENERATOR=grpc&node=NAMESPACE=default`);
  return serving;
}
