// A @connectrpc/connect Transport that routes each call with xDS: the call's path and headers (plus
// what the meta extractor returns) pick a route, cluster and endpoint through the CallRouter; the call
// then goes over that endpoint's pooled connect-node transport (baseUrl `http://<address>:<port>`, or `https://` with the mesh's certificates for a TLS cluster,
// HTTP/2, its own session). A route timeout shorter than the call's becomes its timeoutMs. Before it is sent, the
// call goes through its route's HTTP filters (fault injection, local rate limit; call-filters.ts).
//
// With a retry policy (call-attempts.ts), a call that fails with a retryable status before it commits is tried again
// after its backoff, on a freshly picked endpoint, with `grpc-previous-rpc-attempts`: a unary call on any error, a
// streaming call until its response headers arrive (its requests are read once and replayed, see
// replayable-input.ts). A per-try timeout aborts an attempt with DeadlineExceeded. The call's deadline is never
// extended. A call that was retried shows `grpc-previous-rpc-attempts` in its response header or error metadata.
//
// An endpoint that leaves the snapshot has its session closed once the calls on it are over (see
// EndpointSession); close() aborts every session at once. A stream response that the caller stops
// iterating early is cancelled. Every failure reaches the caller as a ConnectError.
//
// The routing decision learns how the call ended from the signal Connect gives each call, which it aborts
// when the call ends, however it ends (see reportOutcome): with the ConnectError's code, CANCELED when the
// caller aborted, OK otherwise. A call that never reached the endpoint ends its decision without a status.

import { create, isMessage, toBinary, type DescMessage, type DescMethodStreaming, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  type ContextKey,
  type ContextValues,
  type Interceptor,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, type GrpcTransportOptions } from "@connectrpc/connect-node";
import type { RequestHeaders } from "../../resources/match/route-match.js";
import type { RouteDecision } from "../../routing/route-decision.js";
import type { XdsClient } from "../../xds-client.js";
import { XdsError } from "../../xds-error.js";
import { CallAttempts, PREVIOUS_ATTEMPTS_KEY } from "../call-attempts.js";
import { applyCallFilters } from "../call-filters.js";
import { authorityOf, CallRouter, effectiveDeadline, isRouteDeadline, routeDeadlineMessage, routingFailureMessage } from "../call-router.js";
import { routingHeaders } from "../routing-meta.js";
import { sendMetainfo } from "../metainfo.js";
import { defaultConnectMetaExtractor, type ConnectMetaExtractor } from "./connect-meta-extractor.js";
import { EndpointSession } from "./endpoint-session.js";
import { nextAttempt, pause } from "./next-attempt.js";
import { ReplayableInput } from "./replayable-input.js";

/** What a Transport's `header` argument may be (the DOM's HeadersInit, or undefined). */
type HeaderInit = ConstructorParameters<typeof Headers>[0];

/** The wire protocol spoken to every endpoint. */
export type XdsTransportProtocol = "grpc" | "connect" | "grpc-web";

/** Options of createXdsTransport. */
export type XdsTransportOptions = Omit<GrpcTransportOptions, "baseUrl" | "sessionManager"> & {
  /** The xDS target every call is routed within, e.g. `kitex-server.default.svc.cluster.local:8888` (short forms work). */
  readonly target: string;
  /** The protocol spoken to endpoints; default "grpc". Always over HTTP/2: TLS with the mesh's certificates for a TLS cluster, else cleartext. */
  readonly protocol?: XdsTransportProtocol;
  /**
   * Returns the metadata the call's header matchers see; replaces the default, which is the call's
   * request headers merged with `metainfo.all()` (the call's own values win). Like kitex's WithRouterMetaExtractor.
   */
  readonly metaExtractor?: ConnectMetaExtractor;
  /**
   * Whether `metainfo` values travel to the backend as request headers (those the call's own headers lack), as Kitex's
   * persistent metainfo does; default true. With false, they only steer routing.
   */
  readonly propagateMetainfo?: boolean;
  /** With `connect`, whether side-effect-free methods use GET; default false. */
  readonly useHttpGet?: boolean;
  /**
   * Whether calls wait, within their timeout, through routing failures a later snapshot may cure (the control
   * plane unreachable, a resource absent or rejected, no healthy endpoint), as gRPC's wait-for-ready calls do;
   * default false: they fail at once with UNAVAILABLE. A call overrides it with the context value `waitForReady`.
   */
  readonly waitForReady?: boolean;
};

