// Outlier detection over one cluster's endpoints (gRFC A50, with Envoy's consecutive-failure algorithms):
//
// - Every released call counts on its endpoint: OK is a success, any other status a failure (as A50 and gRPC
//   count them). Consecutive 5xx-class failures (statuses Envoy maps to HTTP 5xx: UNKNOWN, DEADLINE_EXCEEDED,
//   UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS) and gateway-class ones (UNAVAILABLE and DEADLINE_EXCEEDED: 503
//   and 504; a transport failure reaches here as UNAVAILABLE) eject at once when they reach their threshold, as in
//   Envoy; a status outside a count's class (a success, say) ends its run.
// - Every `interval`, the sweep: the counts of the interval that ends become the ones judged; success-rate ejection
//   (an endpoint whose success rate is below mean − stdev × factor among those with enough calls) and
//   failure-percentage ejection (an endpoint whose failure percentage is above the threshold) run as A50 says;
//   then each ejected endpoint whose time is up (base_ejection_time × how many ejections in a row, at most
//   max(base, max_ejection_time)) comes back, and each endpoint not ejected has its multiplier lowered by one.
// - No ejection happens while max_ejection_percent of the cluster's endpoints are ejected already. Each algorithm's
//   enforcement percentage is the chance an outlier it finds is actually ejected.
//
// A50 judges each priority apart (gRPC has no place that sees a whole cluster); this judges the whole cluster, as
// Envoy does: since calls go to one priority at a time but for spill-over, the two agree but in edge cases.

import type { OutlierDetectionModel } from "../resources/cluster-outlier-detection.js";
import { statusName } from "../resources/grpc-status.js";
import type { RandomSource } from "../resources/match/route-match.js";
import type { EndpointState } from "./balancing-state.js";

/** Whether a gRPC status maps to an HTTP 5xx (Envoy's grpcToHttpStatus), the failures consecutive_5xx counts. */
function is5xx(status: number): boolean {
  return status === 2 || status === 4 || status === 12 || status === 13 || status === 14 || status === 15;
}

/** Whether a gRPC status maps to 502, 503 or 504, the failures consecutive_gateway_failure counts. */
function isGatewayFailure(status: number): boolean {
  return status === 4 || status === 14;
}

/** Judges one cluster's endpoints by their calls' outcomes; ejects and brings back. */
export class OutlierDetector {
  /** How many endpoints the cluster has, and how many of them are ejected (see recount). */
  private total = 0;
  private ejected = 0;

  constructor(
    /** The cluster's configuration; replaced when the cluster changes. */
    public config: OutlierDetectionModel,
    private readonly random: RandomSource,
  ) {}

  /** Takes the cluster's endpoint set as it now is (after an update), for max_ejection_percent. */
  recount(states: Iterable<EndpointState>): void {
    this.total = 0;
    this.ejected = 0;
    for (const state of states) {
      this.total++;
      if (state.ejection !== undefined) this.ejected++;
    }
  }

  /**
   * Counts one call's outcome on `state`; ejects it at once (at `now()`, read only then) when it reaches a
   * consecutive-failure threshold. True when it was ejected.
   */
  record(state: EndpointState, status: number, now: () => number): boolean {
    if (status === 0) {
      state.successes++;
      state.consecutive5xx = 0;
      state.consecutiveGateway = 0;
      return false;
    }
    state.failures++;
    // As in Envoy, a status outside a count's class ends its run.
    if (!is5xx(status)) state.consecutive5xx = 0;
    if (!isGatewayFailure(status)) state.consecutiveGateway = 0;
    if (state.ejection !== undefined) return false;
    const { consecutive5xx, consecutiveGatewayFailure } = this.config;
    if (consecutive5xx !== undefined && is5xx(status) && ++state.consecutive5xx >= consecutive5xx.threshold) {
      state.consecutive5xx = 0;
      const reason = `${consecutive5xx.threshold} consecutive 5xx-class failures (the last ${statusName(status)})`;
      if (this.enforced(consecutive5xx.enforcementPercentage) && this.mayEject()) return this.eject(state, reason, now());
    }
    if (consecutiveGatewayFailure !== undefined && isGatewayFailure(status) && ++state.consecutiveGateway >= consecutiveGatewayFailure.threshold) {
      state.consecutiveGateway = 0;
      const reason = `${consecutiveGatewayFailure.threshold} consecutive gateway failures (the last ${statusName(status)})`;
      if (this.enforced(consecutiveGatewayFailure.enforcementPercentage) && this.mayEject()) return this.eject(state, reason, now());
    }
    return false;
  }

