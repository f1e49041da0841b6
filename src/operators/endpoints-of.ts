// endpointsOf(xds, target): the flat, de-duplicated set of a target's usable endpoints, across all its clusters
// and priorities, for users who balance themselves.

import type { Observable } from "rxjs";
import { defer, filter, map } from "../rx.js";
import { EndpointSet, hasChanges, type MeshEndpoint } from "./endpoint-set.js";
import type { SnapshotSource } from "./readiness.js";

/**
 * The usable (HEALTHY or UNKNOWN) endpoints of `target`'s clusters, de-duplicated by address, in the order they
 * first appeared: emitted for the first snapshot (possibly empty) and whenever the set, or an endpoint's weight,
 * locality, priority or cluster, changes. Never errors: absent clusters and resource errors hold no endpoints.
 * Completes when the client closes. Cold; the client's snapshot stream of the target is shared, and the last
 * subscriber to leave drops its watches. Throws an XdsError at once on a malformed target.
 */
export function endpointsOf(xds: SnapshotSource, target: string): Observable<readonly MeshEndpoint[]> {
  const snapshots = xds.resolve(target);
  return defer(() => {
    const set = new EndpointSet((endpoint) => endpoint.usable);
    let first = true;
    return snapshots.pipe(
      map((snapshot) => set.apply(snapshot)),
      filter((changes) => {
        const emit = first || hasChanges(changes);
        first = false;
        return emit;
      }),
      map(() => Object.freeze(set.values())),
    );
  });
}
