// The server half of rxds/grpc: a grpc-js server interceptor that applies the server's inbound listener policies
// (inbound-policy.ts) to every call it receives, as kitex-contrib/xds's server suite does for Kitex servers. A call the
// local rate limit refuses ends RESOURCE_EXHAUSTED before any handler runs; the others go on untouched (the interceptor
// returns grpc-js's own call for them, adding nothing).

import { ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, type ServerInterceptor } from "@grpc/grpc-js";
import type { Observable } from "rxjs";
import type { InboundSnapshot } from "../../routing/inbound-listener.js";
import type { XdsClient } from "../../xds-client.js";
import { InboundPolicy, type XdsServerOptions } from "../inbound-policy.js";

/** A grpc-js server interceptor that applies the inbound listener's policies, and the way to stop it. */
export interface XdsServerInterceptor {
  /** For `new Server({ interceptors: [interceptor] })`. */
  readonly interceptor: ServerInterceptor;
  /** The server's inbound listener, as it changes. */
  readonly inbound$: Observable<InboundSnapshot>;
  /** Stops following the inbound listener (every call is let through from then on). */
  close(): void;
}

/**
 * A grpc-js server interceptor for a server on `options.port` (`options.host`, default `0.0.0.0`): calls over the inbound
 * listener's local rate limit end RESOURCE_EXHAUSTED, naming the limit. Throws INVALID_ARGUMENT for a bad port.
 */
export function createXdsServerInterceptor(xds: XdsClient, options: XdsServerOptions): XdsServerInterceptor {
  const policy = new InboundPolicy(xds, options);
  const interceptor: ServerInterceptor = (method, call) => {
    const refusal = policy.admit(method.path);
    // A call let through keeps grpc-js's own call: no wrapper, no allocation.
    if (refusal === undefined) return call as ServerInterceptingCall;
    const listener = new ServerListenerBuilder().withOnReceiveMetadata(() => call.sendStatus({ code: refusal.code, details: refusal.message })).build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
  return { interceptor, inbound$: policy.inbound$, close: () => policy.close() };
}
