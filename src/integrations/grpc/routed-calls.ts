// The calls of one `xds:///` channel made through register(), from their routing to their end.
//
// grpc-js asks two things of a channel's resolver and load balancer for each call: a CallConfig (the config
// selector, once per call, when the call starts: its timeout, retry policy and filters) and a subchannel (the picker,
// once or more per attempt, until the attempt is sent). RoutedCalls answers both from rxds's Router: select() routes
// the call — its RouteDecision holds the endpoint from then on — and gives the route's timeout and retry policy;
// pick() hands grpc-js the decision's endpoint. The decision travels from one to the other under an id in the call's
// pick information, and ends, with the call's status, in a filter grpc-js runs when the call ends, whatever ended it.
//
// What a pick answers, as rxds/grpc's XdsChannel does for its calls:
// - a decision whose endpoint is connected: that endpoint (the call is then dispatched);
// - an endpoint still connecting: QUEUE, the call waits for it;
// - an endpoint whose connection failed: the decision ends UNAVAILABLE (outlier detection counts it) and the pick is
//   a TRANSIENT_FAILURE: the call fails, or waits if wait-for-ready, and is routed again at its next pick;
// - a routing failure a later snapshot may cure: TRANSIENT_FAILURE (wait-for-ready calls wait for a new Router);
//   one it cannot (no route, an action a client cannot forward, the circuit breaker): DROP, the call fails at once.
// A call not yet dispatched is routed again when a new Router has come since it was routed.
//
// Retries (gRFC A44) are grpc-js's own, as with grpc-js-xds: the route's retry policy becomes the call's
// `retryPolicy` (retry_on's gRPC statuses, num_retries + 1 attempts, retry_back_off), and grpc-js decides when to try
// again, waits the backoff (or the server's pushback) and sends `grpc-previous-rpc-attempts`. Each attempt is a
// decision of its own: an attempt's end (the pick's onCallEnded) ends its decision with the attempt's status, and the
// next attempt's pick takes another endpoint of the same route and cluster (RouteDecision.pickAgain), avoiding those
// tried while another can be picked. `per_try_timeout`, which gRPC ignores, is not applied here.
//
// The route's HTTP filters (fault injection, local rate limit; call-filters.ts) are drawn for the call in select(),
// and carried out by the call's filter before it is sent: a delay holds the call's metadata (no endpoint is held
// meanwhile: the call picks one afterwards), an abort or a refusal ends the call with its status.

import type { experimental, Metadata, StatusObject } from "@grpc/grpc-js";
import * as grpc from "@grpc/grpc-js";
import type { EndpointModel } from "../../resources/endpoints.js";
import type { RequestHeaders, RouteRequest } from "../../resources/match/route-match.js";
import type { RetryPolicyModel } from "../../resources/route-policies.js";
import type { RouteDecision, Router } from "../../routing/router.js";
import { XdsError } from "../../xds-error.js";
import { maxAttemptsOf } from "../call-attempts.js";
import { applyCallFilters, type FilterVerdict } from "../call-filters.js";
import { authorityOf, curableByUpdate, MAX_TIMER_MS, routingFailureMessage } from "../call-router.js";
import { routingHeaders } from "../routing-meta.js";
import { metadataToMeta } from "./grpc-meta-extractor.js";

type CallConfig = ReturnType<experimental.ConfigSelector["invoke"]>;
type PickResult = experimental.PickResult;
type Subchannel = experimental.SubchannelInterface;
type Filter = ReturnType<CallConfig["dynamicFilterFactories"][number]["createFilter"]>;
type GrpcRetryPolicy = NonNullable<CallConfig["methodConfig"]["retryPolicy"]>;

/** The pick information key under which a call's id travels from select() to pick(). */
const CALL_ID = "rxds.call";

/** One call between select() and its end. */
interface PendingCall {
  readonly path: string;
  readonly headers: RequestHeaders;
  /** Whether grpc-js may make more than one attempt of the call (its route has a retry policy for gRPC statuses). */
  readonly retried: boolean;
  /** The current decision or routing failure; undefined once a failed connection, an attempt's end or a fault released the decision. */
  result: RouteDecision | XdsError | undefined;
  /** The Router `result` came from. */
  router: Router;
  /** Whether a pick handed the call to its endpoint. */
  dispatched: boolean;
  /** The decision of the call's last attempt once one ended, or of the call a fault delayed: the next pick picks again from it. */
  previous: RouteDecision | undefined;
  /** The endpoints the call's ended attempts went to, which its retries avoid while another can be picked. */
  tried: EndpointModel[] | undefined;
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

