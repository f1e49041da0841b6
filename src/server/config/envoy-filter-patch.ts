/**
 * Applies EnvoyFilter patches to the listeners of a sidecar view, as istiod's `envoyfilter.ApplyListenerPatches` does
 * (pilot/pkg/networking/core/envoyfilter/listener_patch.go): per filter chain (and the default chain) that the patch's
 * `match.listener` selects, first the NETWORK_FILTER patches in order, then in each HttpConnectionManager (a filter
 * named `envoy.filters.network.http_connection_manager`) the HTTP_FILTER patches in order.
 *
 * - `context`: `SIDECAR_INBOUND` patches apply to inbound listeners (`virtualInbound`), `SIDECAR_OUTBOUND` to the others.
 * - `match.listener`: `name`; `portNumber` (the listener's port; for `virtualInbound`, its chains' destination port);
 *   `filterChain`: `name`, `sni`, `transportProtocol`, `applicationProtocols` (all of them), `destinationPort`; the
 *   filter by `filter.name`, the HTTP filter by `filter.subFilter.name`.
 * - ADD appends; INSERT_FIRST prepends; INSERT_BEFORE / INSERT_AFTER insert next to the first filter matched (without a
 *   filter to match: first / last); REPLACE replaces the first filter matched and REMOVE removes every one (both need a
 *   filter to match).
 */
