import type { MessageInitShape } from "@bufbuild/protobuf";
import { credentials } from "@grpc/grpc-js";
import { GreetServiceClient } from "../../examples/greet-service.js";
import type { RetryPolicySchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { drive, type StartCall } from "../support/call-rate.js";
import { withLoopback } from "../support/loopback.js";
import type { BenchMode, Scenario } from "../support/scenario.js";
import { sayHelloOn, startBackend } from "./rpc-overhead.js";
import { CDS, clusterResource, EDS, istioNames, LDS, listenerResource, RDS, routeConfigurationResource, singleEndpointAssignment } from "../support/xds-fixtures.js";

/** Parameters of the retry overhead scenario. */
export interface RetryOverheadParams {
  /** The retry policy of the second target's route. */
  readonly retryPolicy: MessageInitShape<typeof RetryPolicySchema>;
  readonly concurrency: number;
  readonly warmUpMs: number;
  readonly durationMs: number;
}

/** Two targets with one endpoint each, the same backend: the first's route has no retry policy, the second's has one. */
const plain = istioNames("plain.default.svc.cluster.local", 8888);
const retried = istioNames("retried.default.svc.cluster.local", 8888);

/** istiod's default retry policy (`retry.DefaultPolicy`), which every route it writes for a VirtualService without `retries` carries. */
const istioDefault: MessageInitShape<typeof RetryPolicySchema> = {
  retryOn: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
  numRetries: 2,
  hostSelectionRetryMaxAttempts: 5n,
};

/**
 * Calls per second (wall) and per CPU second of the two clients: both warmed up, then timed in 32 short interleaved
 * slices (without, with, with, without, with, without, without, with, four times over), so that bursts of other work
 * on a shared machine fall on both alike.
 */
async function compareWithAndWithout(without: StartCall, withPolicy: StartCall, concurrency: number, warmUpMs: number, durationMs: number) {
  await drive(without, concurrency, warmUpMs);
  await drive(withPolicy, concurrency, warmUpMs);
  const sums = { without: { calls: 0, elapsed: 0, cpu: 0 }, with: { calls: 0, elapsed: 0, cpu: 0 } };
  const order = ["without", "with", "with", "without", "with", "without", "without", "with"] as const;
  for (const which of [...order, ...order, ...order, ...order]) {
    const cpu = process.cpuUsage();
    const { calls, elapsed } = await drive(which === "with" ? withPolicy : without, concurrency, durationMs / 16);
    const used = process.cpuUsage(cpu);
    sums[which].calls += calls;
    sums[which].elapsed += elapsed;
    sums[which].cpu += (used.user + used.system) / 1000;
  }
  const callsPerSecond = (sums.with.calls * 1000) / sums.with.elapsed;
  const plainCallsPerSecond = (sums.without.calls * 1000) / sums.without.elapsed;
  const cpuRatio = sums.with.calls / sums.with.cpu / (sums.without.calls / sums.without.cpu);
  return { callsPerSecond, plainCallsPerSecond, ratio: callsPerSecond / plainCallsPerSecond, cpuRatio };
}

/** Unary calls per second through the library to a route with a retry policy, against one without, on the happy path. */
export const retryOverhead: Scenario<RetryOverheadParams> = {
  id: "retry-overhead",
  title: "Retry policy overhead",
  description:
    "What an enabled retry policy (gRFC A44) costs a call that succeeds at once: a GreetService backend (grpc-js Server) on 127.0.0.1 answers unary SayHello; two targets send to it, `plain…:8888` through a route without a retry policy and `retried…:8888` through a route with one. " +
    "Each run makes two clients of the same generated class through the library (rxds: `xdsClientOptions(xds)`; grpc-js-xds: an `xds:///` client), warms both up, then keeps a fixed number of calls in flight on each, in 32 short interleaved slices (the order of RPC overhead's eight, four times over): calls answered ÷ time. " +
    "`÷ without a policy` is the retried target's figure ÷ the plain target's in the same run (higher is better; 1 means the policy costs nothing); `÷ without, per CPU second` is the same ratio of calls per second of the process's CPU time (user + system) in those slices, which other work on a shared machine disturbs less than wall time (client, backend and control plane share one process, which the calls keep busy). The policies: istiod's default (`retry_on: connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`, `num_retries: 2`), which every Istio route carries, and the same with `per_try_timeout: 1s` (a timer per attempt).",
  metrics: [
    { key: "callsPerSecond", label: "calls/s with a retry policy", unit: "1/s" },
    { key: "plainCallsPerSecond", label: "calls/s without, same runs", unit: "1/s" },
    { key: "ratio", label: "÷ without a policy", unit: "ratio" },
    { key: "cpuRatio", label: "÷ without, per CPU second", unit: "ratio" },
  ],
  cases: (mode: BenchMode) => {
    const timing = mode === "quick" ? { concurrency: 16, warmUpMs: 150, durationMs: 400 } : { concurrency: 16, warmUpMs: 500, durationMs: 2000 };
    return [
      { label: "Istio's default retry policy, unary, 16 in flight", params: { retryPolicy: istioDefault, ...timing } },
      { label: "with per_try_timeout 1 s", params: { retryPolicy: { ...istioDefault, perTryTimeout: { seconds: 1n } }, ...timing } },
    ];
  },
  runs: (mode) => (mode === "quick" ? 2 : 5),
  measure: async (subject, { retryPolicy, concurrency, warmUpMs, durationMs }) => {
    const backend = await startBackend();
    try {
      return await withLoopback(subject, async (plane, connect) => {
        plane.set(LDS, { [plain.listener]: listenerResource(plain.listener, plain.route), [retried.listener]: listenerResource(retried.listener, retried.route) });
        plane.set(RDS, {
          [plain.route]: routeConfigurationResource(plain.route, plain.listener, [plain.cluster]),
          [retried.route]: routeConfigurationResource(retried.route, retried.listener, [retried.cluster], retryPolicy),
        });
        plane.set(CDS, { [plain.cluster]: clusterResource(plain.cluster), [retried.cluster]: clusterResource(retried.cluster) });
        plane.set(EDS, {
          [plain.cluster]: singleEndpointAssignment(plain.cluster, "127.0.0.1", backend.port),
          [retried.cluster]: singleEndpointAssignment(retried.cluster, "127.0.0.1", backend.port),
        });
        const library = connect();
        const make = (address: string, options: object) => new GreetServiceClient(address, credentials.createInsecure(), options);
        const without = library.grpcClient(plain.listener, make);
        const withPolicy = library.grpcClient(retried.listener, make);
        try {
          return await compareWithAndWithout(sayHelloOn(without), sayHelloOn(withPolicy), concurrency, warmUpMs, durationMs);
        } finally {
          without.close();
          withPolicy.close();
        }
      });
    } finally {
      await backend.close();
    }
  },
};
