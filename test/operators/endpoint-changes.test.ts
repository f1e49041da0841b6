// endpointChanges() and perEndpoint(): the diffs of endpoint sets keyed by address, their timing and teardown as
// marble diagrams (rxjs TestScheduler), and the per-endpoint resources kept in step with them.
import { expect } from "chai";
import { map, Subject } from "rxjs";
import type { TestScheduler } from "rxjs/testing";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import type { ResourceUpdate } from "../../src/client/resource-update.js";
import type { EndpointsModel } from "../../src/resources/endpoints.js";
import type { ServiceSnapshot } from "../../src/routing/service-snapshot.js";
import { endpointChanges, perEndpoint, type EndpointChanges, type EndpointSource, type MeshEndpoint } from "rxds/operators";
import { endpoints, ep, locality, type LbEndpointInit } from "../balancing/endpoint-sets.js";
import { marbleScheduler } from "../support/marbles.js";
import { EDS } from "../support/wire.js";

/** An EDS update of cluster `name` holding `localities` (undefined: the resource does not exist). */
function update(name: string, ...localities: ReturnType<typeof locality>[]): ResourceUpdate<EndpointsModel> {
  return { typeUrl: EDS, name, version: "1", resource: localities.length === 0 ? undefined : endpoints(name, localities) };
}

/** A target snapshot whose clusters hold the given assignments. */
function snapshot(clusters: Record<string, EndpointsModel | undefined>): ServiceSnapshot {
  return {
    clusters: new Map(Object.entries(clusters).map(([name, e]) => [name, { name, cluster: undefined, endpoints: e, error: undefined, children: [] }])),
  } as unknown as ServiceSnapshot;
}

/** A diff as a marble value: `+key`, `-key`, `~key:what` lists, and the size. */
function describe_(changes: EndpointChanges): string {
  const what = (e: MeshEndpoint) => `${e.key}:${e.weight}/${e.health}/${e.locality.zone}/p${e.priority}/${e.cluster}`;
  return [
    ...changes.added.map((e) => `+${what(e)}`),
    ...changes.removed.map((e) => `-${e.key}`),
    ...changes.changed.map((e) => `~${what(e)}`),
    `size ${changes.size}`,
  ].join(" ");
}

const a = (extra: { weight?: number; health?: HealthStatus } = {}): LbEndpointInit => ep("10.0.0.1", extra);
const b = (extra: { weight?: number; health?: HealthStatus } = {}): LbEndpointInit => ep("10.0.0.2", extra);
const c = (extra: { weight?: number; health?: HealthStatus } = {}): LbEndpointInit => ep("fd00::3", extra);

describe("endpointChanges (marbles)", () => {
  let scheduler: TestScheduler;
  beforeEach(() => (scheduler = marbleScheduler()));

  it("DiffsByAddress: the first set is all added; then adds, removes and changes of weight, health, locality and priority, keyed by address", () => {
    scheduler.run(({ cold, expectObservable }) => {
      const updates = cold<EndpointSource>("a-b-c-d-e|", {
        a: update("eds", locality("z1", 1, [a(), b()])),
        b: update("eds", locality("z1", 1, [a(), b({ weight: 5 }), c()])),
        c: update("eds", locality("z1", 1, [a({ health: HealthStatus.DRAINING }), c()])),
        d: update("eds", locality("z2", 1, [a({ health: HealthStatus.DRAINING })]), locality("z1", 1, [c()], 1)),
        e: update("eds"),
      });
      expectObservable(updates.pipe(endpointChanges(), map(describe_))).toBe("a-b-c-d-e|", {
        a: "+10.0.0.1:8888:1/HEALTHY/z1/p0/eds +10.0.0.2:8888:1/HEALTHY/z1/p0/eds size 2",
        b: "+[fd00::3]:8888:1/HEALTHY/z1/p0/eds ~10.0.0.2:8888:5/HEALTHY/z1/p0/eds size 3",
        c: "-10.0.0.2:8888 ~10.0.0.1:8888:1/DRAINING/z1/p0/eds size 2",
        d: "~10.0.0.1:8888:1/DRAINING/z2/p0/eds ~[fd00::3]:8888:1/HEALTHY/z1/p1/eds size 2",
        e: "-10.0.0.1:8888 -[fd00::3]:8888 size 0",
      });
    });
  });

  it("EmitsOnlyChanges: an update equal in every compared field emits nothing", () => {
    scheduler.run(({ cold, expectObservable }) => {
      const same = () => update("eds", locality("z1", 1, [a(), b()]));
      const updates = cold<EndpointSource>("a-b-c-|", { a: same(), b: same(), c: update("eds", locality("z1", 7, [a(), b()])) });
      expectObservable(updates.pipe(endpointChanges(), map(describe_))).toBe("a-----|", {
        a: "+10.0.0.1:8888:1/HEALTHY/z1/p0/eds +10.0.0.2:8888:1/HEALTHY/z1/p0/eds size 2",
      });
    });
  });

  it("MergesATargetsClusters: a snapshot's endpoints are de-duplicated by address, the first cluster naming one wins", () => {
    scheduler.run(({ cold, expectObservable }) => {
      const v1 = endpoints("v1", [locality("z1", 1, [a(), b()])]);
      const v2 = endpoints("v2", [locality("z1", 1, [b(), c()])]);
      const snapshots = cold<EndpointSource>("a-b-c|", { a: snapshot({ v1, v2 }), b: snapshot({ v2 }), c: snapshot({ v2, absent: undefined }) });
      expectObservable(snapshots.pipe(endpointChanges(), map(describe_))).toBe("a-b--|", {
        a: "+10.0.0.1:8888:1/HEALTHY/z1/p0/v1 +10.0.0.2:8888:1/HEALTHY/z1/p0/v1 +[fd00::3]:8888:1/HEALTHY/z1/p0/v2 size 3",
        b: "-10.0.0.1:8888 ~10.0.0.2:8888:1/HEALTHY/z1/p0/v2 size 2",
      });
    });
  });

  it("ColdWithTeardown: each subscription keeps its own set; unsubscribing unsubscribes the source", () => {
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const updates = hot<EndpointSource>("a--b--c", {
        a: update("eds", locality("z1", 1, [a()])),
        b: update("eds", locality("z1", 1, [a(), b()])),
        c: update("eds", locality("z1", 1, [b()])),
      });
      const diffs = updates.pipe(endpointChanges(), map(describe_));
      expectObservable(diffs, "^---!").toBe("a--b", { a: "+10.0.0.1:8888:1/HEALTHY/z1/p0/eds size 1", b: "+10.0.0.2:8888:1/HEALTHY/z1/p0/eds size 2" });
      // A later subscriber starts from an empty set: its first diff is everything present at its first value.
      expectObservable(diffs, "--^----").toBe("---b--c", { b: "+10.0.0.1:8888:1/HEALTHY/z1/p0/eds +10.0.0.2:8888:1/HEALTHY/z1/p0/eds size 2", c: "-10.0.0.1:8888 size 1" });
      expectSubscriptions(updates.subscriptions).toBe(["^---!", "--^----"]);
    });
  });
});

