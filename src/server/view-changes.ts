import type { Any } from "@bufbuild/protobuf/wkt";
import type { ViewChange } from "./config/view-state.js";
import { clusterTypeUrl, endpointsTypeUrl, listenerTypeUrl, nameTableTypeUrl, routeConfigurationTypeUrl, shortTypeName } from "./config/xds-resources.js";
import type { ControlPlane } from "./control-plane.js";

/** The order types are updated in, so a client never sees a name before what it points to exists. */
const typeOrder = [clusterTypeUrl, endpointsTypeUrl, listenerTypeUrl, routeConfigurationTypeUrl, nameTableTypeUrl];

/**
 * Serves a view's changes, type by type in make-before-break order: within a type, what is added or changed before
 * what is removed.
 */
export function applyChanges(plane: ControlPlane, view: string, changes: readonly ViewChange[]): void {
  const byType = new Map<string, { set: Map<string, Any>; removed: string[] }>();
  for (const { typeUrl, name, resource } of changes) {
    let type = byType.get(typeUrl);
    if (type === undefined) {
      type = { set: new Map(), removed: [] };
      byType.set(typeUrl, type);
    }
    if (resource === undefined) type.removed.push(name);
    else type.set.set(name, resource);
  }
  for (const typeUrl of new Set([...typeOrder, ...byType.keys()])) {
    const type = byType.get(typeUrl);
    if (type === undefined) continue;
    if (type.set.size > 0) plane.set(typeUrl, type.set, view);
    if (type.removed.length > 0) plane.remove(typeUrl, type.removed, view);
  }
}

/** `LDS a (grpc, grpc/default), RDS b (sidecar)`: each changed resource once, with the views it changed in. */
export function describeChanges(updates: readonly { readonly view: string; readonly changes: readonly ViewChange[] }[]): string {
  const changed = new Map<string, string[]>();
  for (const { view, changes } of updates) {
    for (const { typeUrl, name, resource } of changes) {
      const described = `${shortTypeName(typeUrl)} ${name === "" ? '""' : name}${resource === undefined ? " (removed)" : ""}`;
      const views = changed.get(described) ?? [];
      views.push(view);
      changed.set(described, views);
    }
  }
  const list = [...changed].map(([resource, views]) => `${resource} (${views.join(", ")})`);
  const shown = list.length > 8 ? `${list.slice(0, 8).join(", ")} …` : list.join(", ");
  return list.length === 0 ? "no resource changed" : `${list.length} changed: ${shown}`;
}
