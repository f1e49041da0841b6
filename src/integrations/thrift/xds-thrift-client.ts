// A generated Thrift client made a mesh client: each call of a service method is routed when it is made, by the
// service, the method and the call's headers (merged with metainfo), through the CallRouter (ThriftProxy routes,
// else HTTP routes: route-thrift-call.ts), then sent over the picked endpoint's pooled connection
// (ThriftEndpoint), with the route's timeout or else the caller's.
//
// Calls wait for the first snapshot, and wait-for-ready calls through curable failures, as call-router.ts says.
// Every failure rejects the call with an XdsError whose code says why: the routing codes of the gRPC
// integration (NO_ROUTE, CLUSTER_ABSENT, …, with the same messages), DEADLINE_EXCEEDED, ENDPOINT_UNAVAILABLE,
// CLOSED, INVALID_ARGUMENT (a meta extractor that threw). A server's exceptions reach the caller as they are.

import type { RouteDecision } from "../../routing/router.js";
import type { XdsClient } from "../../xds-client.js";
import { XdsError } from "../../xds-error.js";
import { CallRouter, effectiveDeadline, isRouteDeadline, routeDeadlineMessage, routingFailureMessage } from "../call-router.js";
import { mergeWithMetainfo, routingHeaders } from "../routing-meta.js";
import { routeThriftCall, type ThriftRouteRequest } from "./route-thrift-call.js";
import { ThriftEndpoint, type ThriftClientClass } from "./thrift-endpoint.js";
import { defaultThriftMetaExtractor, type ThriftMetaExtractor } from "./thrift-meta-extractor.js";
import { thriftWire, type ThriftProtocolKind, type ThriftTransportKind } from "./thrift-wire.js";

/** Options of createXdsThriftClient. */
export interface XdsThriftClientOptions {
  /** The xDS target every call is routed within, e.g. `kitex-server.default.svc.cluster.local:8888` (short forms work). */
  readonly target: string;
  /**
   * The Thrift service with its IDL namespace, as Kitex names it: `proxyless.GreetService`. HTTP routes see a call
   * as the path `/proxyless.GreetService/SayHello`; ThriftProxy `service_name` matches the name without namespace.
   */
  readonly service: string;
  /**
   * How messages are framed: "framed" (default), "buffered", "header" (Apache Thrift's THeader) or "ttheader" (Kitex's
   * TTHeader); the last two carry the call's key-values.
   */
  readonly transport?: ThriftTransportKind;
  /** How messages are encoded: "binary" (default) or "compact". */
  readonly protocol?: ThriftProtocolKind;
  /** Each call's timeout in ms, unless the call gives its own (`with({ timeoutMs })`); a route's timeout caps it. Default none. */
  readonly timeoutMs?: number;
  /** Whether calls wait, within their timeout, through routing failures a later snapshot may cure; default false. */
  readonly waitForReady?: boolean;
  /** Returns the metadata header matchers see; replaces the default (the call's headers merged with `metainfo.all()`). */
  readonly metaExtractor?: ThriftMetaExtractor;
}

/** Options of one call, given with `with()`. */
export interface ThriftCallOptions {
  /** Header values routes match; with the "header" and "ttheader" transports, sent as key-values (with metainfo's). */
  readonly headers?: Readonly<Record<string, string>>;
  /** This call's timeout in ms (0 for none), instead of the client's. */
  readonly timeoutMs?: number;
  /** Whether this call waits for ready, instead of the client's choice. */
  readonly waitForReady?: boolean;
}

/** The service methods of a generated client (not its send_/recv_ helpers or its state). */
export type ThriftServiceMethods<T> = {
  readonly [K in keyof T as K extends `send_${string}` | `recv_${string}` | `_${string}` | "incrementSeqId" | "new_seqid" | "seqid"
    ? never
    : T[K] extends (...args: never[]) => unknown
      ? K
      : never]: T[K];
};

/** A Thrift client routed by xDS. */
export interface XdsThriftClient<T> {
  /** The service's methods, each call routed by xDS; they return promises, or take a trailing callback. */
  readonly client: ThriftServiceMethods<T>;
  /** The same methods, with options for the calls made through it: `mesh.with({ headers: { stage: "canary" } }).SayHello(req)`. */
  with(options: ThriftCallOptions): ThriftServiceMethods<T>;
  /** Stops watching the target and closes every endpoint connection; calls in flight and later calls fail with CLOSED. */
  close(): void;
  /** The authorities (`address:port`) with a pooled endpoint connection; for introspection and tests. */
  openEndpoints(): string[];
}

/** Where a view's call options are kept. */
const CALL_OPTIONS = Symbol("rxds.thriftCallOptions");
const NO_OPTIONS: ThriftCallOptions = Object.freeze({});
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
/** Generated clients' own members that are not service methods (those of Apache's `js:node` generator too). */
const NOT_METHODS = new Set(["constructor", "incrementSeqId", "new_seqid", "seqid"]);

/**
 * Makes `Client`, a Thrift client class generated for the `thrift` package (as `@creditkarma/thrift-typescript
 * --target apache` makes them), a client of `options.target` whose calls are routed by xDS.
 */
