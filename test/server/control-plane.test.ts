// The embedded ControlPlane seen from the wire: whole-set types, and the lifecycle of its request log.
import { create } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { filter, firstValueFrom, Subject, take, timeout, toArray, type Observable, type Subscription } from "rxjs";
import { ControlPlane, type ReceivedRequest } from "rxds/server";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { rawClusterType } from "../../src/client/resource-types.js";
import { GrpcAdsTransport } from "../../src/transport/grpc-ads-transport.js";
import { edsCluster } from "../support/resources.js";
import { CDS, Harness, LDS, next, pack, RDS } from "../support/wire.js";

/** One raw ADS stream to a control plane: requests written as given, responses collected in order. */
class RawAdsStream {
  private readonly transport: GrpcAdsTransport;
  private readonly requests = new Subject<DiscoveryRequest>();
  private readonly responses$ = new Subject<DiscoveryResponse>();
  private readonly subscription: Subscription;

  constructor(address: string) {
    this.transport = new GrpcAdsTransport({ uri: address });
    this.subscription = this.transport.stream(this.requests).subscribe((event) => {
      if (event.kind === "response") this.responses$.next(event.response);
    });
  }

  /** Sends a request (an ACK when it carries the nonce of a response). */
  send(typeUrl: string, resourceNames: string[], responseNonce = ""): void {
    this.requests.next(create(DiscoveryRequestSchema, { typeUrl, resourceNames, responseNonce, node: { id: "raw" } }));
  }

  /** Sends a request and resolves with the next response of its type. */
  ask(typeUrl: string, resourceNames: string[]): Promise<DiscoveryResponse> {
    const response = this.next(typeUrl);
    this.send(typeUrl, resourceNames);
    return response;
  }

  /** The next response of `typeUrl`, failing after 5 s. */
  next(typeUrl: string): Promise<DiscoveryResponse> {
    return next(this.responses$, (r) => r.typeUrl === typeUrl);
  }

  close(): void {
    this.subscription.unsubscribe();
    this.transport.close();
  }
}

/** The names of the listeners or route configurations a response carries, sorted. */
function names(response: DiscoveryResponse): string[] {
  return response.resources
    .map((any) => (anyUnpack(any, ListenerSchema) ?? anyUnpack(any, RouteConfigurationSchema))?.name ?? "?")
    .sort();
}

const listener = (name: string) => pack(ListenerSchema, { name });
const routeConfiguration = (name: string) => pack(RouteConfigurationSchema, { name });

describe("ControlPlane", () => {
  const planes: ControlPlane[] = [];
  const streams: RawAdsStream[] = [];

  async function serve(plane: ControlPlane): Promise<RawAdsStream> {
    planes.push(plane);
    plane.set(LDS, { a: listener("a"), b: listener("b"), c: listener("c") });
    plane.set(RDS, { r1: routeConfiguration("r1"), r2: routeConfiguration("r2") });
    const stream = new RawAdsStream(await plane.listen({ host: "127.0.0.1", port: 0 }));
    streams.push(stream);
    return stream;
  }

  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await Promise.all(planes.splice(0).map((p) => p.close()));
  });

  it("WholeSetTypes: a stream naming one listener gets every listener, and every later change of any; RDS is still answered by name", async () => {
    const plane = new ControlPlane({ wholeSetTypes: [LDS, CDS] });
    const stream = await serve(plane);

    const first = await stream.ask(LDS, ["a"]);
    expect(names(first)).to.deep.equal(["a", "b", "c"]);
    stream.send(LDS, ["a"], first.nonce);

    const added = stream.next(LDS);
    plane.set(LDS, { d: listener("d") });
    expect(names(await added)).to.deep.equal(["a", "b", "c", "d"]);
    const removed = stream.next(LDS);
    plane.remove(LDS, ["b"]);
    expect(names(await removed)).to.deep.equal(["a", "c", "d"]);

    expect(names(await stream.ask(RDS, ["r1"]))).to.deep.equal(["r1"]);
  });

  it("NamedByDefault: without wholeSetTypes, a stream naming one listener gets that one only, and no push for others", async () => {
    const plane = new ControlPlane();
    const stream = await serve(plane);

    const first = await stream.ask(LDS, ["a"]);
    expect(names(first)).to.deep.equal(["a"]);
    expect(first.versionInfo).to.equal("1");
    const push = stream.next(LDS);
    plane.set(LDS, { d: listener("d") }); // version 2, not asked for
    plane.set(LDS, { a: pack(ListenerSchema, { name: "a", statPrefix: "v2" }) }); // version 3
    const response = await push;
    // The first push after the request is version 3's: adding "d" sent nothing.
    expect(response.versionInfo).to.equal("3");
    expect(names(response)).to.deep.equal(["a"]);
  });

  it("Admit: what the admit option refuses is left out of a response, named or whole set, and the rest is sent", async () => {
    const asked: string[] = [];
    const plane = new ControlPlane({
      wholeSetTypes: [LDS],
      admit: (view, typeUrl, name) => {
        asked.push(`${view}|${typeUrl === LDS ? "LDS" : "RDS"} ${name}`);
        return name !== "b" && name !== "r2";
      },
    });
    const stream = await serve(plane);
    expect(names(await stream.ask(LDS, ["a"]))).to.deep.equal(["a", "c"]);
    expect(names(await stream.ask(RDS, ["r1", "r2"]))).to.deep.equal(["r1"]);
    expect(asked.sort()).to.deep.equal(["|LDS a", "|LDS b", "|LDS c", "|RDS r1", "|RDS r2"]);
  });
});

