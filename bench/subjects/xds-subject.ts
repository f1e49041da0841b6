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
  /** The module whose import the import-cost scenario times, resolved from the bench's own folder. */
  readonly moduleSpecifier: string;
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
  /** Stops every watch and releases every handle the client holds. */
  close(): Promise<void>;
}