export function createXdsThriftClient<T>(xds: XdsClient, Client: ThriftClientClass<T>, options: XdsThriftClientOptions): XdsThriftClient<T> {
  const { target, service, transport = "framed", protocol = "binary", metaExtractor = defaultThriftMetaExtractor } = options;
  if (typeof Client !== "function") throw new XdsError("INVALID_ARGUMENT", "createXdsThriftClient: Client: expected a generated Thrift client class");
  if (typeof service !== "string" || service === "") throw new XdsError("INVALID_ARGUMENT", `createXdsThriftClient: service: expected the service's name, e.g. "proxyless.GreetService"`);
  const shortService = service.slice(service.lastIndexOf(".") + 1);
  const wire = thriftWire(transport, protocol, shortService);
  const methods = serviceMethods(Client);
  if (methods.length === 0) throw new XdsError("INVALID_ARGUMENT", "createXdsThriftClient: Client: the class has no service methods; expected a generated Thrift client class");

  const router = new CallRouter<ThriftEndpoint>(xds, target, {
    open: (authority, endpoint) => new ThriftEndpoint(authority, endpoint.address, endpoint.port, wire, Client),
    close: (endpoint, why) => {
      if (why === "departed") endpoint.retire();
      else endpoint.close(new XdsError("CLOSED", `the xDS Thrift client of ${JSON.stringify(target)} was closed`));
    },
  });

  /** Routes and sends one call; rejects only with XdsErrors and the server's exceptions. Never throws. */
  function invoke(method: string, path: string, args: readonly unknown[], callOptions: ThriftCallOptions): Promise<unknown> {
    const own = callOptions.headers ?? NO_HEADERS;
    let request: ThriftRouteRequest;
    try {
      // The extractor runs now, in the caller's async context, even if routing has to wait.
      const meta = metaExtractor({ service, method, headers: own, target: router.target });
      request = { service: shortService, method, path, headers: routingHeaders(meta, { contentType: "application/x-thrift", authority: router.target, path }) };
    } catch (reason: unknown) {
      const message = `the xDS meta extractor threw for ${path}: ${reason instanceof Error ? reason.message : String(reason)}`;
      return Promise.reject(new XdsError("INVALID_ARGUMENT", message, { cause: reason }));
    }
    const timeoutMs = callOptions.timeoutMs ?? options.timeoutMs;
    const deadline = timeoutMs === undefined || timeoutMs <= 0 ? Infinity : Date.now() + timeoutMs;
    const waitForReady = callOptions.waitForReady ?? options.waitForReady ?? false;
    const decision = router.routeBy(routeThriftCall, request);
    if (!router.mustWait(decision, waitForReady)) return dispatch(decision, method, path, args, own, deadline);
    const waited = router.waitForRouteBy(routeThriftCall, request, { deadline, waitForReady }, decision instanceof XdsError ? decision : undefined);
    return waited.then((result) =>
      isRouteDeadline(result) ? Promise.reject(new XdsError("DEADLINE_EXCEEDED", routeDeadlineMessage(path, router.target, result))) : dispatch(result, method, path, args, own, deadline),
    );
  }

  /** Sends a routed call to its endpoint, or fails it with the routing failure. */
  function dispatch(
    decision: RouteDecision | XdsError | undefined,
    method: string,
    path: string,
    args: readonly unknown[],
    own: Readonly<Record<string, string>>,
    deadline: number,
  ): Promise<unknown> {
    if (decision === undefined) return Promise.reject(new XdsError("CLOSED", `the xDS Thrift client of ${JSON.stringify(target)} was closed`));
    if (decision instanceof XdsError) return Promise.reject(new XdsError(decision.code, routingFailureMessage(path, decision), { cause: decision }));
    let endpoint: ThriftEndpoint;
    try {
      endpoint = router.connection(decision.endpoint);
    } catch (reason: unknown) {
      decision.done();
      return Promise.reject(XdsError.from(reason, "ENDPOINT_UNAVAILABLE"));
    }
    const headers = wire.writeKeyValues !== undefined ? keyValues(mergeWithMetainfo(own)) : undefined;
    return endpoint.call(method, args, headers, effectiveDeadline(deadline, Date.now(), decision.timeoutMs), `thrift call ${path}`, decision);
  }

  // The methods live on one prototype; a view is an object holding its call options on top of it.
  const prototype: Record<string, unknown> = {};
  for (const method of methods) {
    const path = `/${service}/${method}`;
    prototype[method] = function (this: { [CALL_OPTIONS]?: ThriftCallOptions } | undefined, ...args: unknown[]): unknown {
      const callOptions = this?.[CALL_OPTIONS] ?? NO_OPTIONS;
      const callback = typeof args[args.length - 1] === "function" ? (args.pop() as (error: unknown, value?: unknown) => void) : undefined;
      const result = invoke(method, path, args, callOptions);
      if (callback === undefined) return result;
      result.then(
        (value) => callback(null, value),
        (error: unknown) => callback(error),
      );
      return undefined;
    };
  }
  Object.freeze(prototype);
  const view = (callOptions: ThriftCallOptions): ThriftServiceMethods<T> => {
    const object = Object.create(prototype) as Record<symbol, unknown>;
    object[CALL_OPTIONS] = callOptions;
    return object as ThriftServiceMethods<T>;
  };

  return {
    client: view(NO_OPTIONS),
    with: (callOptions) => view(callOptions ?? NO_OPTIONS),
    close: () => router.close(),
    openEndpoints: () => router.openEndpoints(),
  };
}

/** The service method names of a generated client class, its parents' included. */
function serviceMethods(Client: ThriftClientClass<unknown>): string[] {
  const names = new Set<string>();
  for (let proto = Client.prototype as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (NOT_METHODS.has(name) || name.startsWith("send_") || name.startsWith("recv_") || name.startsWith("_")) continue;
      if (typeof Object.getOwnPropertyDescriptor(proto, name)?.value === "function") names.add(name);
    }
  }
  return [...names];
}

/** Routing metadata as string key-values: the first of several values; undefined ones left out. */
function keyValues(meta: Readonly<Record<string, string | readonly string[] | undefined>>): Readonly<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const key in meta) {
    const value = meta[key];
    const first = typeof value === "string" ? value : value?.[0];
    if (first !== undefined) values[key] = first;
  }
  return values;
}
