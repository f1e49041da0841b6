// The demo: an embedded control plane on loopback and an rxds client watching a service's cluster and
// endpoints through it. The control plane changes the endpoints live; the client sees each change.
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { combineLatest, filter, firstValueFrom, skip } from "rxjs";
import { XdsClient } from "rxds";
import { ControlPlane } from "rxds/server";
import { Cluster_DiscoveryType, ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";

const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
const cluster = "outbound|8888|v1|kitex-server.default.svc.cluster.local";

function assignment(ports: number[]) {
  return anyPack(
    ClusterLoadAssignmentSchema,
    create(ClusterLoadAssignmentSchema, {
      clusterName: cluster,
      endpoints: [
        {
          lbEndpoints: ports.map((port) => ({
            hostIdentifier: {
              case: "endpoint" as const,
              value: { address: { address: { case: "socketAddress" as const, value: { address: "127.0.0.1", portSpecifier: { case: "portValue" as const, value: port } } } } },
            },
          })),
        },
      ],
    }),
  );
}

const plane = new ControlPlane();
const address = await plane.listen({ host: "127.0.0.1", port: 0 });
plane.set(CDS, { [cluster]: anyPack(ClusterSchema, create(ClusterSchema, { name: cluster, clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS } })) });
plane.set(EDS, { [cluster]: assignment([9001, 9002]) });
console.log(`control plane listening on ${address}`);

const xds = new XdsClient({
  servers: [{ uri: address }],
  node: { id: "sidecar~127.0.0.1~demo.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
});
const view$ = combineLatest([xds.cluster(cluster), xds.endpoints(cluster)]);
const printed = view$.subscribe(([c, e]) => {
  const ports = e.resource?.priorities.flat().flatMap((locality) => locality.endpoints.map((ep) => `${ep.address}:${ep.port}`));
  console.log(`cluster ${c.name} v${c.version}: endpoints (v${e.version}) ${ports?.join(", ") ?? "none yet"}`);
});

await firstValueFrom(view$.pipe(filter(([c, e]) => c.resource !== undefined && e.resource !== undefined)));
console.log("control plane: scaling to three endpoints");
const changed = firstValueFrom(xds.endpoints(cluster).pipe(skip(1)));
plane.set(EDS, { [cluster]: assignment([9001, 9002, 9003]) });
await changed;
printed.unsubscribe();
await xds.close();
await plane.close();
console.log("done");
