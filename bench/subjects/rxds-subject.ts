import { distinctUntilChanged, EMPTY, filter, firstValueFrom, map, switchMap, type Observable } from "rxjs";
import type { Client, ClientOptions } from "@grpc/grpc-js";
import { XdsClient, XdsError } from "rxds";
import { xdsClientOptions } from "rxds/grpc";
import type { ClusterModel } from "../../src/resources/cluster.js";
import type { EndpointsModel } from "../../src/resources/endpoints.js";
import type { RouteRequest } from "../../src/resources/match/route-match.js";
import type { CallRouter, CallSpec, TargetSnapshot, Unwatch, XdsSubject, XdsSubjectClient } from "./xds-subject.js";

/** rxds, driven through its public XdsClient. */
export const rxdsSubject: XdsSubject = {
  name: "rxds",
  moduleSpecifiers: ["rxds", "rxds/grpc"],
  registerModule: "rxds/grpc",
  createClient: (address) => new RxdsSubjectClient(address),
};

class RxdsSubjectClient implements XdsSubjectClient {
  private readonly client: XdsClient;
  private readonly grpcClients: Client[] = [];

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

  async callRouter(target: string, clusters: number): Promise<CallRouter> {
    const router = await firstValueFrom(
      this.client.router(target).pipe(
        filter(
          (r) =>
            r.snapshot.clusters.size === clusters &&
            [...r.snapshot.clusters.values()].every((cluster) => (cluster.endpoints?.endpointCount ?? 0) > 0),
        ),
      ),
    );
    return {
      prepare(calls: readonly CallSpec[]): (i: number) => string {
        const requests: RouteRequest[] = calls.map((call) => ({ path: call.path, headers: { ...call.headers } }));
        return (i) => {
          const decision = router.route(requests[i]!);
          if (decision instanceof XdsError) return "";
          // As the integrations do when the call ends: the endpoint is released (in-flight counts, outlier detection).
          decision.done(0);
          return decision.cluster;
        };
      },
    };
  }

  grpcClient<C extends Client>(target: string, make: (address: string, options: ClientOptions) => C): C {
    // As the README tells users: the target as the client's address, xdsClientOptions(xds) as its options.
    const client = make(target, xdsClientOptions(this.client));
    this.grpcClients.push(client);
    return client;
  }

  close(): Promise<void> {
    for (const client of this.grpcClients) client.close();
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
