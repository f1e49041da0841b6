import type { Any } from "@bufbuild/protobuf/wkt";
import { patchedListener } from "./envoy-filter-patch.js";
import { sameItems } from "./identity-cache.js";
import type { MeshCatalog, MeshService } from "./mesh-catalog.js";
import type { EnvoyFilterPatch, PeerAuthentication } from "./mesh-config-model.js";
import { destinationHosts, type ServedResource, type ViewTranslation } from "./view-translation.js";
import { listenerTypeUrl, putResource, type PackedResources } from "./xds-resources.js";

/** A kind of view (grpc, sidecar): how a service's part of it is built, and what it builds from all parts together. */
export interface ViewKind<Part> {
  /** A service's part of the view; the same object as last time while what it is built from is unchanged (cached in `t.cache`). */
  part(t: ViewTranslation, service: MeshService): Part;
  /** The resources a part serves on its own. */
  resources(part: Part): readonly ServedResource[];
  /** The resources built from every part together, the parts in the catalog's order (the sidecar's per-port listeners and routes, say). */
  shared(t: ViewTranslation, parts: readonly Part[]): readonly ServedResource[];
  /** The EnvoyFilter patches the view's listeners get, in order; none when absent (istiod's gRPC generator applies none). */
  patches?(t: ViewTranslation): readonly EnvoyFilterPatch[];
}

/** A resource a view update adds, changes (`resource` set) or removes (`resource` undefined). */
export interface ViewChange {
  readonly typeUrl: string;
  readonly name: string;
  readonly resource: Any | undefined;
}

/** What a view would change to serve a new config; nothing changes until `commit()`. */
export interface ViewUpdate {
  readonly changes: readonly ViewChange[];
  commit(): void;
}

/** type URL → name → resource, or undefined for a name removed. */
type Pending = Map<string, Map<string, Any | undefined>>;

/** Records, as pending, that `before` (what was generated) is replaced by `after`. */
function replaceAll(pending: Pending, before: readonly ServedResource[], after: readonly ServedResource[]): void {
  for (const { typeUrl, name } of before) putResource<Any | undefined>(pending, typeUrl, name, undefined);
  for (const { typeUrl, name, resource } of after) putResource<Any | undefined>(pending, typeUrl, name, resource);
}

/** As replaceAll, leaving out the entries both hold (the same objects: kept in a cache, they did not change). */
function replaceChanged(pending: Pending, before: readonly ServedResource[], after: readonly ServedResource[]): void {
  const kept = new Set(after);
  const old = new Set(before);
  replaceAll(
    pending,
    before.filter((each) => !kept.has(each)),
    after.filter((each) => !old.has(each)),
  );
}

/** Whether two resources are the same: the same object, or the same type and bytes. */
export function sameResource(a: Any | undefined, b: Any | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.typeUrl !== b.typeUrl || a.value.length !== b.value.length) return false;
  return Buffer.from(a.value.buffer, a.value.byteOffset, a.value.byteLength).equals(b.value);
}

function applyPending(into: PackedResources, pending: Pending): void {
  for (const [typeUrl, byName] of pending) for (const [name, resource] of byName) setOrDelete(into, typeUrl, name, resource);
}

/** Sets `name` under `typeUrl` to `resource`; undefined deletes it, and the type's map once it is empty. */
function setOrDelete(into: PackedResources, typeUrl: string, name: string, resource: Any | undefined): void {
  if (resource !== undefined) return putResource(into, typeUrl, name, resource);
  const byName = into.get(typeUrl);
  byName?.delete(name);
  if (byName?.size === 0) into.delete(typeUrl);
}

/** Whether a service's part is built from any of `hosts`: its own, or one its VirtualService routes to. */
function dependsOn(t: ViewTranslation, service: MeshService, hosts: ReadonlySet<string>): boolean {
  if (hosts.size === 0) return false;
  if (hosts.has(service.host)) return true;
  const vs = t.catalog.virtualService(service.host);
  return vs !== undefined && destinationHosts(vs).some((host) => hosts.has(host));
}

/**
 * What one view serves, kept from one config to the next so that an update costs what changed: each service's
 * part is compared by identity with the part served (parts are cached by what they are built from), and only the
 * resources of the parts that changed, of the shared resources and of the raw resources are compared and replaced.
 * Raw `@type` resources replace generated ones of the same type and name.
 *
 * The view's EnvoyFilter patches are applied where a generated listener is compared with the one served (cached by
 * the listener and the patches), before the raw overlay; a change of the view's patches compares every listener
 * again, as a changed part does its own resources.
 */
