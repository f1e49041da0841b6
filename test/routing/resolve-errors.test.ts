// resolve() and the Router with resource errors (gRFC A57 / A88): watchers built from Subjects stand in for the
// client, which emits `{ resource: undefined, error }` when a resource's first version is rejected or the control
// plane cannot be reached before any version arrived.
import { create } from "@bufbuild/protobuf";
import { AnySchema, anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { ReplaySubject, type Observable, type Subscription } from "rxjs";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { NameTableSchema } from "../../gen/istio/networking/nds/v1/nds_pb.js";
import { TargetBalancer } from "../../src/balancing/target-balancer.js";
import type { ResourceType } from "../../src/client/resource-type.js";
import type { ResourceUpdate } from "../../src/client/resource-update.js";
import { clusterType, type ClusterModel } from "../../src/resources/cluster.js";
import { endpointsType, type EndpointsModel } from "../../src/resources/endpoints.js";
import { listenerType, type ListenerModel } from "../../src/resources/listener.js";
import { nameTableType, type NameTableModel } from "../../src/resources/name-table.js";
import { routeConfigurationType, type RouteConfigurationModel } from "../../src/resources/route-configuration.js";
import { resolveService, type ResourceWatchers } from "../../src/routing/resolve-service.js";
import { createRouter, type RouteDecision } from "../../src/routing/router.js";
import type { ServiceSnapshot } from "../../src/routing/service-snapshot.js";
import { parseTarget } from "../../src/routing/target.js";
import { XdsError } from "../../src/xds-error.js";
import { apiListener, edsCluster, loopbackEndpoints, prefixRoute, routeConfiguration } from "../support/resources.js";

const TARGET = "svc.default.svc.cluster.local:8080";

/** Watches that emit what a test pushes, replaying the latest, as the client's watches do. */
class SubjectWatchers implements ResourceWatchers {
  private readonly subjects = new Map<string, ReplaySubject<ResourceUpdate<unknown>>>();

  listener(name: string): Observable<ResourceUpdate<ListenerModel>> {
    return this.subject(listenerType, name);
  }
  routeConfiguration(name: string): Observable<ResourceUpdate<RouteConfigurationModel>> {
    return this.subject(routeConfigurationType, name);
  }
  cluster(name: string): Observable<ResourceUpdate<ClusterModel>> {
    return this.subject(clusterType, name);
  }
  endpoints(name: string): Observable<ResourceUpdate<EndpointsModel>> {
    return this.subject(endpointsType, name);
  }
  nameTable(): Observable<ResourceUpdate<NameTableModel>> {
    return this.subject(nameTableType, "");
  }

  /** Emits resource `any` (decoded and validated by `type`) under `name`. */
  emit<V>(type: ResourceType<V>, name: string, any: Any): void {
    const decoded = type.decode(any.value);
    if (decoded.error !== undefined) throw new Error(decoded.error);
    this.push({ typeUrl: type.typeUrl }, name, { resource: decoded.value });
  }

  /** Emits that `name` does not exist. */
  absent(type: { typeUrl: string }, name: string): void {
    this.push(type, name, { resource: undefined });
  }

  /** Emits a resource error for `name`. */
  fail(type: { typeUrl: string }, name: string, error: XdsError): void {
    this.push(type, name, { resource: undefined, error });
  }

  private push(type: { typeUrl: string }, name: string, update: { resource: unknown; error?: XdsError }): void {
    this.subjectOf(type.typeUrl, name).next({ typeUrl: type.typeUrl, name, version: "1", ...update });
  }

  private subject<V>(type: { typeUrl: string }, name: string): Observable<ResourceUpdate<V>> {
    return this.subjectOf(type.typeUrl, name) as Observable<ResourceUpdate<V>>;
  }

  private subjectOf(typeUrl: string, name: string): ReplaySubject<ResourceUpdate<unknown>> {
    const key = `${typeUrl} ${name}`;
    let subject = this.subjects.get(key);
    if (subject === undefined) {
      subject = new ReplaySubject(1);
      this.subjects.set(key, subject);
    }
    return subject;
  }
}

/** Istio's name table with the target's VIP, so that sidecar naming tries the listener `10.96.0.9_8080` first. */
const vipTable = anyPack(NameTableSchema, create(NameTableSchema, { table: { "svc.default.svc.cluster.local": { ips: ["10.96.0.9"] } } }));

const nack = (what: string): XdsError => new XdsError("INVALID_RESOURCE", `${what}: eds_cluster_config: is required for an EDS cluster`);

describe("resolve() and the Router with resource errors (gRFC A88)", () => {
  let watchers: SubjectWatchers;
  let snapshots: ServiceSnapshot[];
  let subscription: Subscription;

  function resolveWith(naming: "grpc" | "sidecar" = "grpc"): void {
    const target = parseTarget(TARGET, { namespace: "default" });
    subscription = resolveService(watchers, target, { naming, resolver: async () => [], dnsRefreshMs: 30000 }).subscribe((s) => snapshots.push(s));
  }

  /** Sidecar naming decides between listeners once the updates of one response are all in: after the microtasks. */
  function settled(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  function latest(): ServiceSnapshot {
    expect(snapshots, "no snapshot was emitted").to.not.be.empty;
    return snapshots.at(-1)!;
  }

  function route(path: string): RouteDecision | XdsError {
    return createRouter(latest(), { picking: new TargetBalancer() }).route({ path, headers: {} });
  }

  function failed(result: RouteDecision | XdsError): XdsError {
    expect(result).to.be.instanceOf(XdsError);
    return result as XdsError;
  }

  beforeEach(() => {
    watchers = new SubjectWatchers();
    snapshots = [];
  });
  afterEach(() => subscription.unsubscribe());

  /** Listener → route configuration "rc" with /a → A and /b → B; A present with endpoints. */
  function twoClusters(): void {
    watchers.emit(listenerType, TARGET, apiListener(TARGET, "rc"));
    watchers.emit(routeConfigurationType, "rc", routeConfiguration("rc", ["*"], [prefixRoute("/a", "A"), prefixRoute("/b", "B")]));
    watchers.emit(clusterType, "A", edsCluster("A"));
    watchers.emit(endpointsType, "A", loopbackEndpoints("A", [9001]));
  }

  it("ResolveService_ClusterResourceError: emits once the bad cluster's error arrives, marking it; routes to the others work", () => {
    twoClusters();
    resolveWith();
    expect(snapshots, "B is not known yet").to.be.empty;
    const error = nack(`cluster "B"`);
    watchers.fail(clusterType, "B", error);
    const b = latest().clusters.get("B")!;
    expect(b).to.include({ cluster: undefined, endpoints: undefined, error });
    expect(latest().clusters.get("A")).to.include({ error: undefined });

    expect((route("/a") as RouteDecision).endpoint.port).to.equal(9001);
    const call = failed(route("/b"));
    expect(call.code).to.equal("INVALID_RESOURCE");
    expect(call.message).to.equal(`cluster "B" cannot be used: ${error.message} (picked by route "/b→B" (virtual host "rc" routes[1]))`);
  });

  it("ResolveService_EndpointsResourceError: an EDS resource error marks its cluster, with the error's code", () => {
    twoClusters();
    watchers.emit(clusterType, "B", edsCluster("B", "B-eds"));
    const error = new XdsError("CONTROL_PLANE_UNAVAILABLE", "xDS server 127.0.0.1:1 unreachable: connect ECONNREFUSED");
    watchers.fail(endpointsType, "B-eds", error);
    resolveWith();
    expect(latest().clusters.get("B")).to.include({ endpoints: undefined, error });
    expect(failed(route("/b"))).to.include({ code: "CONTROL_PLANE_UNAVAILABLE" });
    expect((route("/a") as RouteDecision).cluster).to.equal("A");
  });

  it("ResolveService_ClusterAbsent: an absent cluster is known too: the snapshot is emitted, calls to it fail CLUSTER_ABSENT", () => {
    twoClusters();
    watchers.absent(clusterType, "B");
    resolveWith();
    expect(latest().clusters.get("B")).to.include({ cluster: undefined, error: undefined });
    expect(failed(route("/b")).code).to.equal("CLUSTER_ABSENT");
  });

  it("ResolveService_ListenerResourceError: the snapshot carries the listener's error; every call fails with its code, naming the listener and reason", () => {
    const error = new XdsError("INVALID_RESOURCE", `listener "${TARGET}": api_listener.api_listener: is required`);
    watchers.fail(listenerType, TARGET, error);
    resolveWith();
    expect(latest()).to.include({ listener: undefined, listenerError: error, routeConfigurationError: undefined });
    const call = failed(route("/a"));
    expect(call.code).to.equal("INVALID_RESOURCE");
    expect(call.message).to.equal(`listener "${TARGET}" for target "${TARGET}" has no usable version: ${error.message}`);
    const thrift = failed(createRouter(latest(), { picking: new TargetBalancer() }).routeThrift({ service: "S", method: "m", headers: {} }));
    expect(thrift).to.include({ code: "INVALID_RESOURCE", message: call.message });
  });

  it("ResolveService_SidecarListenerError: an error on the service's VIP listener is reported, not hidden by the wildcard listener", async () => {
    watchers.emit(nameTableType, "", vipTable);
    const error = new XdsError("CONTROL_PLANE_UNAVAILABLE", "xDS server istiod.istio-system.svc:15010 unreachable");
    watchers.fail(listenerType, "10.96.0.9_8080", error);
    resolveWith("sidecar");
    await settled();
    expect(latest()).to.include({ listenerName: "10.96.0.9_8080", listenerError: error });
    expect(failed(route("/a")).code).to.equal("CONTROL_PLANE_UNAVAILABLE");
  });

  it("ResolveService_RouteConfigurationResourceError: the snapshot carries the route configuration's error; calls fail with its code, naming it and the reason", () => {
    watchers.emit(listenerType, TARGET, apiListener(TARGET, "rc"));
    const error = new XdsError("INVALID_RESOURCE", `route configuration "rc": virtual_hosts[0].routes[0].match.safe_regex.regex: invalid regex`);
    watchers.fail(routeConfigurationType, "rc", error);
    resolveWith();
    expect(latest()).to.include({ routeConfigurationName: "rc", routeConfiguration: undefined, routeConfigurationError: error });
    const call = failed(route("/a"));
    expect(call.code).to.equal("INVALID_RESOURCE");
    expect(call.message).to.equal(`route configuration "rc" (of listener "${TARGET}") has no usable version: ${error.message}`);
  });

  it("ResolveService_TcpProxyListener: a listener holding only tcp_proxy gives NO_HTTP_ROUTES, not ROUTE_CONFIGURATION_ABSENT", async () => {
    // A tcp_proxy filter (its config is not read, so its bytes do not matter).
    const tcp = create(AnySchema, { typeUrl: "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy" });
    const name = "10.96.0.9_8080";
    watchers.emit(nameTableType, "", vipTable);
    watchers.emit(
      listenerType,
      name,
      anyPack(ListenerSchema, create(ListenerSchema, { name, filterChains: [{ filters: [{ name: "envoy.filters.network.tcp_proxy", configType: { case: "typedConfig", value: tcp } }] }] })),
    );
    resolveWith("sidecar");
    await settled();
    const call = failed(route("/a"));
    expect(call.code).to.equal("NO_HTTP_ROUTES");
    expect(call.message).to.equal(`listener "${name}" (target "${TARGET}") has no HTTP routes: it holds no HttpConnectionManager (e.g. only tcp_proxy filters)`);
  });
});
