// Per-call metrics, in gRFC A66's style, recorded where every call of every integration ends: its RouteDecision.
// Each decision is one attempt (a retry is routed again, so it is a decision of its own, as A66 counts attempts):
//
//   grpc.client.attempt.started   counter    {attempt}  grpc.target, grpc.lb.backend_service, grpc.lb.locality
//   grpc.client.attempt.duration  histogram  s          grpc.target, grpc.lb.backend_service, grpc.lb.locality,
//                                                       grpc.status
//
// started counts each decision made by route(); duration records, at done(status), the time since route() with the
// call's status (`OK`, `UNAVAILABLE`, …): its count is the calls that reached an endpoint, and those whose status is
// not OK the failures. A decision ended without a status (the call never reached its endpoint) records no duration.
// grpc.target is the target as the snapshot names it (`svc.ns.svc.cluster.local:port`), grpc.lb.backend_service the
// cluster that served the call (gRFC A89; for an aggregate cluster, the child), grpc.lb.locality its locality
// (gRFC A78). grpc.method is not recorded: rxds routes Thrift and HTTP calls too, whose paths a control plane does not
// bound. Attributes are made once per endpoint and status, not per call.

import type { MetricAttributes, MetricCounter, MetricHistogram, MetricsMeter } from "../client/metrics-meter.js";
import { statusName } from "../resources/grpc-status.js";
import type { PickedEndpoint } from "./cluster-picking.js";

/** Where a Router's decisions report; present only when metrics are recorded. */
export interface CallMetrics {
  /** A decision picked `picked`. */
  started(picked: PickedEndpoint): void;
  /** A call picked on `picked` ended with gRPC status `status` after `seconds`. */
  ended(picked: PickedEndpoint, status: number, seconds: number): void;
}

/** A66's latency buckets, in seconds. */
const LATENCY_BUCKETS = [
  0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025,
  0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100,
];

/** The instruments of one client's per-call metrics; `forTarget` gives each target's CallMetrics. */
export class CallInstruments {
  readonly startedCounter: MetricCounter;
  readonly duration: MetricHistogram;

  constructor(meter: MetricsMeter) {
    this.startedCounter = meter.createCounter("grpc.client.attempt.started", { unit: "{attempt}", description: "Calls routed (attempts started)." });
    this.duration = meter.createHistogram("grpc.client.attempt.duration", {
      unit: "s",
      description: "Time from routing a call to its end, by its status.",
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    });
  }

  /** The CallMetrics of one target's Routers. */
  forTarget(target: string): CallMetrics {
    return new TargetCallMetrics(this, target);
  }
}

/** The attributes of one endpoint's calls: started, and ended by status code. */
interface EndpointAttributes {
  readonly cluster: string;
  readonly locality: string;
  readonly started: MetricAttributes;
  readonly ended: MetricAttributes[];
}

class TargetCallMetrics implements CallMetrics {
  private readonly attributes = new WeakMap<PickedEndpoint, EndpointAttributes>();

  constructor(
    private readonly instruments: CallInstruments,
    private readonly target: string,
  ) {}

  started(picked: PickedEndpoint): void {
    this.instruments.startedCounter.add(1, this.attributesOf(picked).started);
  }

  ended(picked: PickedEndpoint, status: number, seconds: number): void {
    const of = this.attributesOf(picked);
    const attributes = (of.ended[status] ??= { ...of.started, "grpc.status": statusName(status) });
    this.instruments.duration.record(seconds, attributes);
  }

  private attributesOf(picked: PickedEndpoint): EndpointAttributes {
    let of = this.attributes.get(picked);
    if (of === undefined || of.locality !== picked.locality || of.cluster !== picked.clusterName) {
      const started = { "grpc.target": this.target, "grpc.lb.backend_service": picked.clusterName, "grpc.lb.locality": picked.locality };
      of = { cluster: picked.clusterName, locality: picked.locality, started, ended: [] };
      this.attributes.set(picked, of);
    }
    return of;
  }
}
