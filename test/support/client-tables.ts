// What an XdsClient holds per target and per watch, read from its private tables for the leak checks.
import type { XdsClient } from "rxds";

/** The sizes of the client's per-target snapshot, router and balancing caches, its watch observables and its subscribed watches. */
export function clientTables(xds: XdsClient): Record<string, number> {
  const inner = xds as unknown as Record<string, Map<unknown, unknown>> & { watched: { subscriptions: Map<unknown, { watches: Map<unknown, unknown> }> } };
  let watches = 0;
  for (const subscription of inner.watched.subscriptions.values()) watches += subscription.watches.size;
  return { snapshots: inner["snapshots"]!.size, routers: inner["routers"]!.size, balancers: inner["balancers"]!.size, observables: inner["observables"]!.size, watches };
}
