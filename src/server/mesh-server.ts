import type { Any } from "@bufbuild/protobuf/wkt";
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { Subscription } from "rxjs";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import { XdsError } from "../xds-error.js";
import { parseMeshConfig, type MeshConfig } from "./config/mesh-config.js";
import { clusterTypeUrl, endpointsTypeUrl, listenerTypeUrl, nameTableTypeUrl, routeConfigurationTypeUrl } from "./config/xds-resources.js";
import { ControlPlane } from "./control-plane.js";
import { meshViewOf, translateMeshView, type PackedResources } from "./mesh-view.js";
import { logRequests, shortTypeName } from "./request-log.js";

/** How `serveMesh` serves a mesh config file. */
export interface MeshServerOptions {
  /** Path of the mesh config file (multi-document YAML; see `parseMeshConfig`). Messages name it as given. */
  readonly config: string;
  /** The port to listen on; 0 picks a free one. Default 15010, istiod's plaintext ADS port. */
  readonly port?: number;
  /** The address to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** Also log connects, subscriptions and ACKs. Default false: only start, reloads, errors and NACKs. */
  readonly verbose?: boolean;
  /** Receives each log line (without a timestamp). Default: written to stderr. */
  readonly log?: (line: string) => void;
  /** How long file events are collected before a reload, in ms. Default 20. */
  readonly debounceMs?: number;
}

/** A running `serveMesh`. */
export interface MeshServer {
  /** The `host:port` it listens on. */
  readonly address: string;
  /**
   * Reads the file again and serves what changed; resolves true once the new config is served, false
   * when it could not be loaded (the error is logged and the last good config keeps being served).
   * File changes do this by themselves.
   */
  reload(): Promise<boolean>;
  /** Stops watching the file, ends every stream and stops listening. */
  close(): Promise<void>;
}

/** The order types are updated in, so a client never sees a name before what it points to exists. */
const typeOrder = [clusterTypeUrl, endpointsTypeUrl, listenerTypeUrl, routeConfigurationTypeUrl, nameTableTypeUrl];

/** The views translated at start, so that a config neither can be built from fails at once. */
const baseViews = ["grpc", "sidecar"];

function sameAny(a: Any | undefined, b: Any): boolean {
  return a !== undefined && a.typeUrl === b.typeUrl && Buffer.from(a.value).equals(b.value);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function readConfig(file: string, label: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new XdsError("INVALID_CONFIG", `${label}: cannot read the file: ${errorMessage(error)}`, { cause: error });
  }
}

/** Parses the file and translates it for each view; throws an XdsError naming the file (and document, field). */
function loadViews(text: string, label: string, views: Iterable<string>): { config: MeshConfig; translated: Map<string, PackedResources> } {
  const config = parseMeshConfig(text, label);
  const translated = new Map<string, PackedResources>();
  for (const view of views) {
    try {
      translated.set(view, translateMeshView(config, view));
    } catch (error) {
      if (error instanceof XdsError) throw error;
      throw new XdsError("INVALID_CONFIG", `${label}: cannot translate for ${view} clients: ${errorMessage(error)}`, { cause: error });
    }
  }
  return { config, translated };
}

function describeConfig(config: MeshConfig): string {
  const counts = [
    `${config.serviceEntries.length} ServiceEntry`,
    `${config.destinationRules.length} DestinationRule`,
    `${config.virtualServices.length} VirtualService`,
    `${config.raw.length} raw`,
  ];
  return counts.join(", ");
}

class MeshServing implements MeshServer {
  private readonly plane: ControlPlane;
  private watcher: FSWatcher | undefined;
  private logging: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** The last text that failed to load, so that repeated file events log its error once. */
  private failedText: string | undefined;

  constructor(
    private readonly file: string,
    private readonly options: MeshServerOptions,
    private readonly log: (line: string) => void,
    private config: MeshConfig,
    private text: string,
    /** Every view served so far, with what it serves. */
    private readonly views: Map<string, PackedResources>,
  ) {
    this.plane = new ControlPlane({ view: (node) => this.view(node) });
    for (const [view, packed] of views) applyView(this.plane, view, packed, new Map());
  }

  get address(): string {
    return this.plane.address ?? "";
  }

