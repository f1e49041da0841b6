// The Thrift half of kitex-contrib/xds's README example in the form kitex users write it, for rxds serve to translate:
// the service on VIP 10.96.73.130 port 8888 (TCP: its sidecar listener is `10.96.73.130_8888`, found through the NDS
// name table; nothing dials it), subsets v1 and v2 on loopback backends, and kitex-examples' EnvoyFilter replacing
// that listener's tcp_proxy with a ThriftProxy whose inline routes send `stage: canary` to v1, method SayHello to v2,
// and split the rest by weight.
import { thriftProxyFilter } from "./envoy-filters.js";
import { kitexHost } from "./mesh.js";

/** The kitex service's VIP, as kitex-examples' EnvoyFilter names its listener. */
const kitexVip = "10.96.73.130";

/** The cluster of a subset of the kitex service. */
export function subsetCluster(subset: "v1" | "v2"): string {
  return `outbound|8888|${subset}|${kitexHost}`;
}

/** ThriftProxy routes: the README's header route, method route, and a default split (or none). */
export function thriftRoutes(split: [number, number] | "no default" = [50, 50]): string {
  // ThriftProxy weights must be at least 1: a 0 weight is written as a route to the other subset.
  const rest =
    split === "no default"
      ? ""
      : split[0] === 0 || split[1] === 0
        ? `
        - match: {methodName: ""}
          route: {cluster: "${subsetCluster(split[0] === 0 ? "v2" : "v1")}"}`
        : `
        - match: {methodName: ""}
          route:
            weightedClusters:
              clusters:
              - {name: "${subsetCluster("v1")}", weight: ${split[0]}}
              - {name: "${subsetCluster("v2")}", weight: ${split[1]}}`;
  return `
        - match:
            methodName: ""
            headers: [{name: stage, stringMatch: {exact: canary}}]
          route: {cluster: "${subsetCluster("v1")}"}
        - match: {methodName: SayHello}
          route: {cluster: "${subsetCluster("v2")}"}${rest}`;
}

/** The mesh: a ServiceEntry with the v1 and v2 instances (`v2Port` undefined: no v2 instance), the subsets, and the EnvoyFilter. */
export function thriftMesh(v1Port: number, v2Port: number | undefined, routes = thriftRoutes()): string {
  const v2 = v2Port === undefined ? "" : `\n  - {address: 127.0.0.1, ports: {thrift: ${v2Port}}, labels: {version: v2}}`;
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: kitex-server, namespace: default}
spec:
  hosts: [kitex-server]
  addresses: [${kitexVip}]
  ports: [{number: 8888, name: thrift, protocol: TCP}]
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, ports: {thrift: ${v1Port}}, labels: {version: v1}}${v2}
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
${thriftProxyFilter(`${kitexVip}_8888`, routes, "default", "kitex-server-thrift")}`;
}