/**
 * Per call, Connect's equivalent of gRPC's wait-for-ready (see `XdsTransportOptions.waitForReady`):
 * `client.sayHello(request, { contextValues: createContextValues().set(waitForReady, true) })`.
 */
export const waitForReady = createContextKey<boolean | undefined>(undefined, { description: "rxds: wait for ready" });

/** A routed call's decision and the signal the call was given, for reportOutcome, and what to do when it ends. */
interface RoutedCall {
  readonly decision: RouteDecision;
  readonly signal: AbortSignal | undefined;
  readonly ended?: () => void;
}

const routedCall = createContextKey<RoutedCall | undefined>(undefined, { description: "rxds: routed call" });

/**
 * The innermost interceptor of every endpoint transport: when Connect aborts the call's signal (the call ended),
 * tells the call's decision how: the ConnectError's code, CANCELED when the caller's signal aborted, else OK
 * (Connect aborts the signal without a reason when a call succeeds).
 */
const reportOutcome: Interceptor = (next) => (request) => {
  const routed = request.contextValues.get(routedCall);
  if (routed !== undefined) {
    const signal = request.signal;
    const report = (): void => {
      const reason: unknown = signal.reason;
      routed.decision.done(reason instanceof ConnectError ? reason.code : routed.signal?.aborted === true ? Code.Canceled : 0);
      routed.ended?.();
    };
    if (signal.aborted) report();
    else signal.addEventListener("abort", report, { once: true });
  }
  return next(request);
};

/** `values` (or fresh ones) with the routed call under `routedCall`, without changing the caller's object. */
function withRoutedCall(values: ContextValues | undefined, routed: RoutedCall): ContextValues {
  const base = values ?? createContextValues();
  return {
    get: <T>(key: ContextKey<T>): T => (key.id === routedCall.id ? (routed as T) : base.get(key)),
    set(key, value) {
      base.set(key, value);
      return this;
    },
    delete(key) {
      base.delete(key);
      return this;
    },
  };
}

/** A Transport routed by xDS; close() closes every endpoint's session. */
export interface XdsTransport extends Transport {
  /** Stops watching the target and aborts every pooled session, with the calls on it (CANCELED); later calls fail with UNAVAILABLE. */
  close(): void;
  /** The authorities (`address:port`) with an open pooled transport; for introspection and tests. */
  openEndpoints(): string[];
}

/** An attempt's per-try timeout: whether it fired, and how to stop it. */
interface PerTryTimeout {
  timedOut(): boolean;
  clear(): void;
}

/** One endpoint's transport and its session. */
interface EndpointTransport {
  readonly transport: Transport;
  readonly session: EndpointSession;
}

/** The content type header matchers see for each protocol. */
const CONTENT_TYPES: Readonly<Record<XdsTransportProtocol, string>> = {
  grpc: "application/grpc",
  "grpc-web": "application/grpc-web+proto",
  connect: "application/proto",
};