  /** Starts listening, logging and watching the file. */
  async start(): Promise<void> {
    await this.plane.listen({ host: this.options.host ?? "127.0.0.1", port: this.options.port ?? 15010 });
    this.logging = logRequests(this.plane.requests$, { log: this.log, verbose: this.options.verbose ?? false });
    const name = basename(this.file);
    try {
      this.watcher = watch(dirname(this.file), (_event, changed) => {
        if (changed === null || changed === name) this.schedule();
      });
    } catch (error) {
      await this.close();
      throw new XdsError("INVALID_CONFIG", `${this.options.config}: cannot watch its directory: ${errorMessage(error)}`, { cause: error });
    }
    this.watcher.on("error", (error) => this.log(`error: cannot watch ${this.options.config} any more: ${error.message}`));
  }

  /** The view of a stream's node; a view no stream had before is translated now, before its first response. */
  private view(node: Node | undefined): string {
    const view = meshViewOf(node);
    if (!this.views.has(view)) {
      let packed: PackedResources = new Map();
      try {
        packed = translateMeshView(this.config, view);
      } catch (error) {
        this.log(`error: cannot translate ${this.options.config} for ${view} clients: ${errorMessage(error)}`);
      }
      this.views.set(view, packed);
      applyView(this.plane, view, packed, new Map());
    }
    return view;
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
    this.watcher?.close();
    await this.queue;
    this.logging?.unsubscribe();
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
    let loaded: ReturnType<typeof loadViews>;
    let text: string | undefined;
    try {
      text = await readConfig(this.file, this.options.config);
      if (text === this.text) return true;
      if (text === this.failedText) return false;
      loaded = loadViews(text, this.options.config, this.views.keys());
    } catch (error) {
      this.failedText = text;
      this.log(`error: reload failed, still serving the last good config: ${errorMessage(error)}`);
      return false;
    }
    this.failedText = undefined;
    if (this.closed) return false;
    this.config = loaded.config;
    this.text = text;
    const changed = new Set<string>();
    for (const [view, packed] of loaded.translated) {
      for (const name of applyView(this.plane, view, packed, this.views.get(view) ?? new Map())) changed.add(name);
      this.views.set(view, packed);
    }
    const list = [...changed];
    const shown = list.length > 8 ? `${list.slice(0, 8).join(", ")} …` : list.join(", ");
    this.log(`reloaded ${this.options.config}: ${list.length === 0 ? "no resource changed" : `${list.length} changed: ${shown}`}`);
    return true;
  }
}

/**
 * Serves `packed` as the whole content of `view` (types that `previous` had and `packed` lacks are
 * emptied), type by type in make-before-break order; returns `TYPE name` of each resource changed.
 */
function applyView(plane: ControlPlane, view: string, packed: PackedResources, previous: PackedResources): string[] {
  const types = [...new Set([...typeOrder, ...packed.keys(), ...previous.keys()])];
  const changed: string[] = [];
  for (const typeUrl of types) {
    const next = packed.get(typeUrl) ?? new Map<string, Any>();
    const served = plane.resources(typeUrl, view);
    for (const name of served.keys()) if (!next.has(name)) changed.push(`${shortTypeName(typeUrl)} ${name === "" ? '""' : name} (removed)`);
    for (const [name, any] of next) if (!sameAny(served.get(name), any)) changed.push(`${shortTypeName(typeUrl)} ${name === "" ? '""' : name}`);
    if (next.size > 0 || served.size > 0) plane.replace(typeUrl, next, view);
  }
  return changed;
}

/**
 * Serves a mesh config file over ADS (SotW) on loopback or any address: Istio VirtualService,
 * DestinationRule and ServiceEntry plus raw `@type` xDS resources, translated as istiod would for
 * each client — proxyless resources for a node with `GENERATOR: grpc`, sidecar resources otherwise.
 * The file is watched and reloaded on change (only changed resources get a new version); a file that
 * fails to load is logged and the last good config keeps being served. Rejects with an
 * `XdsError("INVALID_CONFIG")` naming the file, document and field when the file cannot be served at start.
 */
export async function serveMesh(options: MeshServerOptions): Promise<MeshServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const file = resolve(options.config);
  const text = await readConfig(file, options.config);
  const { config, translated } = loadViews(text, options.config, baseViews);
  const serving = new MeshServing(file, options, log, config, text, translated);
  await serving.start();
  log(`serving ${options.config} on ${serving.address} (${describeConfig(config)})`);
  return serving;
}
