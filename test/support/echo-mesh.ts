// The echo service for the balancing tests of `rxds serve`: one gRPC port, its instances on loopback backends.

/** The FQDN of the echo service. */
export const echoHost = "echo.default.svc.cluster.local";

/**
 * The mesh config of the echo service (port 8080, gRPC) with instances on 127.0.0.1 at `ports` (instance i in
 * `localities[i]` when given), and its DestinationRule with `trafficPolicy` (YAML flow text).
 */
export function echoMesh(ports: readonly number[], trafficPolicy: string, localities: readonly string[] = []): string {
  const endpoints = ports.map((port, i) => `  - {address: 127.0.0.1, ports: {grpc: ${port}}${localities[i] === undefined ? "" : `, locality: ${localities[i]}`}}`);
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  ports: [{number: 8080, name: grpc, protocol: GRPC}]
  resolution: STATIC
  endpoints:
${endpoints.join("\n")}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec:
  host: echo
  trafficPolicy: ${trafficPolicy}
`;
}
