import type { Observable } from "rxjs";
import type { DiscoveryRequest, DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { generated } from "../lazy-schema.js";

/** The generated module of envoy/service/discovery/v3/discovery.proto (requests, responses, the Resource wrapper), loaded on the first call. */
export const discoveryModule = generated<typeof import("../../gen/envoy/service/discovery/v3/discovery_pb.js")>("envoy/service/discovery/v3/discovery");

/** What an open ADS stream reports: that the connection is ready, or a response from the server. */
export type AdsEvent =
  | { readonly kind: "ready" }
  | { readonly kind: "response"; readonly response: DiscoveryResponse };

/** A way to reach one ADS server: the xDS client's only view of the wire. */
export interface AdsTransport {
  /**
   * Opens one StreamAggregatedResources call while the result is subscribed, writing each request
   * it is given. Emits "ready" once the connection is up, then every response; errors when the call
   * fails, completes when the server ends it; unsubscribing cancels the call.
   */
  stream(requests: Observable<DiscoveryRequest>): Observable<AdsEvent>;
  /** Releases the connection; streams opened afterwards reconnect. */
  close(): void;
}