  /** The interval's sweep (see the top of this file) at `now`; true when an endpoint was ejected or came back. */
  sweep(states: readonly EndpointState[], now: number): boolean {
    for (const state of states) {
      state.lastSuccesses = state.successes;
      state.lastFailures = state.failures;
      state.successes = 0;
      state.failures = 0;
    }
    let changed = this.successRate(states, now);
    changed = this.failurePercentage(states, now) || changed;
    const { baseEjectionTimeMs, maxEjectionTimeMs } = this.config;
    for (const state of states) {
      const ejection = state.ejection;
      if (ejection === undefined) {
        if (state.ejections > 0) state.ejections--;
      } else if (now >= ejection.since + Math.min(baseEjectionTimeMs * state.ejections, Math.max(baseEjectionTimeMs, maxEjectionTimeMs))) {
        state.ejection = undefined;
        this.ejected--;
        changed = true;
      }
    }
    return changed;
  }

  /** Ends every ejection (outlier detection was turned off); true when there was one. */
  uneject(states: Iterable<EndpointState>): boolean {
    let changed = false;
    for (const state of states) {
      if (state.ejection !== undefined) changed = true;
      state.ejection = undefined;
      state.ejections = 0;
    }
    this.ejected = 0;
    return changed;
  }

  private successRate(states: readonly EndpointState[], now: number): boolean {
    const config = this.config.successRate;
    if (config === undefined) return false;
    let candidates = 0;
    let sum = 0;
    for (const state of states) {
      const volume = state.lastSuccesses + state.lastFailures;
      if (volume >= config.requestVolume) {
        candidates++;
        sum += state.lastSuccesses / volume;
      }
    }
    if (candidates === 0 || candidates < config.minimumHosts) return false;
    const mean = sum / candidates;
    let squares = 0;
    for (const state of states) {
      const volume = state.lastSuccesses + state.lastFailures;
      if (volume >= config.requestVolume) squares += (state.lastSuccesses / volume - mean) ** 2;
    }
    const stdev = Math.sqrt(squares / candidates);
    const threshold = mean - stdev * (config.stdevFactor / 1000);
    let changed = false;
    for (const state of states) {
      if (!this.mayEject()) break;
      const volume = state.lastSuccesses + state.lastFailures;
      if (volume < config.requestVolume || state.ejection !== undefined) continue;
      const rate = state.lastSuccesses / volume;
      if (rate < threshold && this.enforced(config.enforcementPercentage)) {
        const reason = `success rate ${percent(rate)} over ${volume} calls is below the cluster's threshold ${percent(threshold)} (mean ${percent(mean)} − ${config.stdevFactor / 1000} × stdev ${percent(stdev)})`;
        changed = this.eject(state, reason, now) || changed;
      }
    }
    return changed;
  }

  private failurePercentage(states: readonly EndpointState[], now: number): boolean {
    const config = this.config.failurePercentage;
    if (config === undefined) return false;
    let candidates = 0;
    for (const state of states) if (state.lastSuccesses + state.lastFailures >= config.requestVolume) candidates++;
    if (candidates === 0 || candidates < config.minimumHosts) return false;
    let changed = false;
    for (const state of states) {
      if (!this.mayEject()) break;
      const volume = state.lastSuccesses + state.lastFailures;
      if (volume < config.requestVolume || state.ejection !== undefined) continue;
      const failures = (state.lastFailures * 100) / volume;
      if (failures > config.threshold && this.enforced(config.enforcementPercentage)) {
        const reason = `failure percentage ${Math.round(failures)}% over ${volume} calls is above the threshold ${config.threshold}%`;
        changed = this.eject(state, reason, now) || changed;
      }
    }
    return changed;
  }

  /** Whether another endpoint may be ejected: fewer than max_ejection_percent of them are (gRFC A50's check). */
  private mayEject(): boolean {
    return this.total > 0 && (this.ejected * 100) / this.total < this.config.maxEjectionPercent;
  }

  private enforced(percentage: number): boolean {
    return this.random() * 100 < percentage;
  }

  private eject(state: EndpointState, reason: string, now: number): boolean {
    state.ejections++;
    const { baseEjectionTimeMs, maxEjectionTimeMs } = this.config;
    const until = now + Math.min(baseEjectionTimeMs * state.ejections, Math.max(baseEjectionTimeMs, maxEjectionTimeMs));
    state.ejection = Object.freeze({ reason, since: now, until });
    this.ejected++;
    return true;
  }
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}
