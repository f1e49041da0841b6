import type { Client, ClientOptions } from "@grpc/grpc-js";

/** The libraries the bench compares; a scenario is run for each subject in the run. */
export type SubjectName = "rxds" | "grpc-js-xds";

/** Stops a watch. */
export type Unwatch = () => void;

/** What a target's complete snapshot holds: listener → route configuration → clusters → endpoints. */
export interface TargetSnapshot {
  /** How many clusters the route configuration names (each with its endpoints present). */
  readonly clusters: number;
  /** How many endpoints those clusters have together. */
  readonly endpoints: number;
}

/**
 * One xDS client library as the scenarios drive it. Each method is what an application (or a resolver)
 * does with the library; every callback runs in the turn the library delivers the value, so the time it
 * is called is the time the value became available to the caller.
 */
export interface XdsSubject {
  /** The library's name in the table. */
  readonly name: SubjectName;
  /** The modules whose import the import-cost scenario times (what a gRPC application imports), resolved from the bench's own folder. */
  readonly moduleSpecifiers: readonly string[];
  /** The module whose `register()` makes grpc-js clients of `xds:///` targets use the library (the first-RPC scenario). */
  readonly registerModule: string;
  /** A new client of the control plane at `address` (`host:port`); it connects on its first watch. */
  createClient(address: string): XdsSubjectClient;
}

/** A client made by an XdsSubject. */
export interface XdsSubjectClient {
  /**
   * Follows the listener `listenerName` → its route configuration → every cluster it routes to → their
   * endpoints, as a resolver does, and calls `onSnapshot` whenever all of them are present.
   */
  watchTarget(listenerName: string, onSnapshot: (snapshot: TargetSnapshot) => void): Unwatch;
  /** Watches the cluster `name`, then its EDS assignment; calls `onEndpoints` with each assignment's endpoint count. */
  watchCluster(name: string, onEndpoints: (endpointCount: number) => void): Unwatch;
  /**
   * Watches one EDS assignment by service name; calls `onAssignment` with each value the library delivers
   * (the caller holds it, for heap measurements) and its endpoint count.
   */
  watchEndpoints(serviceName: string, onAssignment: (endpointCount: number, value: unknown) => void): Unwatch;
  /**
   * Resolves `target` (`host:port`, served as listener `host:port` → route configuration
   * `outbound|port||host`) as the library's per-call router does, and resolves once the library can route
   * with all `clusters` clusters known (each with its endpoints). The router lives until `close()`.
   */
  callRouter(target: string, clusters: number): Promise<CallRouter>;
  /**
   * A grpc-js client (made by `make` with the address and ClientOptions the library's users pass) whose calls
   * go to `target` (`host:port`, served as for callRouter) as the library routes them. The caller may close
   * it; close() closes it too, with whatever the library opened for it.
   */
  grpcClient<C extends Client>(target: string, make: (address: string, options: ClientOptions) => C): C;
  /** Stops every watch and releases every handle the client holds. */
  close(): Promise<void>;
}

/** One call to route: its gRPC path and its request headers (names lower-case, one value each). */
export interface CallSpec {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A library's per-call routing decision, as the per-call routing scenario times it. */
export interface CallRouter {
  /**
   * Turns `calls` into the library's own request objects, once, outside any timing, and returns a function
   * that routes call `i` of them and returns the name of the cluster the library chose ("" for none).
   */
  prepare(calls: readonly CallSpec[]): (i: number) => string;
}
