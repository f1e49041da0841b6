import { distinctUntilChanged, EMPTY, filter, map, switchMap, type Observable } from "rxjs";
import { XdsClient } from "rxds";
import type { ClusterModel } from "../../src/resources/cluster.js";
import type { EndpointsModel } from "../../src/resources/endpoints.js";
import type { TargetSnapshot, Unwatch, XdsSubject, XdsSubjectClient } from "./xds-subject.js";

/** rxds, driven through its public XdsClient. */
export const rxdsSubject: XdsSubject = {
  name: "rxds",
  moduleSpecifier: "rxds",
  createClient: (address) => new RxdsSubjectClient(address),
};

class RxdsSubjectClient implements XdsSubjectClient {
  private readonly client: XdsClient;

  constructor(address: string) {
    this.client = new XdsClient({
      servers: [{ uri: address }],
      node: { id: "sidecar~127.0.0.1~bench.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
    });
  }

  watchTarget(listenerName: string, onSnapshot: (snapshot: TargetSnapshot) => void): Unwatch {
    const subscription = this.client.resolve(listenerName).subscribe((snapshot) => {
      let endpoints = 0;
      for (const cluster of snapshot.clusters.values()) endpoints += cluster.endpoints?.endpointCount ?? 0;
      onSnapshot({ clusters: snapshot.clusters.size, endpoints });
    });
    return () => subscription.unsubscribe();
  }

  watchCluster(name: string, onEndpoints: (endpointCount: number) => void): Unwatch {
    const subscription = this.endpointCounts(name).subscribe(onEndpoints);
    return () => subscription.unsubscribe();
  }

  watchEndpoints(serviceName: string, onAssignment: (endpointCount: number, value: unknown) => void): Unwatch {
    const subscription = this.client.endpoints(serviceName).subscribe((update) => {
      if (update.resource) onAssignment(endpointCountOf(update.resource), update.resource);
    });
    return () => subscription.unsubscribe();
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /** The endpoint count of cluster `name`'s assignment, each time it (or the cluster's EDS name) changes. */
  private endpointCounts(name: string): Observable<number> {
    return this.client.cluster(name).pipe(
      map((update) => (update.resource ? edsNameOf(update.resource) : undefined)),
      distinctUntilChanged(),
      switchMap((serviceName) => (serviceName === undefined ? EMPTY : this.client.endpoints(serviceName))),
      filter((update) => update.resource !== undefined),
      map((update) => endpointCountOf(update.resource!)),
    );
  }
}

/** The EDS service name of an EDS cluster; undefined for other discovery types. */
function edsNameOf(cluster: ClusterModel): string | undefined {
  return cluster.discovery.kind === "EDS" ? cluster.discovery.serviceName : undefined;
}

function endpointCountOf(assignment: EndpointsModel): number {
  return assignment.endpointCount;
}