/** A Transport for connect-node clients (`createClient(Service, transport)`) that routes every call by xDS. */
export function createXdsTransport(xds: XdsClient, options: XdsTransportOptions): XdsTransport {
  const { target, protocol = "grpc", metaExtractor = defaultConnectMetaExtractor, propagateMetainfo = true, useHttpGet, waitForReady: defaultWaitForReady = false, ...endpointOptions } = options;
  if (!(protocol in CONTENT_TYPES)) throw new XdsError("INVALID_ARGUMENT", `createXdsTransport: protocol: expected "grpc", "connect" or "grpc-web", got ${JSON.stringify(protocol)}`);
  const contentType = protocol === "connect" && endpointOptions.useBinaryFormat === false ? "application/json" : CONTENT_TYPES[protocol];
  const { pingIntervalMs, pingIdleConnection, pingTimeoutMs, idleConnectionTimeoutMs, nodeOptions } = endpointOptions;
  const pingOptions = { pingIntervalMs, pingIdleConnection, pingTimeoutMs, idleConnectionTimeoutMs };

  const router = new CallRouter<EndpointTransport>(xds, target, {
    open: (authority, _endpoint, tls) => {
      // A TLS cluster's endpoints: HTTP/2 over TLS with the mesh's certificates (gRFC A29); the others cleartext.
      const baseUrl = `${tls === undefined ? "http" : "https"}://${authority}`;
      const tlsOptions =
        tls === undefined
          ? {}
          : {
              ca: tls.ca,
              ...(tls.certificate === undefined ? {} : { cert: tls.certificate }),
              ...(tls.privateKey === undefined ? {} : { key: tls.privateKey }),
              ...(tls.servername === undefined ? {} : { servername: tls.servername }),
              checkServerIdentity: tls.checkServerIdentity,
            };
      const session = new EndpointSession(baseUrl, definedOnly(pingOptions), { ...nodeOptions, ...tlsOptions });
      const interceptors = [...(endpointOptions.interceptors ?? []), session.holdForCall, reportOutcome];
      const common = { ...endpointOptions, interceptors, baseUrl, httpVersion: "2" as const, sessionManager: session };
      const transport =
        protocol === "grpc"
          ? createGrpcTransport(common)
          : protocol === "grpc-web"
            ? createGrpcWebTransport(common)
            : createConnectTransport(useHttpGet === undefined ? common : { ...common, useHttpGet });
      return { transport, session };
    },
    close: ({ session }, why) => {
      if (why === "departed") session.retire();
      else session.abort(new ConnectError(`the xDS transport of ${JSON.stringify(target)} was closed`, Code.Canceled));
    },
  });

  /**
   * Routes a call (waiting for the first snapshot if need be) and runs its HTTP filters (waiting out a fault delay):
   * the decision of its first attempt, whose done() the caller owes, and the call's deadline (the caller's, capped by
   * the route's timeout from the decision on; Infinity for none). Throws only ConnectErrors.
   */
  async function route(
    path: string,
    method: DescMethodUnary | DescMethodStreaming,
    header: Headers,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    contextValues: ContextValues | undefined,
  ): Promise<{ decision: RouteDecision; deadline: number }> {
    const startedAt = Date.now();
    let headers: RequestHeaders;
    try {
      // The extractor runs now, in the caller's async context, even if routing has to wait.
      headers = routingHeaders(metaExtractor({ path, method, header, target: router.target }), { contentType, authority: router.target, path });
    } catch (reason: unknown) {
      throw new ConnectError(`the xDS meta extractor threw for ${path}: ${messageOf(reason)}`, Code.Internal, undefined, undefined, reason);
    }
    const callerTimeoutMs = timeoutMs ?? endpointOptions.defaultTimeoutMs;
    const callerDeadline = callerTimeoutMs === undefined || callerTimeoutMs <= 0 ? Infinity : startedAt + callerTimeoutMs;
    const wait = contextValues?.get(waitForReady) ?? defaultWaitForReady;
    let decision = router.route(path, headers);
    if (decision === undefined || router.mustWait(decision, wait)) {
      const last = decision instanceof XdsError ? decision : undefined;
      const options = signal === undefined ? { deadline: callerDeadline, waitForReady: wait } : { deadline: callerDeadline, waitForReady: wait, signal };
      const result = await router.waitForRoute(path, headers, options, last);
      if (result === undefined) throw ConnectError.from(signal?.reason, Code.Canceled);
      if (isRouteDeadline(result)) throw new ConnectError(routeDeadlineMessage(path, router.target, result), Code.DeadlineExceeded);
      decision = result;
    }
    if (decision instanceof XdsError) throw unavailable(path, decision);
    const deadline = effectiveDeadline(callerDeadline, Date.now(), decision.timeoutMs);
    const filters = decision.httpFilters;
    const verdict = filters === undefined ? undefined : applyCallFilters(filters, { path, headers, cluster: decision.cluster });
    if (verdict === undefined) return { decision, deadline };
    // The endpoint is not held while the fault delays or ends the call; the call picks one again after a delay.
    decision.done();
    try {
      if (verdict.delayMs > 0) await pause(verdict.delayMs, deadline, signal, `${path} was delayed ${verdict.delayMs} ms by fault injection`);
    } finally {
      verdict.finish();
    }
    if (verdict.abort !== undefined) throw new ConnectError(verdict.abort.message, verdict.abort.code as Code);
    const again = decision.pickAgain();
    if (again instanceof XdsError) throw unavailable(path, again);
    return { decision: again, deadline };
  }

  /**
   * Starts one attempt of a call: its endpoint's transport (throws a ConnectError, the decision ended, when there is
   * none), its timeout, its signal (with the per-try timeout's), and its request headers.
   */
  function attemptOf(decision: RouteDecision, attempts: CallAttempts | undefined, signal: AbortSignal | undefined, deadline: number, headers: Headers, path: string) {
    let endpoint: EndpointTransport;
    try {
      endpoint = router.connection(decision.endpoint, decision.leafCluster);
    } catch (reason: unknown) {
      decision.done();
      if (reason instanceof XdsError) throw unavailable(path, reason);
      const message = `xDS call ${path} to endpoint ${authorityOf(decision.endpoint)} failed: connect-node could not open a transport to it: ${messageOf(reason)}`;
      throw new ConnectError(message, Code.Internal, undefined, undefined, reason);
    }
    const timeoutMs = deadline === Infinity ? undefined : Math.max(1, deadline - Date.now());
    let attemptSignal = signal;
    let perTry: PerTryTimeout | undefined;
    const perTryMs = attempts?.perTryTimeoutMs;
    if (perTryMs !== undefined && (timeoutMs === undefined || perTryMs < timeoutMs)) {
      const controller = new AbortController();
      const message = `xDS per-try timeout of ${perTryMs} ms passed for ${path} (${attempts!.describe()}, endpoint ${authorityOf(decision.endpoint)})`;
      const timer = setTimeout(() => controller.abort(new ConnectError(message, Code.DeadlineExceeded)), perTryMs);
      attemptSignal = signal === undefined ? controller.signal : AbortSignal.any([signal, controller.signal]);
      perTry = { timedOut: () => controller.signal.aborted, clear: () => clearTimeout(timer) };
    }
    let attemptHeaders = headers;
    if (attempts !== undefined && attempts.attempts > 1) {
      attemptHeaders = new Headers(headers);
      attemptHeaders.set(PREVIOUS_ATTEMPTS_KEY, String(attempts.attempts - 1));
    }
    return { transport: endpoint.transport, timeoutMs, signal: attemptSignal, headers: attemptHeaders, perTry };
  }

  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeaderInit,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const path = `/${method.parent.typeName}/${method.name}`;
      const headers = headersOf(header, propagateMetainfo);
      const routed = await route(path, method, headers, signal, timeoutMs, contextValues);
      const attempts = CallAttempts.of(routed.decision);
      for (let decision = routed.decision; ; ) {
        const current = decision;
        const attempt = attemptOf(current, attempts, signal, routed.deadline, headers, path);
        const values = withRoutedCall(contextValues, { decision: current, signal });
        try {
          const response = await attempt.transport.unary(method, attempt.signal, attempt.timeoutMs, attempt.headers, input, values);
          if (attempts !== undefined && attempts.attempts > 1) response.header.set(PREVIOUS_ATTEMPTS_KEY, String(attempts.attempts - 1));
          return response;
        } catch (reason: unknown) {
          current.done();
          attempt.perTry?.clear();
          decision = await nextAttempt(reason, attempts, current, attempt.perTry?.timedOut() === true, signal, routed.deadline, path);
        } finally {
          // Reported already when the attempt went out (reportOutcome); otherwise it never reached the endpoint.
          attempt.perTry?.clear();
          current.done();
        }
      }
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeaderInit,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      const path = `/${method.parent.typeName}/${method.name}`;
      const headers = headersOf(header, propagateMetainfo);
      const routed = await route(path, method, headers, signal, timeoutMs, contextValues);
      const attempts = CallAttempts.of(routed.decision);
      const requests = attempts === undefined ? undefined : new ReplayableInput(input, attempts, (request: MessageInitShape<I>) => sizeOf(method.input, request));
      // Connect cancels a stream only through its signal: this one also fires when the caller stops iterating.
      const abandoned = new AbortController();
      const callSignal = signal === undefined ? abandoned.signal : AbortSignal.any([signal, abandoned.signal]);
      for (let decision = routed.decision; ; ) {
        let response: StreamResponse<I, O>;
        const current = decision;
        try {
          const attempt = attemptOf(current, attempts, callSignal, routed.deadline, headers, path);
          const values = withRoutedCall(contextValues, attempt.perTry === undefined ? { decision: current, signal: callSignal } : { decision: current, signal: callSignal, ended: attempt.perTry.clear });
          try {
            response = await attempt.transport.stream(method, attempt.signal, attempt.timeoutMs, attempt.headers, requests?.attempt() ?? input, values);
          } catch (reason: unknown) {
            current.done();
            attempt.perTry?.clear();
            decision = await nextAttempt(reason, attempts, current, attempt.perTry?.timedOut() === true, callSignal, routed.deadline, path);
            continue;
          }
        } catch (reason: unknown) {
          requests?.close();
          throw reason;
        }
        // The response headers arrived: the call is committed to this attempt.
        attempts?.commit();
        if (attempts !== undefined && attempts.attempts > 1) response.header.set(PREVIOUS_ATTEMPTS_KEY, String(attempts.attempts - 1));
        return { ...response, message: cancelledWhenAbandoned(response.message, abandoned, path) };
      }
    },

    close: () => router.close(),
    openEndpoints: () => router.openEndpoints(),
  };
}