export class ViewState<Part> {
  private parts = new Map<MeshService, Part>();
  private translated: MeshCatalog | undefined;
  private shared: readonly ServedResource[] = [];
  private raw: Pending = new Map();
  private patches: readonly EnvoyFilterPatch[] = [];
  private policies: readonly PeerAuthentication[] = [];
  /** What the parts and the shared resources give. */
  private readonly generated: PackedResources = new Map();
  /** What is served: the generated resources, with the raw ones over them. */
  private readonly served: PackedResources = new Map();

  constructor(private readonly kind: ViewKind<Part>) {}

  /** What the view serves, by type and name. */
  get resources(): PackedResources {
    return this.served;
  }

  /** The catalog of the config the view serves (undefined before the first update), from which the next may be derived. */
  get catalog(): MeshCatalog | undefined {
    return this.translated;
  }

  /** What serving `t`'s config would change. */
  update(t: ViewTranslation): ViewUpdate {
    const pending: Pending = new Map();
    const parts = new Map<MeshService, Part>();
    // A catalog derived from this view's tells which hosts changed: a service whose own host and destinations' hosts
    // did not keeps its part without asking the cache.
    const changedHosts = t.catalog.changes?.previous === this.translated ? t.catalog.changes?.hosts : undefined;
    for (const service of t.catalog.services) {
      const before = this.parts.get(service);
      const reused = before !== undefined && changedHosts !== undefined && !dependsOn(t, service, changedHosts);
      parts.set(service, reused ? before : this.kind.part(t, service));
    }
    // The resources of parts that changed or went are removed first, then those of new parts added (a service whose
    // part is new may serve names another served before).
    let changed = this.parts.size === 0;
    for (const [service, before] of this.parts) {
      if (parts.get(service) === before) continue;
      changed = true;
      replaceAll(pending, this.kind.resources(before), []);
    }
    for (const [service, part] of parts) {
      if (this.parts.get(service) === part) continue;
      changed = true;
      replaceAll(pending, [], this.kind.resources(part));
    }
    // The shared resources (the inbound listeners among them) depend on the parts and on the PeerAuthentications.
    const policies = t.config.peerAuthentications;
    const shared = changed || !sameItems(policies, this.policies) ? this.kind.shared(t, [...parts.values()]) : this.shared;
    if (shared !== this.shared) replaceChanged(pending, this.shared, shared);
    const raw: Pending = new Map();
    for (const { typeUrl, name, resource } of t.config.raw) putResource<Any | undefined>(raw, typeUrl, name, resource);
    const patches = this.kind.patches?.(t) ?? [];
    const changes: ViewChange[] = [];
    const compare = (typeUrl: string, name: string, generated: Any | undefined) => {
      // A raw resource replaces the generated one: that one is not patched, to be thrown away.
      const resource =
        raw.get(typeUrl)?.get(name) ?? (typeUrl === listenerTypeUrl && generated !== undefined ? patchedListener(t.cache, generated, patches) : generated);
      // A resource built again with the same bytes is no change: the one served stays (and keeps its checks).
      if (!sameResource(resource, this.served.get(typeUrl)?.get(name))) changes.push({ typeUrl, name, resource });
    };
    for (const [typeUrl, byName] of pending) for (const [name, generated] of byName) compare(typeUrl, name, generated);
    // Other patches: every listener no part changed is patched again (those raw now or before: below).
    if (!sameItems(patches, this.patches)) {
      const skip = [pending, raw, this.raw].map((each) => each.get(listenerTypeUrl));
      for (const [name, generated] of this.generated.get(listenerTypeUrl) ?? []) if (!skip.some((names) => names?.has(name) === true)) compare(listenerTypeUrl, name, generated);
    }
    // Raw resources (few) over names no part changed: those now raw, and those raw before.
    for (const packed of [raw, this.raw]) {
      for (const [typeUrl, byName] of packed) {
        for (const name of byName.keys()) {
          if (pending.get(typeUrl)?.has(name) === true || (packed === this.raw && raw.get(typeUrl)?.has(name) === true)) continue;
          compare(typeUrl, name, this.generated.get(typeUrl)?.get(name));
        }
      }
    }
    return {
      changes,
      commit: () => {
        applyPending(this.generated, pending);
        for (const { typeUrl, name, resource } of changes) setOrDelete(this.served, typeUrl, name, resource);
        this.parts = parts;
        this.translated = t.catalog;
        this.shared = shared;
        this.raw = raw;
        this.patches = patches;
        this.policies = policies;
      },
    };
  }
}

/** What a view of `kind` serves for translation `t` on its own (no earlier config), packed. */
export function translateView<Part>(kind: ViewKind<Part>, t: ViewTranslation): PackedResources {
  const state = new ViewState(kind);
  state.update(t).commit();
  return state.resources;
}
