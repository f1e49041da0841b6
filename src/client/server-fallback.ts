import type { Observable, Subscription } from "rxjs";
import { defer, first, from, retry, timer } from "../rx.js";
import type { DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { AdsEvent, AdsTransport } from "../transport/ads-transport.js";
import { Backoff, type BackoffOptions } from "../transport/backoff.js";
import type { XdsServerOptions } from "./xds-client-options.js";

/** What a ServerFallback needs from its client to probe the primary. */
export interface ServerFallbackOptions {
  /** Makes the transport to one server. */
  readonly transport: (server: XdsServerOptions) => AdsTransport;
  /** The probe's reconnection backoff. */
  readonly backoff: BackoffOptions | undefined;
  /** What the probe asks the primary: the client's watched names. */
  readonly probeRequests: () => DiscoveryRequest[];
  /** Called once the primary answers the probe. */
  readonly primaryAnswered: () => void;
}

/**
 * The servers of one client in fallback order (gRFC A71) and the one streams open to: the primary, or a fallback
 * while the primary cannot be reached. While on a fallback, a probe stream asks the primary for the watched names
 * until it answers.
 */
export class ServerFallback {
  /** The transport of each server, made on first use. */
  private readonly transports: (AdsTransport | undefined)[];
  /** The server streams are opened to: 0, the primary, or a fallback. */
  private active = 0;
  /** While on a fallback: the stream that waits for the primary to answer again. */
  private probe: Subscription | undefined;

  constructor(
    private readonly servers: readonly XdsServerOptions[],
    private readonly options: ServerFallbackOptions,
  ) {
    this.transports = servers.map(() => undefined);
  }

  /** The address of the server streams are opened to. */
  get uri(): string {
    return this.servers[this.active]!.uri;
  }

  /** The primary's address. */
  get primaryUri(): string {
    return this.servers[0]!.uri;
  }

  /** Whether a server comes after the active one. */
  get hasNext(): boolean {
    return this.active < this.servers.length - 1;
  }

  /** Whether the active server has the `ignore_resource_deletion` feature (gRFC A53). */
  get ignoresResourceDeletion(): boolean {
    return (this.servers[this.active]!.serverFeatures ?? []).includes("ignore_resource_deletion");
  }

  /** Opens a stream on the active server. */
  stream(requests: Observable<DiscoveryRequest>): Observable<AdsEvent> {
    return this.transportOf(this.active).stream(requests);
  }

  /** Leaves the active server for the next one; call `probePrimary()` then. */
  next(): void {
    this.transports[this.active]?.close();
    this.active++;
  }

  /** While on a fallback: a stream to the primary that asks for every watched name, until its first response (then `primaryAnswered`). */
  probePrimary(): void {
    if (this.probe !== undefined || this.active === 0) return;
    const backoff = new Backoff(this.options.backoff);
    this.probe = defer(() => this.transportOf(0).stream(from(this.options.probeRequests())))
      .pipe(
        first((event) => event.kind === "response"),
        retry({ delay: () => timer(backoff.next()) }),
      )
      .subscribe(() => {
        this.probe = undefined;
        this.options.primaryAnswered();
      });
  }

  /** Leaves the fallback for the primary (which answered the probe). */
  backToPrimary(): void {
    this.transports[this.active]?.close();
    this.active = 0;
  }

  /** Stops the probe and closes every transport; the next stream opens on the primary. */
  reset(): void {
    this.probe?.unsubscribe();
    this.probe = undefined;
    for (const transport of this.transports) transport?.close();
    this.active = 0;
  }

  /** The transport to server `index`, made on first use. */
  private transportOf(index: number): AdsTransport {
    return (this.transports[index] ??= this.options.transport(this.servers[index]!));
  }
}
