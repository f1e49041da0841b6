// One endpoint's Thrift connection, as the CallRouter pools it: a `thrift` Connection to `address:port` and a
// client of the application's generated class on it, opened on the first call and opened again after it is lost.
//
// The package's Connection neither times calls out nor fails them when the socket closes (their callbacks are
// never called), so the calls in flight are tracked here by sequence id: each ends with its response, its
// deadline (DEADLINE_EXCEEDED), or the loss of the connection (ENDPOINT_UNAVAILABLE, naming the endpoint and the
// socket's error). A response that comes after its call ended finds no callback and is dropped.
//
// An endpoint that leaves the snapshot is retired: its connection closes once no call is in flight. close()
// closes it at once, failing the calls in flight with the given error.

import thrift from "thrift";
import { XdsError } from "../../xds-error.js";
import type { ThriftWire } from "./thrift-wire.js";

/** A generated Thrift client class: `new Client(output, protocol)`, its methods registering a callback in `_reqs[_seqid]`. */
export type ThriftClientClass<T> = new (output: never, protocol: never) => T;

/** What this file reads of a generated client: its sequence id, its callbacks by id, its output transport. */
interface GeneratedClient {
  _seqid: number;
  _reqs: Record<number, unknown>;
  output: unknown;
  [method: string]: unknown;
}

/** The part of the package's Connection used here. */
interface Connection {
  on(event: "error", listener: (error: Error) => void): void;
  on(event: "close", listener: () => void): void;
  destroy(): void;
}

/** How a call ended, for outcome reporting. */
export type ThriftCallOutcome = "ok" | "failed" | "deadline" | "connection-lost" | "closed";

/** A generated client's callback for one call: `(error)` fails its promise, `(undefined, value)` fulfils it. */
type Callback = (error: unknown, value?: unknown) => void;

/** One call in flight. */
interface PendingCall {
  /** The generated client's own callback of the call, which settles the promise its method returned. */
  readonly callback: Callback;
  readonly label: string;
  /** Told how the call ended (its routing decision: balancing's in-flight counts and outlier detection). */
  readonly ending: CallEnding;
  timer: NodeJS.Timeout | undefined;
}

/** What is told how a call ended: a gRPC status code, or none when the call never reached the endpoint. */
export interface CallEnding {
  done(status?: number): void;
}

/**
 * The gRPC status a Thrift call's end reports to balancing: OK; UNKNOWN for an exception the server answered with;
 * DEADLINE_EXCEEDED; UNAVAILABLE for a lost connection; none for a call the client itself closed.
 */
const STATUS_OF: Readonly<Record<ThriftCallOutcome, number | undefined>> = {
  ok: 0,
  failed: 2,
  deadline: 4,
  "connection-lost": 14,
  closed: undefined,
};

/** One open connection and the calls in flight on it. */
interface Link {
  readonly connection: Connection;
  readonly client: GeneratedClient;
  readonly calls: Map<number, PendingCall>;
  lastError: Error | undefined;
}

/** The pooled Thrift connection to one endpoint. */
export class ThriftEndpoint {
  private link: Link | undefined;
  private retired = false;
  private closedWith: XdsError | undefined;

  constructor(
    /** `address:port` (`[v6]:port`). */
    readonly authority: string,
    private readonly address: string,
    private readonly port: number,
    private readonly wire: ThriftWire,
    private readonly Client: ThriftClientClass<unknown>,
  ) {}