describe("perEndpoint", () => {
  /** A pool whose resources are strings, logging every create, update and dispose. */
  function logged() {
    const log: string[] = [];
    const options = {
      create: (e: MeshEndpoint) => {
        log.push(`create ${e.key}`);
        return `client of ${e.key}`;
      },
      update: (resource: string, e: MeshEndpoint) => void log.push(`update ${resource} weight ${e.weight}`),
      dispose: (resource: string) => void log.push(`dispose ${resource}`),
    };
    return { log, options };
  }

  it("KeepsOneResourcePerEndpoint: created on add, told on change, disposed on remove, the pool emitted after each diff (marbles)", () => {
    const scheduler = marbleScheduler();
    const { log, options } = logged();
    scheduler.run(({ cold, expectObservable }) => {
      const updates = cold<EndpointSource>("a-b-c|", {
        a: update("eds", locality("z1", 1, [a(), b()])),
        b: update("eds", locality("z1", 1, [a({ weight: 3 }), c()])),
        c: update("eds"),
      });
      expectObservable(updates.pipe(endpointChanges(), perEndpoint(options), map((pool) => [...pool.values()].join(", ")))).toBe("a-b-c|", {
        a: "client of 10.0.0.1:8888, client of 10.0.0.2:8888",
        b: "client of 10.0.0.1:8888, client of [fd00::3]:8888",
        c: "",
      });
    });
    expect(log).to.deep.equal([
      "create 10.0.0.1:8888",
      "create 10.0.0.2:8888",
      "dispose client of 10.0.0.2:8888",
      "update client of 10.0.0.1:8888 weight 3",
      "create [fd00::3]:8888",
      "dispose client of 10.0.0.1:8888",
      "dispose client of [fd00::3]:8888",
    ]);
  });

  it("TeardownDisposesAll: unsubscribing disposes every resource once, even when one dispose throws", () => {
    const { log, options } = logged();
    const updates = new Subject<EndpointSource>();
    const throwing = { ...options, dispose: (resource: string) => { options.dispose(resource); if (resource.includes("10.0.0.1")) throw new Error("close failed"); } };
    const subscription = updates.pipe(endpointChanges(), perEndpoint(throwing)).subscribe();
    updates.next(update("eds", locality("z1", 1, [a(), b(), c()])));
    expect(() => subscription.unsubscribe()).to.throw(/close failed/);
    expect(log.filter((l) => l.startsWith("dispose"))).to.deep.equal(["dispose client of 10.0.0.1:8888", "dispose client of 10.0.0.2:8888", "dispose client of [fd00::3]:8888"]);
    expect(updates.observed).to.equal(false);
  });

  it("CreateFailureEndsTheStream: an error thrown by create is the stream's error, and what was created is disposed", () => {
    const { log, options } = logged();
    const failing = { ...options, create: (e: MeshEndpoint) => { if (e.address === "fd00::3") throw new Error("cannot connect"); return options.create(e); } };
    const updates = new Subject<EndpointSource>();
    let failure: unknown;
    updates.pipe(endpointChanges(), perEndpoint(failing)).subscribe({ error: (error: unknown) => (failure = error) });
    updates.next(update("eds", locality("z1", 1, [a()])));
    updates.next(update("eds", locality("z1", 1, [a(), c()])));
    expect(String(failure)).to.equal("Error: cannot connect");
    expect(log).to.deep.equal(["create 10.0.0.1:8888", "dispose client of 10.0.0.1:8888"]);
    expect(updates.observed).to.equal(false);
  });
});
