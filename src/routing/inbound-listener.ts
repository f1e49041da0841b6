// The inbound listener of a server of this process: the Listener the control plane writes for calls into the
// workload on one port, and in it the HttpConnectionManager of the filter chain for that port. Server-side policies
// (the local rate limit, the DownstreamTlsContext of the chains) are read from it.
//
// Names, as the control plane writes them:
// - gRPC (GENERATOR=grpc, gRFC A36): the bootstrap's `server_listener_resource_name_template` with `%s` replaced by
//   `<host>:<port>` (`[<host>]:<port>` for IPv6), by default `grpc/server?xds.resource.listening_address=%s`; istio-agent
//   writes `xds.istio.io/grpc/lds/inbound/%s`.
// - Istio sidecar: `virtualInbound` (every inbound port's filter chains in one listener, as kitex-contrib/xds reads
//   it), else a listener `0.0.0.0_<port>` marked INBOUND (istiod's own `0.0.0.0_<port>` listeners are OUTBOUND ones:
//   they never count).
// In a listener, the chains for the port are those whose filter_chain_match has that destination_port, else those
// without a destination_port (Istio's passthrough chain; the only chain of a gRPC inbound listener). Istio writes two
// for a PERMISSIVE port of a sidecar (one matching `tls`, one `raw_buffer`); the first holds the server's policies.

import type { Observable } from "rxjs";
import { asapScheduler, combineLatest, debounceTime, distinctUntilChanged, filter, map, startWith } from "../rx.js";
import type { ResourceUpdate } from "../client/resource-update.js";
import type { HttpConnectionManagerEntry, ListenerModel } from "../resources/listener.js";
import type { XdsError } from "../xds-error.js";
import type { ListenerNaming } from "./resolve-service.js";

/** Where a server listens: its port, and the host it binds (default `0.0.0.0`). */
export interface InboundAddress {
  readonly port: number;
  readonly host?: string;
}

/** The inbound listener of a server as it is now. */
export interface InboundSnapshot {
  /** The listener used: the first of the names looked for that has one; else the first name. */
  readonly listenerName: string;
  /** The listener; undefined while it does not exist or has a resource error. */
  readonly listener: ListenerModel | undefined;
  /** The listener's resource error (gRFC A88), when its first version was rejected or cannot be had. */
  readonly error: XdsError | undefined;
  /** The HttpConnectionManager of the listener's filter chain for the port; undefined when it has none. */
  readonly connectionManager: HttpConnectionManagerEntry | undefined;
  /** The HttpConnectionManagers of every filter chain for the port, each with its chain's TLS; empty when none. */
  readonly chains: readonly HttpConnectionManagerEntry[];
}

/** What finding the inbound listener needs. */
export interface InboundOptions {
  readonly naming: ListenerNaming;
  /** gRFC A36's listener name template; default `grpc/server?xds.resource.listening_address=%s`. */
  readonly serverListenerTemplate: string | undefined;
}

/** gRFC A36's default name template of a server's listener. */
export const DEFAULT_SERVER_LISTENER_TEMPLATE = "grpc/server?xds.resource.listening_address=%s";

/** The names a server's inbound listener may have, best first. */
export function inboundListenerNames(address: InboundAddress, options: InboundOptions): readonly string[] {
  const host = address.host ?? "0.0.0.0";
  if (options.naming === "grpc") {
    const authority = host.includes(":") ? `[${host}]:${address.port}` : `${host}:${address.port}`;
    return [(options.serverListenerTemplate ?? DEFAULT_SERVER_LISTENER_TEMPLATE).replaceAll("%s", authority)];
  }
  return ["virtualInbound", `0.0.0.0_${address.port}`];
}

/**
 * The InboundSnapshot stream of a server on `address`: every candidate name watched at once, a new snapshot whenever
 * the listener used or its content changes (see chooseInbound for which one is used).
 */
export function resolveInbound(
  listener: (name: string) => Observable<ResourceUpdate<ListenerModel>>,
  address: InboundAddress,
  options: InboundOptions,
): Observable<InboundSnapshot> {
  const names = inboundListenerNames(address, options);
  return combineLatest(names.map((name) => listener(name).pipe(startWith(undefined)))).pipe(
    // One response updates several names one after the other: decide once it is applied whole.
    debounceTime(0, asapScheduler),
    map((updates) => chooseInbound(names, updates, address.port)),
    filter((snapshot): snapshot is InboundSnapshot => snapshot !== undefined),
    distinctUntilChanged((a, b) => a.listener === b.listener && a.error === b.error && a.listenerName === b.listenerName),
  );
}

/**
 * The first name that holds a usable listener or a resource error; a name not answered yet does not hold a later one
 * back (as for a client's listener, resolve-service.ts). When none does: no listener, once any name is known (a
 * listener that goes away takes its policies with it).
 */
function chooseInbound(names: readonly string[], updates: readonly (ResourceUpdate<ListenerModel> | undefined)[], port: number): InboundSnapshot | undefined {
  for (let i = 0; i < names.length; i++) {
    const update = updates[i];
    if (update === undefined) continue;
    if (update.error !== undefined) return { listenerName: names[i]!, listener: undefined, error: update.error, connectionManager: undefined, chains: noChains };
    const listener = update.resource;
    // istiod's `0.0.0.0_<port>` listeners are outbound; only an INBOUND one of that name is a server's.
    if (listener === undefined || (i > 0 && listener.trafficDirection === "OUTBOUND")) continue;
    const chains = chainsFor(listener, port);
    return { listenerName: names[i]!, listener, error: undefined, connectionManager: chains[0], chains };
  }
  if (updates.every((u) => u === undefined)) return undefined;
  return { listenerName: names[0]!, listener: undefined, error: undefined, connectionManager: undefined, chains: noChains };
}

const noChains: readonly HttpConnectionManagerEntry[] = Object.freeze([]);

/** The HttpConnectionManagers of the filter chains for `port`: those with destination_port `port`, else those without one. */
export function chainsFor(listener: ListenerModel, port: number): readonly HttpConnectionManagerEntry[] {
  const managers = listener.httpConnectionManagers;
  const own = managers.filter((m) => m.destinationPort === port);
  return own.length > 0 ? own : managers.filter((m) => m.destinationPort === undefined);
}
