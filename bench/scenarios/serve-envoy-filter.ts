import { writeFile } from "node:fs/promises";
import { XdsClient } from "rxds";
import { Arrival } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { meshYaml, withServedMesh } from "../support/served-mesh.js";
import { percentile } from "../support/stats.js";

/** Parameters of the EnvoyFilter scenario. */
export interface ServeEnvoyFilterParams {
  readonly services: number;
  readonly edits: number;
}

/**
 * The server the client is (a service whose instance is on 10.0.0.1, port 9000) and kitex-contrib/xds's local rate limit
 * as an EnvoyFilter for the workloads of namespace default, with `maxTokens`.
 */
function serverAndLimit(maxTokens: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: bench-server, namespace: default}
spec:
  hosts: [bench-server]
  ports: [{number: 9000, name: grpc, protocol: GRPC}]
  endpoints: [{address: 10.0.0.1, labels: {app: bench-server}}]
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: ratelimit, namespace: default}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND, listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          stat_prefix: http_local_rate_limiter
          token_bucket: {max_tokens: ${maxTokens}, tokens_per_fill: ${maxTokens}, fill_interval: 1s}
`;
}

/** An edit of an EnvoyFilter in a large mesh: from the file write to a sidecar-mode server delivering its patched inbound listener. */
export const serveEnvoyFilter: Scenario<ServeEnvoyFilterParams> = {
  id: "serve-envoy-filter",
  title: "rxds serve: EnvoyFilter edit",
  description:
    "A served mesh of N services, a server among them (a sidecar-mode rxds client on 10.0.0.1, its instance's address) watching its virtualInbound, and kitex's local rate limit as an EnvoyFilter on SIDECAR_INBOUND; the EnvoyFilter's max_tokens is edited again and again: time from the write to the client delivering the re-patched listener (file watch, debounce of 5 ms, reload, patch, push), p50 over the edits.",
  metrics: [{ key: "p50Ms", label: "file write → client p50", unit: "ms" }],
  cases: (mode) => {
    const skip = { "grpc-js-xds": "EnvoyFilter reaches sidecar-mode clients only (istiod's gRPC generator ignores it), and grpc-js-xds speaks only GENERATOR=grpc" };
    return mode === "quick"
      ? [{ label: "1k services, 5 edits", params: { services: 1_000, edits: 5 }, skip }]
      : [
          { label: "1k services, 10 edits", params: { services: 1_000, edits: 10 }, skip },
          { label: "10k services, 6 edits", params: { services: 10_000, edits: 6 }, skip },
        ];
  },
  runs: (mode) => (mode === "quick" ? 1 : 2),
  measure: (_subject, { services, edits }) => withServedMesh(services, (server, file) => editsReach(server.address, file, services, edits), serverAndLimit(1)),
};

/** The write-to-delivery latencies of `edits` edits of the EnvoyFilter, as the server's sidecar-mode client of `address` gets them. */
async function editsReach(address: string, file: string, services: number, edits: number): Promise<{ p50Ms: number }> {
  const xds = new XdsClient({ servers: [{ uri: address }], node: { id: "sidecar~10.0.0.1~bench-server.default~default.svc.cluster.local", metadata: {} } });
  const arrival = new Arrival();
  const versions = new Set<string>();
  const subscription = xds.listener("virtualInbound").subscribe((update) => {
    if (update.resource === undefined) return;
    versions.add(update.version);
    arrival.notify();
  });
  try {
    await arrival.until(() => versions.size === 1, "the first virtualInbound");
    const latencies: number[] = [];
    for (let k = 1; k <= edits; k++) {
      const start = performance.now();
      await writeFile(file, `${meshYaml(services)}---\n${serverAndLimit(k + 1)}`);
      const end = await arrival.until(() => versions.size === k + 1, `edit ${k}`);
      latencies.push(end - start);
    }
    return { p50Ms: percentile(latencies, 50) };
  } finally {
    subscription.unsubscribe();
    await xds.close();
  }
}
