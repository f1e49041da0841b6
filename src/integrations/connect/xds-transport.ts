// A @connectrpc/connect Transport that routes each call with xDS: the call's path and headers (plus
// what the meta extractor returns) pick a route, cluster and endpoint through the CallRouter; the call
// then goes over that endpoint's pooled connect-node transport (baseUrl `http://<address>:<port>`,
// HTTP/2, its own Http2SessionManager). A route timeout shorter than the call's becomes its timeoutMs.
//
// An endpoint that leaves the snapshot has its session closed once its in-flight calls are done.

import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type StreamResponse, type Transport, type UnaryResponse } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
  type GrpcTransportOptions,
} from "@connectrpc/connect-node";
import type { RouteDecision } from "../../routing/router.js";
import type { RequestHeaders } from "../../resources/match/route-match.js";
import type { XdsClient } from "../../xds-client.js";
import { XdsError } from "../../xds-error.js";
import { CallRouter, routingFailureMessage } from "../call-router.js";
import { routingHeaders } from "../routing-meta.js";
import { defaultConnectMetaExtractor, type ConnectMetaExtractor } from "./connect-meta-extractor.js";

/** What a Transport's `header` argument may be (the DOM's HeadersInit, or undefined). */
type HeaderInit = ConstructorParameters<typeof Headers>[0];

/** The wire protocol spoken to every endpoint. */
export type XdsTransportProtocol = "grpc" | "connect" | "grpc-web";

/** Options of createXdsTransport. */
export type XdsTransportOptions = Omit<GrpcTransportOptions, "baseUrl" | "sessionManager"> & {
  /** The xDS target every call is routed within, e.g. `kitex-server.default.svc.cluster.local:8888` (short forms work). */
  readonly target: string;
  /** The protocol spoken to endpoints; default "grpc". Always over HTTP/2 (cleartext, `http://`). */
  readonly protocol?: XdsTransportProtocol;
  /**
   * Returns the metadata the call's header matchers see; replaces the default, which is the call's
   * request headers merged with `metainfo.all()` (the call's own values win). Like kitex's WithRouterMetaExtractor.
   */
  readonly metaExtractor?: ConnectMetaExtractor;
  /** With `connect`, whether side-effect-free methods use GET; default false. */
  readonly useHttpGet?: boolean;
};

/** A Transport routed by xDS; close() closes every endpoint's session. */
export interface XdsTransport extends Transport {
  /** Stops watching the target and closes every pooled session; later calls fail with UNAVAILABLE. */
  close(): void;
  /** The authorities (`address:port`) with an open pooled transport; for introspection and tests. */
  openEndpoints(): string[];
}

/** One endpoint's transport, its session, and its in-flight calls (its session closes when it is retired and idle). */
interface EndpointTransport {
  readonly transport: Transport;
  readonly session: Http2SessionManager;
  inFlight: number;
  retired: boolean;
}

/** The content type header matchers see for each protocol. */
const CONTENT_TYPES: Readonly<Record<XdsTransportProtocol, string>> = {
  grpc: "application/grpc",
  "grpc-web": "application/grpc-web+proto",
  connect: "application/proto",
};