  /** The config selector: routes the call, draws its filters and gives its timeout and retry policy; the decision waits for the call's picks. */
  select(path: string, metadata: Metadata): CallConfig {
    const router = this.router!;
    const headers = routingHeaders(metadataToMeta(metadata), { contentType: "application/grpc", authority: this.target, path });
    const result = router.route(this.request(path, headers));
    const routed = result instanceof XdsError ? undefined : result;
    const retryPolicy = grpcRetryPolicy(routed?.retryPolicy);
    const id = String(this.nextId++);
    const call: PendingCall = { path, headers, retried: retryPolicy !== undefined, result, router, dispatched: false, previous: undefined, tried: undefined };
    this.calls.set(id, call);
    const filters = routed?.httpFilters;
    const verdict = filters === undefined ? undefined : applyCallFilters(filters, { path, headers, cluster: routed!.cluster });
    if (verdict !== undefined) {
      // A fault delays or ends the call: no endpoint is held meanwhile, and after a delay the call picks again.
      routed!.done();
      call.result = undefined;
      call.previous = routed;
    }
    const methodConfig: CallConfig["methodConfig"] = { name: [] };
    const timeoutMs = routed?.timeoutMs;
    if (timeoutMs !== undefined) methodConfig.timeout = { seconds: Math.floor(timeoutMs / 1000), nanos: Math.round((timeoutMs % 1000) * 1e6) };
    if (retryPolicy !== undefined) methodConfig.retryPolicy = retryPolicy;
    return {
      methodConfig,
      pickInformation: { [CALL_ID]: id },
      status: grpc.status.OK,
      dynamicFilterFactories: [{ createFilter: () => new RoutedCallFilter(this, id, verdict) }],
    };
  }

  /** The picker: the subchannel of the call's endpoint, or why the call waits or fails (see the top of this file). */
  pick(pickInformation: Readonly<Record<string, string>>, subchannels: ReadonlyMap<string, Subchannel>): PickResult {
    const call = this.calls.get(pickInformation[CALL_ID] ?? "");
    if (call === undefined) return failure(grpc.experimental.PickResultType.DROP, grpc.status.INTERNAL, `xDS call to ${JSON.stringify(this.target)} was not routed by rxds's config selector`);
    const router = this.router!;
    if (!call.dispatched && (call.result === undefined || call.router !== router)) {
      if (call.result !== undefined && !(call.result instanceof XdsError)) call.result.done();
      const previous = call.previous;
      const tried = call.tried;
      if (call.result === undefined && previous !== undefined && call.router === router) {
        call.result = previous.pickAgain(tried === undefined ? undefined : (endpoint) => tried.some((each) => sameEndpoint(each, endpoint)));
      } else {
        call.result = router.route(this.request(call.path, call.headers));
      }
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
      // A call that may be retried learns each attempt's end, so that its next attempt is a decision of its own.
      const onCallEnded = call.retried ? (code: grpc.status) => this.attemptEnded(call, result, code) : null;
      return { pickResultType: grpc.experimental.PickResultType.COMPLETE, subchannel, status: null, onCallStarted: null, onCallEnded };
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

  /** An attempt of `call` on `decision` ended with `code`: the decision learns it, and the call's next attempt picks again. */
  private attemptEnded(call: PendingCall, decision: RouteDecision, code: number): void {
    decision.done(code);
    if (call.result !== decision) return;
    call.result = undefined;
    call.dispatched = false;
    call.previous = decision;
    (call.tried ??= []).push(decision.endpoint);
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

const retryPolicies = new WeakMap<RetryPolicyModel, GrpcRetryPolicy | null>();

/** A route's retry policy as grpc-js's (gRFC A44's mapping, as grpc-js-xds makes it); undefined when it retries no gRPC status. */
function grpcRetryPolicy(policy: RetryPolicyModel | undefined): GrpcRetryPolicy | undefined {
  if (policy === undefined) return undefined;
  let mapped = retryPolicies.get(policy);
  if (mapped === undefined) {
    mapped =
      policy.retryOn.size === 0
        ? null
        : {
            maxAttempts: maxAttemptsOf(policy),
            initialBackoff: `${policy.baseIntervalMs / 1000}s`,
            maxBackoff: `${policy.maxIntervalMs / 1000}s`,
            backoffMultiplier: 2,
            retryableStatusCodes: [...policy.retryOn],
          };
    retryPolicies.set(policy, mapped);
  }
  return mapped ?? undefined;
}

function sameEndpoint(a: EndpointModel, b: EndpointModel): boolean {
  return a.address === b.address && a.port === b.port;
}

/**
 * The per-call filter: it carries out the fault or rate limit verdict select() drew (a delay holds the call's metadata,
 * an abort rejects it with its status), and once the call ends, however it ends, ends the call's decision.
 */
class RoutedCallFilter implements Filter {
  /** A fault delay in progress: its timer, and how to end the held metadata's promise if the call ends meanwhile. */
  private delay: { readonly timer: NodeJS.Timeout; readonly reject: (status: StatusObject) => void } | undefined;

  constructor(
    private readonly calls: RoutedCalls,
    private readonly id: string,
    private readonly verdict: FilterVerdict | undefined,
  ) {}

  sendMetadata(metadata: Promise<Metadata>): Promise<Metadata> {
    const verdict = this.verdict;
    if (verdict === undefined) return metadata;
    return metadata.then(
      (sent) =>
        new Promise<Metadata>((resolve, reject) => {
          const act = (): void => {
            this.delay = undefined;
            verdict.finish();
            const abort = verdict.abort;
            if (abort === undefined) resolve(sent);
            else reject({ code: abort.code, details: abort.message, metadata: new grpc.Metadata() } satisfies StatusObject);
          };
          if (verdict.delayMs > 0) this.delay = { timer: setTimeout(act, Math.min(verdict.delayMs, MAX_TIMER_MS)), reject };
          else act();
        }),
    );
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
    const delay = this.delay;
    if (delay !== undefined) {
      // The call ended (its deadline, a cancel) while the fault delayed it: it is not sent after all.
      this.delay = undefined;
      clearTimeout(delay.timer);
      this.verdict!.finish();
      delay.reject(status);
    }
    this.calls.end(this.id, status.code);
    return status;
  }
}
