import type { Observable, Subscription } from "rxjs";
import { shortTypeName } from "./config/xds-resources.js";
import type { ReceivedRequest } from "./control-plane.js";

/** How `logRequests` writes. */
export interface RequestLogOptions {
  /** Receives one line per event. */
  readonly log: (line: string) => void;
  /** Also log connects, subscriptions and ACKs; NACKs are always logged. */
  readonly verbose: boolean;
}

/** A peer as people read it: `127.0.0.1:53422` rather than grpc-js's `ipv4:127.0.0.1:53422`. */
function formatPeer(peer: string): string {
  return peer.replace(/^ipv[46]:/, "");
}

function formatNames(names: readonly string[]): string {
  if (names.length === 0) return "(wildcard)";
  const shown = names.slice(0, 5).join(", ");
  return names.length > 5 ? `${shown} … (${names.length} names)` : shown;
}

/**
 * Turns the requests a control plane receives into log lines, one per event:
 * - `stream 3 connected from 127.0.0.1:53422: node sidecar~… (view grpc/default)` (verbose)
 * - `stream 3 subscribes LDS: kitex-server.default.svc.cluster.local:8888` (verbose)
 * - `stream 3 ACK LDS version 2` (verbose)
 * - `stream 3 NACK RDS (nonce 7, still on version 1): <the client's error_detail message>` (always)
 */
export function logRequests(requests: Observable<ReceivedRequest>, options: RequestLogOptions): Subscription {
  /** Per stream: type URL → the names it last asked for (sorted, joined) and the nonce it last answered. */
  const streams = new Map<number, Map<string, { names: string; answered: string }>>();
  return requests.subscribe(({ stream, request, peer, view }) => {
    let types = streams.get(stream);
    if (types === undefined) {
      types = new Map();
      streams.set(stream, types);
      if (options.verbose) {
        const node = request.node?.id ? `node ${request.node.id}` : "no node";
        options.log(`stream ${stream} connected from ${formatPeer(peer)}: ${node}${view === "" ? "" : ` (view ${view})`}`);
      }
    }
    const type = shortTypeName(request.typeUrl);
    const last = types.get(request.typeUrl);
    // A client may repeat its answer to a response (grpc-js-xds does, when it re-sends its subscription): log it once.
    const answered = request.responseNonce === "" ? "" : `${request.responseNonce}\n${request.errorDetail?.message ?? ""}`;
    const repeated = answered !== "" && answered === last?.answered;
    if (!repeated && request.errorDetail !== undefined) {
      const version = request.versionInfo === "" ? "no version yet" : `still on version ${request.versionInfo}`;
      options.log(`stream ${stream} NACK ${type} (nonce ${request.responseNonce}, ${version}): ${request.errorDetail.message}`);
    } else if (!repeated && answered !== "" && options.verbose) {
      options.log(`stream ${stream} ACK ${type} version ${request.versionInfo}`);
    }
    const names = [...request.resourceNames].sort();
    const key = names.join("\n");
    types.set(request.typeUrl, { names: key, answered: answered === "" ? (last?.answered ?? "") : answered });
    if (last?.names !== key && options.verbose) {
      if (last === undefined || names.length > 0) options.log(`stream ${stream} subscribes ${type}: ${formatNames(names)}`);
      else options.log(`stream ${stream} unsubscribes ${type}`);
    }
  });
}