/** Records what a subscriber of `source` gets. */
function record<T>(source: Observable<T>): { values: T[]; completed: boolean; subscription: Subscription } {
  const recorder = { values: [] as T[], completed: false, subscription: undefined as unknown as Subscription };
  recorder.subscription = source.subscribe({ next: (v) => recorder.values.push(v), complete: () => (recorder.completed = true) });
  return recorder;
}

describe("ControlPlane request log", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("RequestLogLifecycle: close() completes every subscriber; a restarted plane replays the history and reports new requests; the final close() completes those too", async () => {
    h.cp.set(CDS, { a: edsCluster("a") });
    const before = record(h.cp.requests$);
    const client = h.client({ backoff: { initialMs: 10, maxMs: 50 } });
    const watch = client.watch(rawClusterType, "a").subscribe();
    await next(h.cp.requests$, (r) => r.request.typeUrl === CDS && r.request.responseNonce !== "");
    const received = before.values.length;
    expect(received).to.be.at.least(2);

    const port = Number(h.address.split(":").pop());
    await h.cp.close();
    const history = before.values.length;
    expect(before.completed, "a subscriber from before close() is completed by it").to.equal(true);
    const whileClosed = record(h.cp.requests$);
    expect(whileClosed.values).to.deep.equal(before.values);
    expect(whileClosed.completed, "a subscriber while closed gets the history and completes at once").to.equal(true);

    await h.cp.listen({ host: "127.0.0.1", port });
    const after = record(h.cp.requests$);
    const resubscribed: ReceivedRequest = await next(h.cp.requests$, (r) => r.stream === 2 && r.request.typeUrl === CDS);
    expect(resubscribed.request.resourceNames).to.deep.equal(["a"]);
    expect(after.values.slice(0, history), "the history from before the restart is replayed first").to.deep.equal(before.values);
    expect(after.values).to.include(resubscribed);
    expect(after.completed).to.equal(false);
    expect(before.values, "a completed subscriber gets nothing more").to.have.length(history);

    watch.unsubscribe();
    await h.cp.close();
    expect(after.completed, "the final close() completes the subscribers of the restarted plane").to.equal(true);
  });

  it("RequestLogHistory: a new subscriber gets at most requestHistory requests, the latest ones", async () => {
    const plane = new ControlPlane({ requestHistory: 2 });
    const address = await plane.listen({ host: "127.0.0.1", port: 0 });
    const stream = new RawAdsStream(address);
    try {
      const all = firstValueFrom(plane.requests$.pipe(filter((r) => r.request.typeUrl === RDS), take(3), toArray(), timeout(5000)));
      for (const name of ["x", "y", "z"]) {
        plane.set(RDS, { [name]: routeConfiguration(name) });
        await stream.ask(RDS, [name]);
      }
      const requests = await all;
      const replayed = record(plane.requests$);
      expect(replayed.values.map((r) => r.request.resourceNames)).to.deep.equal(requests.slice(1).map((r) => r.request.resourceNames));
      replayed.subscription.unsubscribe();
    } finally {
      stream.close();
      await plane.close();
    }
  });
});
