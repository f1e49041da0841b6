// perEndpoint(): keeps one resource per endpoint (a connection, a database or Redis client, a worker) in step with
// endpointChanges(): it creates a resource for each endpoint added, disposes the resource of each endpoint removed,
// tells the resource of an endpoint that changed, and disposes every resource on teardown.
//
// Emits the pool, a new ReadonlyMap from endpoint key (`address:port`) to resource, after each diff. Errors: the
// source's, and an error thrown by `create` or `update` (the stream then ends and every resource is disposed).
// Teardown (unsubscribe, completion or error) disposes every resource, each once; if some `dispose` throws, the
// others are still disposed and the first error is thrown to the unsubscriber. Cold: each subscription keeps its
// own pool.

import type { Observable, ObservableInput } from "rxjs";
import { from, Observable as ObservableClass } from "../rx.js";
import type { EndpointChanges, MeshEndpoint } from "./endpoint-set.js";

/** How perEndpoint makes, updates and disposes the resource of one endpoint. */
export interface PerEndpointOptions<R> {
  /** Makes the resource of an endpoint that was added. */
  create(endpoint: MeshEndpoint): R;
  /** Disposes the resource of an endpoint that was removed, or of every endpoint on teardown. */
  dispose(resource: R, endpoint: MeshEndpoint): void;
  /** Tells the resource of an endpoint whose weight, health, locality, priority or cluster changed. Default: nothing. */
  update?(resource: R, endpoint: MeshEndpoint): void;
}

interface Held<R> {
  readonly resource: R;
  endpoint: MeshEndpoint;
}

/** Keeps one resource per endpoint of an endpointChanges() stream; emits the pool (endpoint key → resource) after each diff. */
export function perEndpoint<R>(options: PerEndpointOptions<R>): (source: ObservableInput<EndpointChanges>) => Observable<ReadonlyMap<string, R>> {
  return (source) =>
    new ObservableClass<ReadonlyMap<string, R>>((subscriber) => {
      const pool = new Map<string, Held<R>>();
      const subscription = from(source).subscribe({
        next: (changes) => {
          try {
            for (const endpoint of changes.removed) {
              const held = pool.get(endpoint.key);
              if (held === undefined) continue;
              pool.delete(endpoint.key);
              options.dispose(held.resource, held.endpoint);
            }
            for (const endpoint of changes.changed) {
              const held = pool.get(endpoint.key);
              if (held === undefined) continue;
              held.endpoint = endpoint;
              options.update?.(held.resource, endpoint);
            }
            for (const endpoint of changes.added) {
              if (!pool.has(endpoint.key)) pool.set(endpoint.key, { resource: options.create(endpoint), endpoint });
            }
          } catch (error) {
            subscriber.error(error);
            return;
          }
          subscriber.next(new Map(Array.from(pool, ([key, held]) => [key, held.resource])));
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        disposeAll(pool, options);
      };
    });
}

/** Disposes and forgets every resource of `pool`; throws the first error any dispose threw, after trying them all. */
function disposeAll<R>(pool: Map<string, Held<R>>, options: PerEndpointOptions<R>): void {
  const held = [...pool.values()];
  pool.clear();
  let failure: { error: unknown } | undefined;
  for (const { resource, endpoint } of held) {
    try {
      options.dispose(resource, endpoint);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure !== undefined) throw failure.error;
}
