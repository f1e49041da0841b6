import type { Any } from "@bufbuild/protobuf/wkt";
import { clientRejection } from "./config/client-validation.js";
import type { MeshConfig } from "./config/mesh-config.js";
import { listenerTypeUrl, routeConfigurationTypeUrl, shortTypeName } from "./config/xds-resources.js";

/** The host a generated resource is named for: `outbound|<port>|<subset>|<host>`, `<host>:<port>`. */
function hostOf(typeUrl: string, name: string): string | undefined {
  const parts = name.split("|");
  if (parts.length === 4) return parts[3];
  if (typeUrl === listenerTypeUrl && name.includes(":")) return name.slice(0, name.lastIndexOf(":"));
  return undefined;
}

/** The document a served resource comes from, as `file: document N (Kind name)`; the sources when not known. */
function originOf(config: MeshConfig, view: string, typeUrl: string, name: string): string {
  const raw = config.raw.find((each) => each.typeUrl === typeUrl && each.name === name);
  if (raw !== undefined) return raw.place;
  if (typeUrl === listenerTypeUrl && view.startsWith("sidecar")) {
    // A listener an EnvoyFilter patches (in sidecar views only): the one naming it, else one that may patch any listener.
    const patching = (named: boolean) => config.envoyFilters.find((filter) => filter.patches.some((patch) => (named ? patch.listener?.name === name : patch.listener?.name === undefined)));
    const filter = patching(true) ?? patching(false);
    if (filter !== undefined) return filter.place;
  }
  const host = hostOf(typeUrl, name);
  if (host === undefined) return config.file;
  const subset = name.split("|")[2] ?? "";
  const owner =
    (typeUrl === routeConfigurationTypeUrl ? config.virtualServices.find((vs) => vs.hosts.includes(host)) : undefined) ??
    (subset !== "" ? config.destinationRules.find((dr) => dr.host === host) : undefined) ??
    config.serviceEntries.find((entry) => entry.hosts.some((each) => each === host || each.startsWith(`${host}.`)));
  return owner?.place ?? config.file;
}

/**
 * Decodes served resources with the client's own validation (the code that NACKs), once per resource object: what
 * translation built is kept and shared across views and reloads, so each resource is checked once, when it is new.
 */
export class ServedResourceCheck {
  private readonly results = new WeakMap<Any, string | null>();

  /** Why clients would NACK `resource`, a resource of `typeUrl` (the client's reason); undefined when they take it. */
  rejection(typeUrl: string, resource: Any): string | undefined {
    let result = this.results.get(resource);
    if (result === undefined) {
      result = clientRejection(typeUrl, resource.value) ?? null;
      this.results.set(resource, result);
    }
    return result ?? undefined;
  }
}

/**
 * The error for a resource of `view` that clients would NACK: the document it comes from, the resource, the view and
 * the client's reason.
 */
export function servedResourceError(config: MeshConfig, view: string, typeUrl: string, name: string, reason: string): string {
  const shown = name === "" ? '""' : name;
  return `${originOf(config, view, typeUrl, name)}: clients would NACK the ${shortTypeName(typeUrl)} ${shown} served to ${view === "" ? "every" : view} clients: ${reason}`;
}
