// Where a call goes, and the one way back: `done(status)`, which tells balancing how the call ended.
//
// A decision holds its endpoint from route() until done(): the call counts in flight for least request and for the
// cluster's circuit breaker, and its status feeds outlier detection. Whoever calls route() must call done() once
// per decision — with the call's gRPC status code when the call reached the endpoint (a transport failure is
// UNAVAILABLE, as grpc-js and Connect report it), or with no status when it never did (cancelled before it was
// sent, no channel could be opened). A second call does nothing. The integrations (rxds/grpc, rxds/connect) do this
// for every call. Each retry attempt (gRFC A44) is a decision of its own, made by pickAgain(): the same route and
// cluster, an endpoint picked afresh from the cluster's current balancing, so outlier detection sees every attempt.
// With metrics on (call-metrics.ts), a decision also reads the clock when made and records its attempt's duration and
// status at done(); pickAgain() passes the metrics on, so each attempt is recorded as its own (A66).

import type { EndpointModel } from "../resources/endpoints.js";
import type { HashPolicyModel, RetryPolicyModel } from "../resources/route-policies.js";
import { XdsError } from "../xds-error.js";
import type { CallMetrics } from "./call-metrics.js";
import { isPickFailure, type EndpointPicker, type PickedEndpoint } from "./cluster-picking.js";
import type { CallHttpFilter } from "./route-http-filters.js";

/** Where a call goes, and how; `done()` reports how it ended. */
export interface RouteDecision {
  /** The matched route's name; "" when unnamed (always for Thrift routes). */
  readonly routeName: string;
  /** The matched route's index in its virtual host (or Thrift route configuration). */
  readonly routeIndex: number;
  /** The cluster the route picked. */
  readonly cluster: string;
  /** The cluster the endpoint belongs to: `cluster`, or for an aggregate cluster the child serving it. */
  readonly leafCluster: string;
  /** The picked endpoint (address, port, weight, metadata…). */
  readonly endpoint: EndpointModel;
  /** The call's timeout in ms (see the top of router.ts); undefined for none. */
  readonly timeoutMs: number | undefined;
  /** The retry policy (gRFC A44), undefined for none. */
  readonly retryPolicy: RetryPolicyModel | undefined;
  /** The hash policies (gRFC A42), in order; empty for none. */
  readonly hashPolicy: readonly HashPolicyModel[];
  /** The HTTP filters the call goes through before it is sent (fault injection, local rate limit); undefined for none. */
  readonly httpFilters: readonly CallHttpFilter[] | undefined;
  /**
   * Ends the call this decision routed, once: `status` is its gRPC status code (0 OK; a transport failure is
   * UNAVAILABLE), or omitted when the call never reached the endpoint. Until then the call counts in flight.
   */
  done(status?: number): void;
  /**
   * Another attempt of the same call (a retry, or the call after a fault delay): a new decision for the same route and
   * cluster with an endpoint picked afresh, avoiding those `avoid` returns true for while another can be picked (up to
   * 5 picks, as Envoy's host_selection_retry_max_attempts; not for ring hash and Maglev, whose key picks the same);
   * or why none can be picked. Its done() is owed as this one's.
   */
  pickAgain(avoid?: (endpoint: EndpointModel) => boolean): RouteDecision | XdsError;
}

/** What a decision takes from its route. */
export interface DecidedRoute {
  readonly name: string;
  readonly index: number;
  /** The route as messages name it, e.g. `route "canary" (virtual host "…" routes[0])`. */
  readonly label: string;
  readonly timeoutMs: number | undefined;
  readonly retryPolicy: RetryPolicyModel | undefined;
  readonly hashPolicy: readonly HashPolicyModel[];
}

/** The most picks pickAgain makes to avoid an endpoint. */
const MAX_PICKS = 5;

/** A RouteDecision; the only object route() allocates. */
export class Decision implements RouteDecision {
  readonly routeName: string;
  readonly routeIndex: number;
  readonly leafCluster: string;
  readonly endpoint: EndpointModel;
  readonly timeoutMs: number | undefined;
  readonly retryPolicy: RetryPolicyModel | undefined;
  readonly hashPolicy: readonly HashPolicyModel[];
  private open = true;
  /** When route() made it (performance.now()), read only when metrics are recorded. */
  private readonly startedAt: number;

  constructor(
    private readonly route: DecidedRoute,
    readonly cluster: string,
    private readonly picked: PickedEndpoint,
    readonly httpFilters: readonly CallHttpFilter[] | undefined,
    private readonly picker: EndpointPicker,
    private readonly hash: number,
    private readonly metrics: CallMetrics | undefined,
  ) {
    this.routeName = route.name;
    this.routeIndex = route.index;
    this.leafCluster = picked.clusterName;
    this.endpoint = picked.endpoint;
    this.timeoutMs = route.timeoutMs;
    this.retryPolicy = route.retryPolicy;
    this.hashPolicy = route.hashPolicy;
    if (metrics === undefined) this.startedAt = 0;
    else {
      this.startedAt = performance.now();
      metrics.started(picked);
    }
  }

  done(status?: number): void {
    if (!this.open) return;
    this.open = false;
    this.picked.release(status);
    if (this.metrics !== undefined && status !== undefined) this.metrics.ended(this.picked, status, (performance.now() - this.startedAt) / 1000);
  }

  pickAgain(avoid?: (endpoint: EndpointModel) => boolean): RouteDecision | XdsError {
    const picker = this.picker;
    let picked = picker.pick(this.hash);
    for (let picks = 1; avoid !== undefined && !picker.hashed && picks < MAX_PICKS && !isPickFailure(picked) && avoid(picked.endpoint); picks++) {
      picked.release(undefined);
      picked = picker.pick(this.hash);
    }
    if (isPickFailure(picked)) return new XdsError(picked.code, `${picked.message} (picked again by ${this.route.label})`);
    return new Decision(this.route, this.cluster, picked, this.httpFilters, picker, this.hash, this.metrics);
  }
}
