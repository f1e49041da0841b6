// Which routes a Thrift call goes by, as kitex-contrib/xds decides it: the ThriftProxy routes of the target's
// listener when it has a ThriftProxy filter (what an EnvoyFilter puts on a sidecar listener), else its HTTP
// routes, the call standing for the path `/<service>/<method>` (Kitex maps Thrift calls onto VirtualService
// routes so: `/proxyless.GreetService/SayHello`), which also gives the call the route's timeout.
//
// Unlike kitex-contrib/xds, a call that no ThriftProxy route matches fails with NO_ROUTE, as in Envoy, instead of
// trying the HTTP routes next (an istiod sidecar listener patched by the EnvoyFilter has no HTTP routes left).

import type { ThriftCall } from "../../resources/thrift-route-configuration.js";
import type { RouteDecision, Router } from "../../routing/router.js";
import type { XdsError } from "../../xds-error.js";

/** A Thrift call as routing sees it: service (without namespace) and method for ThriftProxy routes, path for HTTP ones. */
export interface ThriftRouteRequest extends ThriftCall {
  /** `/<service with namespace>/<method>`, for HTTP routes. */
  readonly path: string;
}

/** Routes a Thrift call on `router` (see the top of this file). */
export function routeThriftCall(router: Router, call: ThriftRouteRequest): RouteDecision | XdsError {
  const listener = router.snapshot.listener;
  if (listener !== undefined && listener.thriftProxies.length === 0 && listener.httpConnectionManagers.length > 0) return router.route(call);
  return router.routeThrift(call);
}
