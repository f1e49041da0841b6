// The calls of one `xds:///` channel made through register(), from their routing to their end.
//
// grpc-js asks two things of a channel's resolver and load balancer for each call: a CallConfig (the config
// selector, once per call, when the call starts: its timeout) and a subchannel (the picker, once or more, until the
// call is sent). RoutedCalls answers both from rxds's Router: select() routes the call — its RouteDecision holds the
// endpoint from then on — and gives the route's timeout; pick() hands grpc-js the decision's endpoint. The decision
// travels from one to the other under an id in the call's pick information, and ends, with the call's status, in a
// filter grpc-js runs when the call ends, whatever ended it.
//
// What a pick answers, as rxds/grpc's XdsChannel does for its calls:
// - a decision whose endpoint is connected: that endpoint (the call is then dispatched);
// - an endpoint still connecting: QUEUE, the call waits for it;
// - an endpoint whose connection failed: the decision ends UNAVAILABLE (outlier detection counts it) and the pick is
//   a TRANSIENT_FAILURE: the call fails, or waits if wait-for-ready, and is routed again at its next pick;
// - a routing failure a later snapshot may cure: TRANSIENT_FAILURE (wait-for-ready calls wait for a new Router);
//   one it cannot (no route, an action a client cannot forward, the circuit breaker): DROP, the call fails at once.
// A call not yet dispatched is routed again when a new Router has come since it was routed.

import type { experimental, Metadata, StatusObject } from "@grpc/grpc-js";
import * as grpc from "@grpc/grpc-js";
import type { RequestHeaders, RouteRequest } from "../../resources/match/route-match.js";
import type { RouteDecision, Router } from "../../routing/router.js";
import { XdsError } from "../../xds-error.js";
import { authorityOf, curableByUpdate, routingFailureMessage } from "../call-router.js";
import { routingHeaders } from "../routing-meta.js";
import { metadataToMeta } from "./grpc-meta-extractor.js";

type CallConfig = ReturnType<experimental.ConfigSelector["invoke"]>;
type PickResult = experimental.PickResult;
type Subchannel = experimental.SubchannelInterface;
type Filter = ReturnType<CallConfig["dynamicFilterFactories"][number]["createFilter"]>;

/** The pick information key under which a call's id travels from select() to pick(). */
const CALL_ID = "rxds.call";

/** One call between select() and its end. */
interface PendingCall {
  readonly path: string;
  readonly headers: RequestHeaders;
  /** The current decision or routing failure; undefined once a failed connection released the decision. */
  result: RouteDecision | XdsError | undefined;
  /** The Router `result` came from. */
  router: Router;
  /** Whether a pick handed the call to its endpoint. */
  dispatched: boolean;
}

/** The calls of one channel, routed with its target's latest Router. */
export class RoutedCalls {
  /** The target's latest Router; select() is only called once there is one. */
  router: Router | undefined;
  /** This channel's id for `io.grpc.channel_id` hash policies. */
  private readonly channelId = Math.floor(Math.random() * 2 ** 53);
  private readonly calls = new Map<string, PendingCall>();
  private nextId = 0;

  constructor(
    /** The target as dialled, without `xds:///`. */
    readonly target: string,
    private readonly sourceIp: string | undefined,
  ) {}

  /** The config selector: routes the call and gives its timeout; the decision waits for the call's picks. */
  select(path: string, metadata: Metadata): CallConfig {
    const router = this.router!;
    const headers = routingHeaders(metadataToMeta(metadata), { contentType: "application/grpc", authority: this.target, path });
    const result = router.route(this.request(path, headers));
    const id = String(this.nextId++);
    this.calls.set(id, { path, headers, result, router, dispatched: false });
    const timeoutMs = result instanceof XdsError ? undefined : result.timeoutMs;
    return {
      methodConfig: timeoutMs === undefined ? { name: [] } : { name: [], timeout: { seconds: Math.floor(timeoutMs / 1000), nanos: Math.round((timeoutMs % 1000) * 1e6) } },
      pickInformation: { [CALL_ID]: id },
      status: grpc.status.OK,
      dynamicFilterFactories: [{ createFilter: () => new CallEnd(this, id) }],
    };
  }

