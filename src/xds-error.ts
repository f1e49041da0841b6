/** The closed set of reasons an rxds operation fails. */
export type XdsErrorCode =
  /** An argument or option passed by the caller is wrong. */
  | "INVALID_ARGUMENT"
  /** A configuration (bootstrap, environment, config file) is missing or wrong. */
  | "INVALID_CONFIG"
  /** An xDS resource failed decoding or validation. */
  | "INVALID_RESOURCE"
  /** No route of the route configuration matches the request. */
  | "NO_ROUTE"
  /** The matched route's action cannot be forwarded by a client (redirect, direct response, …). */
  | "UNSUPPORTED_ACTION"
  /** The listener for the target does not exist. */
  | "LISTENER_ABSENT"
  /** The route configuration named by the listener does not exist. */
  | "ROUTE_CONFIGURATION_ABSENT"
  /** A cluster picked by the route does not exist. */
  | "CLUSTER_ABSENT"
  /** The picked cluster has no healthy endpoint. */
  | "NO_HEALTHY_ENDPOINT"
  /** The picked cluster has as many calls in flight as its circuit breaker allows (max_requests): the call is dropped. */
  | "CIRCUIT_BREAKER_OPEN"
  /** The picked cluster is valid but of a kind a client cannot send to (e.g. ORIGINAL_DST, Istio's PassthroughCluster). */
  | "UNSUPPORTED_CLUSTER"
  /** The listener holds no HTTP routes (e.g. only tcp_proxy filters), so no call can be routed with it. */
  | "NO_HTTP_ROUTES"
  /** The control plane could not be reached and nothing was received yet for what the call needs. */
  | "CONTROL_PLANE_UNAVAILABLE"
  /** Nothing to route with arrived in time: an item waited for the first Router past `routeWith`'s bounds (maxWaitMs, maxWaiting). */
  | "NOT_READY"
  /** A call's deadline passed before it ended (calls that report failures as XdsErrors: rxds/thrift). */
  | "DEADLINE_EXCEEDED"
  /** The call's endpoint could not be reached, or its connection failed before the call ended. */
  | "ENDPOINT_UNAVAILABLE"
  /** The client was closed. */
  | "CLOSED";

/** The one error type rxds throws: a code from a closed set and a message naming what was wrong and where. */
export class XdsError extends Error {
  override readonly name = "XdsError";

  constructor(
    /** Why it failed. */
    readonly code: XdsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Wraps anything thrown into an XdsError, keeping an XdsError as it is. */
  static from(reason: unknown, code: XdsErrorCode = "INVALID_ARGUMENT"): XdsError {
    if (reason instanceof XdsError) return reason;
    const message = reason instanceof Error ? reason.message : String(reason);
    return new XdsError(code, message, { cause: reason });
  }
}