/** A Transport for connect-node clients (`createClient(Service, transport)`) that routes every call by xDS. */
export function createXdsTransport(xds: XdsClient, options: XdsTransportOptions): XdsTransport {
  const { target, protocol = "grpc", metaExtractor = defaultConnectMetaExtractor, useHttpGet, ...endpointOptions } = options;
  if (!(protocol in CONTENT_TYPES)) throw new XdsError("INVALID_ARGUMENT", `createXdsTransport: protocol: expected "grpc", "connect" or "grpc-web", got ${JSON.stringify(protocol)}`);
  const contentType = protocol === "connect" && endpointOptions.useBinaryFormat === false ? "application/json" : CONTENT_TYPES[protocol];
  const { pingIntervalMs, pingIdleConnection, pingTimeoutMs, idleConnectionTimeoutMs, nodeOptions } = endpointOptions;
  const pingOptions = { pingIntervalMs, pingIdleConnection, pingTimeoutMs, idleConnectionTimeoutMs };

  const retire = (endpoint: EndpointTransport): void => {
    endpoint.retired = true;
    if (endpoint.inFlight === 0) endpoint.session.abort();
  };
  const router = new CallRouter<EndpointTransport>(xds, target, {
    open: (authority) => {
      const baseUrl = `http://${authority}`;
      const session = new Http2SessionManager(baseUrl, definedOnly(pingOptions), nodeOptions);
      const common = { ...endpointOptions, baseUrl, httpVersion: "2" as const, sessionManager: session };
      const transport =
        protocol === "grpc"
          ? createGrpcTransport(common)
          : protocol === "grpc-web"
            ? createGrpcWebTransport(common)
            : createConnectTransport(useHttpGet === undefined ? common : { ...common, useHttpGet });
      return { transport, session, inFlight: 0, retired: false };
    },
    close: retire,
  });
  const done = (endpoint: EndpointTransport): void => {
    endpoint.inFlight--;
    if (endpoint.retired && endpoint.inFlight === 0) endpoint.session.abort();
  };

  /** Routes a call (waiting for the first snapshot if need be) and claims its endpoint's transport. */
  async function pick(path: string, headers: RequestHeaders, signal: AbortSignal | undefined, timeoutMs: number | undefined) {
    const startedAt = Date.now();
    const callerTimeoutMs = timeoutMs ?? endpointOptions.defaultTimeoutMs;
    const deadline = callerTimeoutMs === undefined || callerTimeoutMs <= 0 ? Infinity : startedAt + callerTimeoutMs;
    if (!router.ready && !router.isClosed) {
      let outcome;
      try {
        outcome = await router.whenReady(signal === undefined ? { deadline } : { deadline, signal });
      } catch (reason: unknown) {
        if (reason instanceof XdsError) throw new ConnectError(routingFailureMessage(path, reason), Code.Unavailable, undefined, undefined, reason);
        throw ConnectError.from(reason, Code.Canceled);
      }
      if (outcome === "deadline") {
        throw new ConnectError(`deadline exceeded while ${path} waited for the first xDS snapshot of ${JSON.stringify(router.target)}`, Code.DeadlineExceeded);
      }
    }
    const decision: RouteDecision | XdsError | undefined = router.route(path, headers);
    if (decision === undefined) throw new ConnectError(`xDS routing of ${path} failed: no snapshot of ${JSON.stringify(router.target)} yet`, Code.Unavailable);
    if (decision instanceof XdsError) throw new ConnectError(routingFailureMessage(path, decision), Code.Unavailable, undefined, undefined, decision);
    const endpoint = router.connection(decision.endpoint);
    endpoint.inFlight++;
    // The caller's time left (after any wait), capped by the route's timeout, which counts from now.
    const left = deadline === Infinity ? undefined : Math.max(1, deadline - Date.now());
    const routeMs = decision.timeoutMs;
    const effectiveMs = routeMs === undefined ? left : left === undefined ? routeMs : Math.min(left, routeMs);
    return { endpoint, timeoutMs: effectiveMs };
  }

  function routingHeadersOf(path: string, method: DescMethodUnary | DescMethodStreaming, header: Headers): RequestHeaders {
    const meta = metaExtractor({ path, method, header, target: router.target });
    return routingHeaders(meta, { contentType, authority: router.target, path });
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
      const headers = new Headers(header);
      const routing = routingHeadersOf(path, method, headers);
      const picked = await pick(path, routing, signal, timeoutMs);
      try {
        return await picked.endpoint.transport.unary(method, signal, picked.timeoutMs, headers, input, contextValues);
      } finally {
        done(picked.endpoint);
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
      const headers = new Headers(header);
      const routing = routingHeadersOf(path, method, headers);
      const picked = await pick(path, routing, signal, timeoutMs);
      let response: StreamResponse<I, O>;
      try {
        response = await picked.endpoint.transport.stream(method, signal, picked.timeoutMs, headers, input, contextValues);
      } catch (reason: unknown) {
        done(picked.endpoint);
        throw reason;
      }
      return { ...response, message: releasing(response.message, () => done(picked.endpoint)) };
    },

    close: () => router.close(),
    openEndpoints: () => router.openEndpoints(),
  };
}

/** `source`, calling `release` once when it ends, fails or is abandoned. */
async function* releasing<T>(source: AsyncIterable<T>, release: () => void): AsyncIterable<T> {
  try {
    yield* source;
  } finally {
    release();
  }
}

/** `options` without its undefined fields (for exactOptionalPropertyTypes). */
function definedOnly<T extends object>(options: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined) result[key] = value;
  return result as { [K in keyof T]?: Exclude<T[K], undefined> };
}
