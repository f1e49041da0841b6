import type { OutlierDetection } from "../../gen/envoy/config/cluster/v3/outlier_detection_pb.js";
import { optionalDurationMillis } from "./duration.js";
import { fieldPath, type Reject } from "./field-error.js";

/** Success-rate ejection (gRFC A50), present when enforcing_success_rate is not 0. */
export interface SuccessRateEjectionModel {
  /** success_rate_stdev_factor, in thousandths (1900 = 1.9); default 1900. */
  readonly stdevFactor: number;
  /** enforcing_success_rate, 0..100; default 100. */
  readonly enforcementPercentage: number;
  /** success_rate_minimum_hosts; default 5. */
  readonly minimumHosts: number;
  /** success_rate_request_volume; default 100. */
  readonly requestVolume: number;
}

/** Failure-percentage ejection (gRFC A50), present when enforcing_failure_percentage is set and not 0. */
export interface FailurePercentageEjectionModel {
  /** failure_percentage_threshold, 0..100; default 85. */
  readonly threshold: number;
  /** enforcing_failure_percentage, 0..100. */
  readonly enforcementPercentage: number;
  /** failure_percentage_minimum_hosts; default 5. */
  readonly minimumHosts: number;
  /** failure_percentage_request_volume; default 50. */
  readonly requestVolume: number;
}

/** An Envoy consecutive-failure ejection (consecutive_5xx, consecutive_gateway_failure), present when it can eject. */
export interface ConsecutiveEjectionModel {
  /** How many failures in a row eject (at least 1). */
  readonly threshold: number;
  /** enforcing_*, 0..100 (above 0 when present). */
  readonly enforcementPercentage: number;
}

/**
 * A cluster's outlier detection: gRFC A50's success-rate and failure-percentage algorithms, and Envoy's
 * consecutive 5xx and consecutive gateway failure ones (which A50 leaves out, and Istio's outlierDetection sets).
 */
export interface OutlierDetectionModel {
  /** Time between ejection sweeps, ms; default 10 s. */
  readonly intervalMs: number;
  /** Base ejection time, ms; default 30 s. */
  readonly baseEjectionTimeMs: number;
  /** Longest ejection, ms; default the larger of 300 s and the base ejection time. */
  readonly maxEjectionTimeMs: number;
  /** max_ejection_percent, 0..100; default 10. */
  readonly maxEjectionPercent: number;
  readonly successRate: SuccessRateEjectionModel | undefined;
  readonly failurePercentage: FailurePercentageEjectionModel | undefined;
  /** consecutive_5xx (default 5) when enforcing_consecutive_5xx (default 100) is above 0. */
  readonly consecutive5xx: ConsecutiveEjectionModel | undefined;
  /** consecutive_gateway_failure (default 5) when enforcing_consecutive_gateway_failure (default 0) is above 0. */
  readonly consecutiveGatewayFailure: ConsecutiveEjectionModel | undefined;
}

/** The fields holding a percentage (Envoy: `uint32 lte 100`), checked whether or not gRPC acts on them. */
const PERCENT_FIELDS = [
  ["maxEjectionPercent", "max_ejection_percent"],
  ["enforcingSuccessRate", "enforcing_success_rate"],
  ["failurePercentageThreshold", "failure_percentage_threshold"],
  ["enforcingFailurePercentage", "enforcing_failure_percentage"],
  ["enforcingConsecutive5xx", "enforcing_consecutive_5xx"],
  ["enforcingConsecutiveGatewayFailure", "enforcing_consecutive_gateway_failure"],
  ["enforcingConsecutiveLocalOriginFailure", "enforcing_consecutive_local_origin_failure"],
  ["enforcingLocalOriginSuccessRate", "enforcing_local_origin_success_rate"],
  ["enforcingFailurePercentageLocalOrigin", "enforcing_failure_percentage_local_origin"],
] as const;

/**
 * Validates a cluster's outlier_detection (gRFC A50: durations valid and non-negative, percentages ≤ 100) into its
 * model. split_external_local_origin_errors is rejected: rxds does not tell local failures from the endpoint's, so it
 * cannot count them apart. The other fields neither A50 nor this model names (local-origin thresholds, jitter,
 * active health check, monitors) are ignored, as gRPC ignores them.
 */
export function buildOutlierDetection(od: OutlierDetection, path: string, reject: Reject): OutlierDetectionModel {
  if (od.splitExternalLocalOriginErrors) {
    reject(fieldPath(path, "split_external_local_origin_errors"), "is not supported: a client does not count local-origin failures apart");
  }
  for (const [field, protoName] of PERCENT_FIELDS) {
    const value = od[field];
    if (value !== undefined && value > 100) reject(fieldPath(path, protoName), `must be at most 100, got ${value}`);
  }
  const intervalMs = optionalDurationMillis(od.interval, 10_000, fieldPath(path, "interval"), reject);
  const baseEjectionTimeMs = optionalDurationMillis(od.baseEjectionTime, 30_000, fieldPath(path, "base_ejection_time"), reject);
  const maxEjectionTimeMs = optionalDurationMillis(
    od.maxEjectionTime,
    Math.max(300_000, baseEjectionTimeMs),
    fieldPath(path, "max_ejection_time"),
    reject,
  );
  const enforcingSuccessRate = od.enforcingSuccessRate ?? 100;
  const enforcingFailurePercentage = od.enforcingFailurePercentage ?? 0;
  return Object.freeze({
    intervalMs,
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionPercent: od.maxEjectionPercent ?? 10,
    successRate:
      enforcingSuccessRate === 0
        ? undefined
        : Object.freeze({
            stdevFactor: od.successRateStdevFactor ?? 1900,
            enforcementPercentage: enforcingSuccessRate,
            minimumHosts: od.successRateMinimumHosts ?? 5,
            requestVolume: od.successRateRequestVolume ?? 100,
          }),
    failurePercentage:
      enforcingFailurePercentage === 0
        ? undefined
        : Object.freeze({
            threshold: od.failurePercentageThreshold ?? 85,
            enforcementPercentage: enforcingFailurePercentage,
            minimumHosts: od.failurePercentageMinimumHosts ?? 5,
            requestVolume: od.failurePercentageRequestVolume ?? 50,
          }),
    consecutive5xx: consecutive(od.consecutive5xx ?? 5, od.enforcingConsecutive5xx ?? 100),
    consecutiveGatewayFailure: consecutive(od.consecutiveGatewayFailure ?? 5, od.enforcingConsecutiveGatewayFailure ?? 0),
  });
}

/** A consecutive-failure ejection, or undefined when it cannot eject (a threshold of 0, as in Envoy, or no enforcement). */
function consecutive(threshold: number, enforcementPercentage: number): ConsecutiveEjectionModel | undefined {
  return threshold === 0 || enforcementPercentage === 0 ? undefined : Object.freeze({ threshold, enforcementPercentage });
}