/** `source`; a caller that stops iterating before the end (break, throw, return()) cancels the call. */
function cancelledWhenAbandoned<T>(source: AsyncIterable<T>, call: AbortController, path: string): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = source[Symbol.asyncIterator]();
      return {
        next: () => iterator.next(),
        return: (value?: unknown) => {
          call.abort(new ConnectError(`the response stream of ${path} was abandoned`, Code.Canceled));
          return Promise.resolve({ done: true, value: value as T });
        },
      };
    },
  };
}

/**
 * The call's request headers, with the metainfo values they lack when `withMetainfo`; a bad header name or value is
 * the caller's error, reported as INVALID_ARGUMENT.
 */
function headersOf(header: HeaderInit, withMetainfo: boolean): Headers {
  let headers: Headers;
  try {
    headers = new Headers(header);
  } catch (reason: unknown) {
    throw new ConnectError(`invalid request headers: ${messageOf(reason)}`, Code.InvalidArgument, undefined, undefined, reason);
  }
  if (withMetainfo) {
    try {
      sendMetainfo((key) => headers.has(key), (key, value) => headers.set(key, value));
    } catch (reason: unknown) {
      throw new ConnectError(messageOf(reason), Code.InvalidArgument, undefined, undefined, reason);
    }
  }
  return headers;
}

/** The UNAVAILABLE error of a routing failure. */
function unavailable(path: string, error: XdsError): ConnectError {
  return new ConnectError(routingFailureMessage(path, error), Code.Unavailable, undefined, undefined, error);
}

/** The serialized size of a request, for the retry buffer. */
function sizeOf<I extends DescMessage>(schema: I, request: MessageInitShape<I>): number {
  return toBinary(schema, isMessage(request, schema) ? request : create(schema, request)).length;
}

function messageOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** `options` without its undefined fields (for exactOptionalPropertyTypes). */
function definedOnly<T extends object>(options: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined) result[key] = value;
  return result as { [K in keyof T]?: Exclude<T[K], undefined> };
}
