import { isIP } from "node:net";
import { create, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { NodeSchema, type Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import { XdsError } from "../xds-error.js";
import { grpcKind } from "./config/grpc-translation.js";
import { IdentityCache } from "./config/identity-cache.js";
import { parseLocality } from "./config/locality-load-balancing.js";
import type { MeshConfig } from "./config/mesh-config.js";
import { sidecarKind } from "./config/sidecar-translation.js";
import { translateView, ViewState, type ViewKind } from "./config/view-state.js";
import { viewTranslation, type TranslationOptions, type ViewTranslation } from "./config/view-translation.js";
import { xdsResourceRegistry, type PackedResources } from "./config/xds-resources.js";

export type { PackedResources } from "./config/xds-resources.js";

/**
 * The view a client gets, as istiod decides it: `grpc` when its node metadata says
 * `GENERATOR: grpc` (proxyless resources), else `sidecar` (Envoy-style resources); followed by
 * `/<namespace>` when the client's namespace is known (metadata `NAMESPACE`, or the
 * `<pod>.<namespace>` part of an Istio node id `sidecar~<ip>~<pod>.<namespace>~…`), since the
 * namespace decides the short domains of its virtual hosts; then by `~<ip>` when its address is known (the first of
 * metadata `INSTANCE_IPS`, or the `<ip>` of an Istio node id), which decides its workload (its inbound listeners, the
 * EnvoyFilters that select it); then by `@<region>/<zone>/<subzone>` when its node has a locality, which a
 * DestinationRule's localityLbSetting is applied for.
 */
export function meshViewOf(node: Node | undefined): string {
  const metadata = node?.metadata ?? {};
  const generator = metadata["GENERATOR"] === "grpc" ? "grpc" : "sidecar";
  const namespace = typeof metadata["NAMESPACE"] === "string" && metadata["NAMESPACE"] !== "" ? metadata["NAMESPACE"] : namespaceFromId(node?.id ?? "");
  const address = addressOf(node);
  const view = `${namespace === undefined ? generator : `${generator}/${namespace}`}${address === undefined ? "" : `~${address}`}`;
  const locality = node?.locality;
  if (locality === undefined || (locality.region === "" && locality.zone === "" && locality.subZone === "")) return view;
  return `${view}@${locality.region}/${locality.zone}/${locality.subZone}`;
}

/** The node's IP: the first of metadata `INSTANCE_IPS`, else the `<ip>` part of an Istio node id (as istiod reads them). */
function addressOf(node: Node | undefined): string | undefined {
  const ips = node?.metadata?.["INSTANCE_IPS"];
  const first = typeof ips === "string" ? ips.split(",")[0]?.trim() : undefined;
  if (first !== undefined && isIP(first) !== 0) return first;
  const parts = (node?.id ?? "").split("~");
  return parts.length === 4 && isIP(parts[1] as string) !== 0 ? parts[1] : undefined;
}

function namespaceFromId(id: string): string | undefined {
  const parts = id.split("~");
  if (parts.length !== 4) return undefined;
  const podAndNamespace = (parts[2] as string).split(".");
  return podAndNamespace.length === 2 && podAndNamespace[1] !== "" ? podAndNamespace[1] : undefined;
}

/** A view's kind and translation options, read from its name (see `meshViewOf`). */
function parseView(view: string): { kind: ViewKind<unknown>; options: TranslationOptions } {
  const at = view.indexOf("@");
  const addressed = at < 0 ? view : view.slice(0, at);
  const tilde = addressed.indexOf("~");
  const named = tilde < 0 ? addressed : addressed.slice(0, tilde);
  const slash = named.indexOf("/");
  const generator = slash < 0 ? named : named.slice(0, slash);
  const options = {
    ...(slash < 0 ? {} : { clientNamespace: named.slice(slash + 1) }),
    ...(tilde < 0 ? {} : { clientAddress: addressed.slice(tilde + 1) }),
    ...(at < 0 ? {} : { clientLocality: parseLocality(view.slice(at + 1)) }),
  };
  return { kind: generator === "grpc" ? grpcKind : sidecarKind, options };
}

/** What one view (as named by `meshViewOf`) serves, kept across configs: see ViewState. */
export function meshViewState(view: string): ViewState<unknown> {
  return new ViewState(parseView(view).kind);
}

/**
 * Starts translating `config` for one view (as named by `meshViewOf`), reusing what `cache` kept from other views and
 * configs, and what `state` (the view as served) holds.
 */
export function meshViewTranslation(config: MeshConfig, view: string, cache: IdentityCache, state?: ViewState<unknown>): ViewTranslation {
  return viewTranslation(config, parseView(view).options, cache, state?.catalog);
}

/** Translates a config for one view (as named by `meshViewOf`), packed. */
export function translateMeshView(config: MeshConfig, view: string, cache: IdentityCache = new IdentityCache()): PackedResources {
  return translateView(parseView(view).kind, meshViewTranslation(config, view, cache));
}

/** Where a resource type's resources go in a dump, in the order istioctl proxy-config shows them. */
const dumpSections: readonly (readonly [string, string])[] = [
  ["type.googleapis.com/envoy.config.listener.v3.Listener", "listeners"],
  ["type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "routes"],
  ["type.googleapis.com/envoy.config.cluster.v3.Cluster", "clusters"],
  ["type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "endpoints"],
  ["type.googleapis.com/istio.networking.nds.v1.NameTable", "nameTable"],
];

/**
 * What a view serves, as proto3 JSON values (each with its `@type`), by section: listeners, routes,
 * clusters, endpoints, nameTable; sorted by name. For `--print` and the config dump endpoint.
 */
export function dumpMeshView(view: string, packed: PackedResources): Record<string, unknown> {
  const out: Record<string, unknown> = { view };
  for (const [typeUrl, section] of dumpSections) {
    const byName = packed.get(typeUrl);
    if (byName === undefined || byName.size === 0) continue;
    const names = [...byName.keys()].sort();
    out[section] = names.map((name) => toJson(AnySchema, byName.get(name) as Any, { registry: xdsResourceRegistry }));
  }
  return out;
}

/**
 * The Node a `--node` option describes: each value is a JSON object (`{"id": …, "metadata": {…}}`), a
 * metadata entry `KEY=VALUE` (e.g. `GENERATOR=grpc`, `NAMESPACE=default`), or else the node id.
 */
export function nodeFromSpecs(specs: readonly string[]): Node {
  let id = "";
  const metadata: Record<string, JsonValue> = {};
  for (const spec of specs) {
    if (spec.startsWith("{")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(spec);
      } catch (error) {
        throw new XdsError("INVALID_ARGUMENT", `--node: not a JSON object: ${error instanceof Error ? error.message : String(error)}`);
      }
      const node = parsed as { id?: unknown; metadata?: unknown };
      if (typeof node.id === "string") id = node.id;
      if (node.metadata !== null && typeof node.metadata === "object") Object.assign(metadata, node.metadata);
    } else if (/^[A-Za-z_][A-Za-z0-9_.-]*=/.test(spec)) {
      const equals = spec.indexOf("=");
      metadata[spec.slice(0, equals)] = spec.slice(equals + 1);
    } else {
      id = spec;
    }
  }
  return create(NodeSchema, { id, metadata: metadata as JsonObject });
}