import { clone, fromBinary } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { TrafficDirection } from "../../../gen/envoy/config/core/v3/base_pb.js";
import { FilterSchema, type Filter, type FilterChain } from "../../../gen/envoy/config/listener/v3/listener_components_pb.js";
import { ListenerSchema, type Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import {
  HttpConnectionManagerSchema,
  HttpFilterSchema,
  type HttpFilter,
} from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { IdentityCache } from "./identity-cache.js";
import { rootNamespace } from "./istio-names.js";
import type { EnvoyFilter, EnvoyFilterOperation, EnvoyFilterPatch } from "./mesh-config-model.js";
import { packMessage } from "./message-encoding.js";
import { selectorMatches } from "./workload-selection.js";

/** istiod's name for the inbound listener, whose filter chains are matched by destination port. */
export const virtualInboundName = "virtualInbound";

const connectionManagerName = "envoy.filters.network.http_connection_manager";
const connectionManagerType = `type.googleapis.com/${HttpConnectionManagerSchema.typeName}`;

/**
 * The patches that apply to the workloads of `namespace` (undefined: a view whose namespace is not known, which gets
 * the root namespace's only) whose labels are any of `labels`: the EnvoyFilters of the root namespace and of
 * `namespace` whose workloadSelector (if any) those labels include, by priority, the root namespace's first, then in
 * the order of the config (istiod orders by creation time, which a file does not have).
 */
export function viewPatches(filters: readonly EnvoyFilter[], namespace: string | undefined, labels: readonly Readonly<Record<string, string>>[]): readonly EnvoyFilterPatch[] {
  const applying = filters.filter((filter) => {
    if (filter.patches.length === 0 || (filter.namespace !== rootNamespace && filter.namespace !== namespace)) return false;
    const selector = filter.workloadSelector;
    return selector === undefined || labels.some((each) => selectorMatches(each, selector));
  });
  const order = (filter: EnvoyFilter) => (filter.namespace === rootNamespace ? 0 : 1);
  applying.sort((a, b) => a.priority - b.priority || order(a) - order(b));
  return applying.flatMap((filter) => filter.patches);
}

/**
 * `listener` (packed) with `patches` applied, the same Any when none changes it; kept in `cache` by the listener and
 * the patches, so that a listener is patched again only when it or the view's patches change.
 */
export function patchedListener(cache: IdentityCache, listener: Any, patches: readonly EnvoyFilterPatch[]): Any {
  if (patches.length === 0) return listener;
  return cache.get(listener, "envoy filters", patches, () => {
    const message = fromBinary(ListenerSchema, listener.value);
    return patchListener(message, patches) ? packMessage(ListenerSchema, message) : listener;
  });
}

/** Applies `patches` to `listener` in place; whether any changed it. */
export function patchListener(listener: Listener, patches: readonly EnvoyFilterPatch[]): boolean {
  const context = listener.trafficDirection === TrafficDirection.INBOUND || listener.name === virtualInboundName ? "SIDECAR_INBOUND" : "SIDECAR_OUTBOUND";
  const applying = patches.filter((patch) => (patch.context === "ANY" || patch.context === context) && listenerMatches(listener, patch));
  if (applying.length === 0) return false;
  let changed = false;
  for (const chain of [...listener.filterChains, ...(listener.defaultFilterChain === undefined ? [] : [listener.defaultFilterChain])]) {
    if (chain.filters.length > 0 && patchChain(listener, chain, applying)) changed = true;
  }
  return changed;
}

function listenerMatches(listener: Listener, patch: EnvoyFilterPatch): boolean {
  const match = patch.listener;
  if (match === undefined) return true;
  if (match.name !== undefined && match.name !== listener.name) return false;
  // The virtual listeners' port is matched against their filter chains' destination port instead (chainMatches).
  if (match.portNumber === undefined || listener.name === virtualInboundName) return true;
  const address = listener.address?.address;
  return address?.case === "socketAddress" && address.value.portSpecifier.case === "portValue" && address.value.portSpecifier.value === match.portNumber;
}

function chainMatches(listener: Listener, chain: FilterChain, patch: EnvoyFilterPatch): boolean {
  const match = patch.listener;
  const chainMatch = chain.filterChainMatch;
  if (match?.portNumber !== undefined && listener.name === virtualInboundName && chainMatch?.destinationPort !== match.portNumber) return false;
  const wanted = match?.filterChain;
  if (wanted === undefined) return true;
  if (wanted.name !== undefined && wanted.name !== chain.name) return false;
  if (wanted.sni !== undefined && !(chainMatch?.serverNames ?? []).includes(wanted.sni)) return false;
  if (wanted.transportProtocol !== undefined && chainMatch?.transportProtocol !== wanted.transportProtocol) return false;
  if (wanted.applicationProtocols !== undefined && !wanted.applicationProtocols.split(",").every((each) => (chainMatch?.applicationProtocols ?? []).includes(each))) return false;
  return wanted.destinationPort === undefined || chainMatch?.destinationPort === wanted.destinationPort;
}

/** Applies the patches to one filter chain: network filters, then the HTTP filters of its connection managers. */
function patchChain(listener: Listener, chain: FilterChain, patches: readonly EnvoyFilterPatch[]): boolean {
  const matching = patches.filter((patch) => chainMatches(listener, chain, patch));
  const filters = patchFilters(chain.filters, matching, "NETWORK_FILTER", (patch) => patch.listener?.filterChain?.filter?.name, (value) => clone(FilterSchema, value as Filter));
  let changed = filters !== chain.filters;
  chain.filters = filters;
  for (const filter of chain.filters) {
    if (filter.name !== connectionManagerName || filter.configType.case !== "typedConfig" || filter.configType.value.typeUrl !== connectionManagerType) continue;
    const http = matching.filter((patch) => patch.applyTo === "HTTP_FILTER" && (patch.listener?.filterChain?.filter?.name ?? filter.name) === filter.name);
    if (http.length === 0) continue;
    const manager = fromBinary(HttpConnectionManagerSchema, filter.configType.value.value);
    const httpFilters = patchFilters(manager.httpFilters, http, "HTTP_FILTER", (patch) => patch.listener?.filterChain?.filter?.subFilter, (value) => clone(HttpFilterSchema, value as HttpFilter));
    if (httpFilters === manager.httpFilters) continue;
    manager.httpFilters = httpFilters;
    filter.configType = { case: "typedConfig", value: packMessage(HttpConnectionManagerSchema, manager) };
    changed = true;
  }
  return changed;
}

/**
 * `list` after the `applyTo` patches among `patches`, in order, each matching filters by the name `nameOf` gives (none:
 * no filter to match) and inserting a copy of its value; `list` itself when none changes it.
 */
function patchFilters<T extends { name: string }>(
  list: T[],
  patches: readonly EnvoyFilterPatch[],
  applyTo: EnvoyFilterPatch["applyTo"],
  nameOf: (patch: EnvoyFilterPatch) => string | undefined,
  copy: (value: EnvoyFilterPatch["value"]) => T,
): T[] {
  let out = list;
  for (const patch of patches) {
    if (patch.applyTo !== applyTo) continue;
    const name = nameOf(patch);
    out = applyOperation(out, patch.operation, name === undefined ? undefined : (filter) => filter.name === name, () => copy(patch.value));
  }
  return out;
}

/**
 * One operation on a filter list, as istiod's: `matches` is the patch's filter match (undefined: none given); returns
 * `list` itself when nothing changes.
 */
export function applyOperation<T>(list: T[], operation: EnvoyFilterOperation, matches: ((item: T) => boolean) | undefined, value: () => T): T[] {
  const at = matches === undefined ? -1 : list.findIndex(matches);
  switch (operation) {
    case "ADD":
      return [...list, value()];
    case "INSERT_FIRST":
      return [value(), ...list];
    case "INSERT_BEFORE":
      if (matches === undefined) return [value(), ...list];
      return at < 0 ? list : [...list.slice(0, at), value(), ...list.slice(at)];
    case "INSERT_AFTER":
      if (matches === undefined) return [...list, value()];
      return at < 0 ? list : [...list.slice(0, at + 1), value(), ...list.slice(at + 1)];
    case "REPLACE":
      return at < 0 ? list : [...list.slice(0, at), value(), ...list.slice(at + 1)];
    case "REMOVE": {
      if (matches === undefined || at < 0) return list;
      return list.filter((item) => !matches(item));
    }
  }
}
