// What a server of this process takes from its inbound listener (routing/inbound-listener.ts), shared by the grpc-js
// and Connect server interceptors: today the local rate limit of the filter chain for its port, as kitex-contrib/xds's
// server suite reads it (`NewServerSuite`), followed live. The latest snapshot is held, so admit() is synchronous and
// allocates nothing for a call it lets through. The chain's DownstreamTlsContext is a transport matter, applied
// when a server binds (grpc/xds-server-credentials.ts).
//
// Each enabled `local_ratelimit` filter of the chain's HttpConnectionManager (not disabled there) takes a token per
// call, with its filter_enabled and filter_enforced chances; a call with no token left is refused RESOURCE_EXHAUSTED,
// which tells a gRPC client to back off rather than retry elsewhere (Envoy answers HTTP 429, which a gRPC client sees
// as UNAVAILABLE). Per-route overrides of the inbound route configuration are not applied. With no listener (absent,
// or with a resource error), or no rate limit in it, every call is admitted.

import type { Observable, Subscription } from "rxjs";
import type { LocalRateLimitModel } from "../resources/local-rate-limit.js";
import type { InboundAddress, InboundSnapshot } from "../routing/inbound-listener.js";
import type { XdsClient } from "../xds-client.js";
import { XdsError } from "../xds-error.js";
import { overRateLimit, rateLimitMessage } from "./call-filters.js";

/** Where a server listens, for its inbound policies. */
export type XdsServerOptions = InboundAddress;

/** Why a call is refused: the gRPC status code and message. */
export interface Refusal {
  readonly code: number;
  readonly message: string;
}

/** The gRPC status RESOURCE_EXHAUSTED. */
const RESOURCE_EXHAUSTED = 8;

/** The rate limits of a chain, in filter order. */
type Limits = readonly { readonly name: string; readonly config: LocalRateLimitModel }[];

/** The inbound policies of one server, kept up to date from its inbound listener. */
export class InboundPolicy {
  /** The server's inbound listener, as it changes. */
  readonly inbound$: Observable<InboundSnapshot>;
  private limits: Limits = [];
  private readonly subscription: Subscription;

  constructor(xds: XdsClient, options: XdsServerOptions) {
    if (typeof options !== "object" || options === null) throw new XdsError("INVALID_ARGUMENT", "xDS server options: expected { port, host? }");
    this.inbound$ = xds.inbound(options);
    this.subscription = this.inbound$.subscribe((snapshot) => (this.limits = limitsOf(snapshot)));
  }

  /** Whether the listener has limits a call may be refused by (when not, admit() lets every call through). */
  get limiting(): boolean {
    return this.limits.length > 0;
  }

  /** Whether the call of method `path` may go on: undefined, or why it is refused. */
  admit(path: string): Refusal | undefined {
    const limits = this.limits;
    if (limits.length === 0) return undefined;
    const now = Date.now();
    for (const { name, config } of limits) {
      if (overRateLimit(config, Math.random, now)) return { code: RESOURCE_EXHAUSTED, message: rateLimitMessage(name, config, path) };
    }
    return undefined;
  }

  /** Stops following the inbound listener; calls are admitted from then on. */
  close(): void {
    this.subscription.unsubscribe();
    this.limits = [];
  }
}

function limitsOf(snapshot: InboundSnapshot): Limits {
  const limits: { name: string; config: LocalRateLimitModel }[] = [];
  for (const filter of snapshot.connectionManager?.httpFilters ?? []) {
    const applied = filter.applied;
    if (applied?.kind === "local_ratelimit" && !filter.disabled && applied.config.tokenBucket !== undefined) limits.push({ name: filter.name, config: applied.config });
  }
  return limits;
}
