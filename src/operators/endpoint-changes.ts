// endpointChanges(): an endpoints stream, or a target's snapshots, as diffs keyed by address.
//
// Each value of the source (an EDS ResourceUpdate from `xds.endpoints(name)`, or a ServiceSnapshot from
// `xds.resolve(target)`, whose clusters' endpoints are merged and de-duplicated by address) is compared with the
// one before: the diff says which endpoints were added, removed, or changed weight, health, locality, priority or
// cluster. The first value is compared with an empty set. Only diffs with a change are emitted.
//
// Absence and resource errors (gRFC A88) are not errors here: a resource that does not exist, or cannot be had,
// holds no endpoints, so its endpoints are removed. Completion and errors are the source's. Teardown: unsubscribing
// unsubscribes the source (dropping the xDS watch when it held the last subscription). Cold: each subscription
// keeps its own set.

import type { Observable, ObservableInput } from "rxjs";
import { defer, filter, from, map } from "../rx.js";
import { EndpointSet, hasChanges, type EndpointChanges, type EndpointSource } from "./endpoint-set.js";

/** Turns endpoint updates or target snapshots into `{ added, removed, changed, size }` diffs keyed by address. */
export function endpointChanges(): (source: ObservableInput<EndpointSource>) => Observable<EndpointChanges> {
  return (source) =>
    defer(() => {
      const set = new EndpointSet();
      return from(source).pipe(
        map((value) => set.apply(value)),
        filter(hasChanges),
      );
    });
}