  /** The picker: the subchannel of the call's endpoint, or why the call waits or fails (see the top of this file). */
  pick(pickInformation: Readonly<Record<string, string>>, subchannels: ReadonlyMap<string, Subchannel>): PickResult {
    const call = this.calls.get(pickInformation[CALL_ID] ?? "");
    if (call === undefined) return failure(grpc.experimental.PickResultType.DROP, grpc.status.INTERNAL, `xDS call to ${JSON.stringify(this.target)} was not routed by rxds's config selector`);
    const router = this.router!;
    if (!call.dispatched && (call.result === undefined || call.router !== router)) {
      if (call.result !== undefined && !(call.result instanceof XdsError)) call.result.done();
      call.result = router.route(this.request(call.path, call.headers));
      call.router = router;
    }
    const result = call.result!;
    if (result instanceof XdsError) {
      const type = curableByUpdate(result) ? grpc.experimental.PickResultType.TRANSIENT_FAILURE : grpc.experimental.PickResultType.DROP;
      return failure(type, grpc.status.UNAVAILABLE, routingFailureMessage(call.path, result));
    }
    const authority = authorityOf(result.endpoint);
    if (router.snapshot.clusters.get(result.leafCluster)?.cluster?.tls !== undefined) {
      result.done();
      call.result = undefined;
      return failure(
        grpc.experimental.PickResultType.DROP,
        grpc.status.UNAVAILABLE,
        `xDS call ${call.path} to endpoint ${authority} cannot be made: cluster ${JSON.stringify(result.leafCluster)} asks for TLS, which register() does not set up; use xdsClientOptions for mesh mTLS`,
      );
    }
    const subchannel = subchannels.get(authority);
    const state = subchannel?.getConnectivityState();
    if (subchannel === undefined || state === grpc.connectivityState.CONNECTING) return QUEUE;
    if (state === grpc.connectivityState.IDLE) {
      subchannel.startConnecting();
      return QUEUE;
    }
    if (state === grpc.connectivityState.READY) {
      call.dispatched = true;
      return { pickResultType: grpc.experimental.PickResultType.COMPLETE, subchannel, status: null, onCallStarted: null, onCallEnded: null };
    }
    // TRANSIENT_FAILURE (or SHUTDOWN): the call reached no endpoint; the endpoint's failure counts for outlier detection.
    result.done(grpc.status.UNAVAILABLE);
    call.result = undefined;
    call.dispatched = false;
    return failure(grpc.experimental.PickResultType.TRANSIENT_FAILURE, grpc.status.UNAVAILABLE, `xDS call ${call.path} to endpoint ${authority} failed: its connection failed`);
  }

  /** Ends call `id` with its final status: its decision learns it (or, if the call never reached the endpoint, only that it ended). */
  end(id: string, code: number): void {
    const call = this.calls.get(id);
    if (call === undefined) return;
    this.calls.delete(id);
    const result = call.result;
    if (result !== undefined && !(result instanceof XdsError)) {
      if (call.dispatched) result.done(code);
      else result.done();
    }
  }

  private request(path: string, headers: RequestHeaders): RouteRequest {
    const sourceIp = this.sourceIp;
    return sourceIp === undefined ? { path, headers, channelId: this.channelId } : { path, headers, channelId: this.channelId, sourceIp };
  }
}

const QUEUE: PickResult = { pickResultType: grpc.experimental.PickResultType.QUEUE, subchannel: null, status: null, onCallStarted: null, onCallEnded: null };

function failure(type: experimental.PickResultType, code: grpc.status, details: string): PickResult {
  const status: StatusObject = { code, details, metadata: new grpc.Metadata() };
  return { pickResultType: type, subchannel: null, status, onCallStarted: null, onCallEnded: null };
}

/** The per-call filter grpc-js runs once when the call ends, however it ends: it ends the call's decision. */
class CallEnd implements Filter {
  constructor(
    private readonly calls: RoutedCalls,
    private readonly id: string,
  ) {}

  sendMetadata(metadata: Promise<Metadata>): Promise<Metadata> {
    return metadata;
  }

  receiveMetadata(metadata: Metadata): Metadata {
    return metadata;
  }

  sendMessage<T>(message: Promise<T>): Promise<T> {
    return message;
  }

  receiveMessage(message: Promise<Buffer>): Promise<Buffer> {
    return message;
  }

  receiveTrailers(status: StatusObject): StatusObject {
    this.calls.end(this.id, status.code);
    return status;
  }
}
