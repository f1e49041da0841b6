// Istio-shaped fixtures: the kitex-contrib/xds README's two VirtualServices on a loopback ServiceEntry,
// translated as istiod would and served by a control plane.
import type { ControlPlane } from "rxds/server";
import { parseMeshConfig } from "../../src/server/config/mesh-config.js";
import { translateForGrpc } from "../../src/server/config/grpc-translation.js";
import { translateForSidecar } from "../../src/server/config/sidecar-translation.js";
import { packResource, type XdsResources } from "../../src/server/config/xds-resources.js";

/** The FQDN of the kitex README's service. */
export const kitexHost = "kitex-server.default.svc.cluster.local";

/** The kitex README's service with a v1 and a v2 instance on loopback, and both README VirtualServices (plus a default split). */
export function kitexMesh(v1Port: number, v2Port: number, split: [number, number] = [50, 50]): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: kitex-server, namespace: default}
spec:
  hosts: [kitex-server]
  addresses: [127.0.0.1]
  ports: [{number: 8888, name: grpc, protocol: GRPC}]
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, ports: {grpc: ${v1Port}}, labels: {version: v1}}
  - {address: 127.0.0.1, ports: {grpc: ${v2Port}}, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: kitex-server, namespace: default}
spec:
  host: kitex-server
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: kitex-server, namespace: default}
spec:
  hosts: [kitex-server]
  http:
  - name: route-based-on-tags
    match: [{headers: {stage: {exact: canary}}}]
    route: [{destination: {host: kitex-server, subset: v1}, weight: 100}]
    timeout: 0.5s
  - name: route-based-on-path
    match: [{uri: {exact: /proxyless.GreetService/SayHello}}]
    route: [{destination: {host: kitex-server, subset: v2}, weight: 100}]
    timeout: 0.5s
  - name: default
    route:
    - {destination: {host: kitex-server, subset: v1}, weight: ${split[0]}}
    - {destination: {host: kitex-server, subset: v2}, weight: ${split[1]}}
`;
}

/**
 * One STRICT workload `greeter.default` (port 8080, instance on 127.0.0.1:`port` with service account
 * `serviceAccount`) and a DestinationRule asking its clients for ISTIO_MUTUAL.
 */
export function strictMesh(port: number, serviceAccount: string): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: greeter, namespace: default}
spec:
  hosts: [greeter]
  ports: [{number: 8080, name: grpc, protocol: GRPC}]
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, ports: {grpc: ${port}}, serviceAccount: ${serviceAccount}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: greeter, namespace: default}
spec:
  host: greeter
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
`;
}

/**
 * Serves `yaml` translated for `mode` on the control plane, replacing what it served before; a sidecar view for a client
 * in namespace default on 127.0.0.1 (thrift-calls.ts's `sidecarNode`), which the EnvoyFilters of default apply to.
 */
export function serveMesh(cp: ControlPlane, yaml: string, mode: "grpc" | "sidecar"): XdsResources {
  const config = parseMeshConfig(yaml, "mesh.yaml");
  const resources = mode === "grpc" ? translateForGrpc(config) : translateForSidecar(config, { clientNamespace: "default", clientAddress: "127.0.0.1" });
  for (const [typeUrl, byName] of resources) cp.replace(typeUrl, new Map([...byName].map(([name, message]) => [name, packResource(message)])));
  return resources;
}