  /**
   * Calls `method` with `args` on this endpoint, with the key-values `headers` when the wire carries them; settles
   * with the response, the server's exception, or an XdsError (DEADLINE_EXCEEDED once `deadline`, ms since the epoch,
   * passes; ENDPOINT_UNAVAILABLE when the connection is lost; CLOSED when closed; INVALID_ARGUMENT for key-values the
   * wire cannot carry). `label` names the call; `ending` is told how it ended, once.
   */
  call(
    method: string,
    args: readonly unknown[],
    headers: Readonly<Record<string, string>> | undefined,
    deadline: number,
    label: string,
    ending: CallEnding,
  ): Promise<unknown> {
    if (this.closedWith !== undefined) {
      ending.done();
      return Promise.reject(this.closedWith);
    }
    const link = this.link ?? this.open();
    const client = link.client;
    let response: unknown;
    try {
      if (headers !== undefined) this.wire.writeKeyValues?.(client.output, method, headers, deadline);
      response = (client[method] as (...args: readonly unknown[]) => unknown)(...args);
    } catch (reason: unknown) {
      // Key-values the wire cannot carry, or e.g. a required field unset: nothing was sent.
      ending.done();
      return Promise.reject(reason);
    }
    // The generated method has registered its callback under its sequence id: wrap it, so that the call's end is
    // seen here, and keep it, so that a deadline or a lost connection can end the call through it.
    const seqid = client._seqid;
    const callback = client._reqs[seqid] as Callback | undefined;
    if (callback === undefined) {
      ending.done(); // it failed before sending
      return response as Promise<unknown>;
    }
    const pending: PendingCall = { callback, label, ending, timer: undefined };
    link.calls.set(seqid, pending);
    client._reqs[seqid] = (error: unknown, value?: unknown) => this.settle(link, seqid, error === undefined || error === null ? "ok" : "failed", error, value);
    const delay = deadline - Date.now();
    if (delay <= 0) this.settle(link, seqid, "deadline", this.deadlineError(label));
    else if (delay <= 2 ** 31 - 1) pending.timer = setTimeout(() => this.settle(link, seqid, "deadline", this.deadlineError(label)), delay);
    return response as Promise<unknown>;
  }

  /** The number of calls in flight; for introspection and tests. */
  get inFlight(): number {
    return this.link?.calls.size ?? 0;
  }

  /** Closes the connection as soon as no call is in flight: now, or when the last one ends. */
  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) this.drop(this.link);
  }

  /** Closes the connection now; the calls in flight, and any later call, fail with `reason`. */
  close(reason: XdsError): void {
    this.closedWith = reason;
    const link = this.link;
    if (link === undefined) return;
    for (const seqid of [...link.calls.keys()]) this.settle(link, seqid, "closed", reason);
    this.drop(link);
  }

  private open(): Link {
    const lib = thrift as unknown as {
      createConnection(host: string, port: number, options: object): Connection;
      createClient(Client: unknown, connection: Connection): GeneratedClient;
    };
    const connection = lib.createConnection(this.address, this.port, { transport: this.wire.transport, protocol: this.wire.protocol });
    const link: Link = { connection, client: lib.createClient(this.Client, connection), calls: new Map(), lastError: undefined };
    // An error (refused, reset, a response that cannot be decoded) leaves the stream unusable: close it; "close" follows.
    connection.on("error", (error) => {
      link.lastError ??= error;
      connection.destroy();
    });
    connection.on("close", () => this.lost(link));
    this.link = link;
    return link;
  }

  /** The connection closed: its calls in flight fail, and the next call opens a new one. */
  private lost(link: Link): void {
    if (this.link === link) this.link = undefined;
    const why = link.lastError === undefined ? "the connection closed" : `the connection failed: ${link.lastError.message}`;
    for (const [seqid, pending] of [...link.calls]) {
      const error = new XdsError("ENDPOINT_UNAVAILABLE", `xDS ${pending.label} to endpoint ${this.authority} failed: ${why}`, { cause: link.lastError });
      this.settle(link, seqid, "connection-lost", error);
    }
  }

  /**
   * Ends one call (once): the generated client forgets it, its timer is cleared, balancing is told how it ended, and
   * its own callback gives the caller `error` or `value`.
   */
  private settle(link: Link, seqid: number, outcome: ThriftCallOutcome, error: unknown, value?: unknown): void {
    const pending = link.calls.get(seqid);
    if (pending === undefined) return;
    link.calls.delete(seqid);
    delete link.client._reqs[seqid];
    clearTimeout(pending.timer);
    pending.ending.done(STATUS_OF[outcome]);
    pending.callback(outcome === "ok" ? undefined : error, value);
    if (this.retired && link.calls.size === 0) this.drop(link);
  }

  private drop(link: Link | undefined): void {
    if (link === undefined) return;
    if (this.link === link) this.link = undefined;
    link.connection.destroy();
  }

  private deadlineError(label: string): XdsError {
    return new XdsError("DEADLINE_EXCEEDED", `deadline exceeded while ${label} waited for endpoint ${this.authority} to answer`);
  }
}
