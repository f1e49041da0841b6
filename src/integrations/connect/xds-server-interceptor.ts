// The server half of rxds/connect: a Connect interceptor for a server's handlers (`connectNodeAdapter({ routes,
// interceptors })`) that applies the server's inbound listener policies (inbound-policy.ts) to every call it receives.
// A call the local rate limit refuses is rejected ResourceExhausted before its handler runs.

import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Observable } from "rxjs";
import type { InboundSnapshot } from "../../routing/inbound-listener.js";
import type { XdsClient } from "../../xds-client.js";
import { InboundPolicy, type XdsServerOptions } from "../inbound-policy.js";

/** A Connect server interceptor that applies the inbound listener's policies, and the way to stop it. */
export interface XdsServerInterceptor {
  /** For `connectNodeAdapter({ routes, interceptors: [interceptor] })`. */
  readonly interceptor: Interceptor;
  /** The server's inbound listener, as it changes. */
  readonly inbound$: Observable<InboundSnapshot>;
  /** Stops following the inbound listener (every call is let through from then on). */
  close(): void;
}

/**
 * A Connect interceptor for a server on `options.port` (`options.host`, default `0.0.0.0`): calls over the inbound
 * listener's local rate limit are rejected ResourceExhausted, naming the limit. Throws INVALID_ARGUMENT for a bad port.
 */
export function createXdsServerInterceptor(xds: XdsClient, options: XdsServerOptions): XdsServerInterceptor {
  const policy = new InboundPolicy(xds, options);
  const interceptor: Interceptor = (next) => (request) => {
    if (!policy.limiting) return next(request); // the method's path is built only for a call a limit may refuse
    const refusal = policy.admit(`/${request.service.typeName}/${request.method.name}`);
    if (refusal !== undefined) throw new ConnectError(refusal.message, refusal.code as Code);
    return next(request);
  };
  return { interceptor, inbound$: policy.inbound$, close: () => policy.close() };
}
