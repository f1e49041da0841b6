// A real istiod sidecar configuration (test/fixtures/istio-sidecar-dump/), served over loopback exactly as
// istiod serves an Envoy sidecar, to an rxds XdsClient in sidecar mode identifying itself as the dump's
// pod: LDS and CDS answered with the whole set whatever names were asked, RDS and EDS by name, and the
// NDS name table istiod's DNS capture would send. Every resource must be accepted, and each service
// must route to the cluster the dump's route configuration names for it.
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { anyPack, anyUnpack, StructSchema } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { catchError, filter, firstValueFrom, map, merge, of, race, scan, share, take, timeout, type Subscription } from "rxjs";
import { XdsClient, XdsError } from "rxds";
import { ControlPlane, type ReceivedRequest } from "rxds/server";
import { UpstreamTlsContextSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { NameTableSchema } from "../../gen/istio/networking/nds/v1/nds_pb.js";
import type { Router } from "../../src/routing/router.js";
import { packSidecarDump, readSidecarDump, type SidecarDump } from "../support/istio-sidecar-dump.js";
import { expectedRoutes, sidecarNameTable, type ExpectedRoute } from "../support/sidecar-dump-expectations.js";
import { until } from "../support/until.js";
import { CDS, EDS, LDS, RDS } from "../support/wire.js";

const NDS = "type.googleapis.com/istio.networking.nds.v1.NameTable";
/** A gRPC-style path: every route in the dump matches it by prefix "/". */
const path = "/rxds.dump.Probe/Call";

/** Whether the router sends a call to `path` where the dump says. */
function routesAsExpected(expected: ExpectedRoute, router: Router | undefined): boolean {
  if (router === undefined) return false;
  const decision = router.route({ path, headers: {} });
  if (expected.outcome.kind === "routed") {
    return !(decision instanceof XdsError) && decision.cluster === expected.cluster && expected.outcome.endpoints.has(`${decision.endpoint.address}:${decision.endpoint.port}`);
  }
  return decision instanceof XdsError && decision.code === expected.outcome.kind && decision.message.includes(expected.cluster);
}

function describeExpected(expected: ExpectedRoute): string {
  const outcome = expected.outcome;
  return outcome.kind === "routed" ? `routed to ${expected.cluster} (${[...outcome.endpoints].join(", ")})` : `${outcome.kind} naming ${expected.cluster}`;
}

function describeActual(router: Router | undefined): string {
  if (router === undefined) return "no Router: its snapshot never completed";
  const decision = router.route({ path, headers: {} });
  return decision instanceof XdsError ? `${decision.code}: ${decision.message}` : `routed to ${decision.cluster} (${decision.endpoint.address}:${decision.endpoint.port})`;
}

describe("istiod sidecar dump, served as istiod serves a sidecar", function () {
  this.timeout(20000);
  let dump: SidecarDump;
  let expected: ExpectedRoute[];
  let plane: ControlPlane | undefined;
  let xds: XdsClient | undefined;
  const received: ReceivedRequest[] = [];
  const routers = new Map<string, Router>();
  let held: Subscription | undefined;

  before(async () => {
    dump = await readSidecarDump();
    expected = expectedRoutes(dump, path);
    plane = new ControlPlane({ wholeSetTypes: [LDS, CDS] });
    for (const [typeUrl, resources] of packSidecarDump(dump)) plane.set(typeUrl, resources);
    plane.set(NDS, { "": anyPack(NameTableSchema, sidecarNameTable(dump)) });
    const address = await plane.listen({ host: "127.0.0.1", port: 0 });
    plane.requests$.subscribe((r) => received.push(r));
    xds = new XdsClient({ servers: [{ uri: address }], node: dump.node, backoff: { initialMs: 20, maxMs: 200 }, doesNotExistTimeoutMs: 1000 });
    // Every service at once, as a busy client would. Done when each routes as the dump says, or when the
    // client has settled otherwise (no watched resource still awaiting an answer), or after 5 s at most;
    // RoutesAsTheDump then says which services do not route as the dump says.
    const client = xds;
    const latest$ = merge(...expected.map((e) => client.router(e.target).pipe(map((router) => [e.target, router] as const)))).pipe(
      scan((latest, [target, router]) => latest.set(target, router), routers),
      share(),
    );
    // Held until after(): dropping the watches at once would close the stream before the last ACKs are out.
    held = latest$.subscribe();
    const allRouted = latest$.pipe(filter((latest) => expected.every((e) => routesAsExpected(e, latest.get(e.target)))));
    const settled = client.status$.pipe(filter((s) => s.connection === "ready" && s.resources.length > 0 && s.resources.every((r) => r.state !== "REQUESTED")));
    await firstValueFrom(race(allRouted, settled).pipe(take(1), timeout(5000), catchError(() => of(undefined))));
    // The client answers a response right after applying it: let the last answers reach the plane.
    await until(() => [LDS, RDS, CDS, EDS, NDS].every((t) => received.some((r) => r.request.typeUrl === t && r.request.responseNonce !== "")), "an answer to each type");
  });

  after(async () => {
    held?.unsubscribe();
    await xds?.close();
    await plane?.close();
  });

  it("DumpDerivation: the resources, name table and expectations derived from the dump agree with what it says when read by hand", () => {
    expect([dump.listeners.length, dump.routeConfigurations.length, dump.clusters.length, dump.endpoints.size]).to.deep.equal([140, 90, 138, 122]);
    expect(dump.node.id).to.equal("sidecar~172.16.188.31~geo-5c54dcd5bd-z5ghf.hr2~hr2.svc.cluster.local");
    expect(dump.node.metadata["NAMESPACE"]).to.equal("hr2");
    expect(dump.node.metadata).to.not.have.property("GENERATOR");

    // Envoy types gen/ has are decoded for real; the others keep their type URL over Struct bytes.
    const details = dump.clusters.find((c) => c.name === "outbound|9080||details.default.svc.cluster.local")!;
    const tls = anyUnpack(details.transportSocketMatches[0]!.transportSocket!.configType.value!, UpstreamTlsContextSchema);
    expect(tls?.sni).to.equal("outbound_.9080_._.details.default.svc.cluster.local");
    const exchange = details.filters[0]!.typedConfig!;
    expect(exchange.typeUrl).to.equal("type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange");
    expect(toJson(StructSchema, fromBinary(StructSchema, exchange.value))).to.deep.equal({ protocol: "istio-peer-exchange" });
    expect(dump.opaqueTypes).to.include.members(["stats.PluginConfig", "envoy.extensions.filters.http.wasm.v3.Wasm"]);
    expect(dump.opaqueTypes).to.not.include("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");

    // The name table: a ClusterIP service's VIP (from its virtual host's domains and its listener), and a
    // headless service's pod IPs (from its <IP>_<port> listeners).
    const table = sidecarNameTable(dump).table;
    expect(table["details.default.svc.cluster.local"]?.ips).to.deep.equal(["10.68.49.224"]);
    expect(table["geo.hr2.svc.cluster.local"]?.ips).to.deep.equal(["10.68.200.178"]);
    expect(table["geo.hr2.svc.cluster.local"]?.namespace).to.equal("hr2");
    expect(table["mongodb-geo.hr2.svc.cluster.local"]?.ips).to.deep.equal(["10.68.227.119"]);
    expect(table["alertmanager-operated.monitoring.svc.cluster.local"]?.ips).to.have.members(["172.16.188.16", "172.16.188.40", "172.16.18.249"]);

    // Services, read by hand: details (HTTP port 9080, RDS "9080"), frontend.hr2 (sniffed port, RDS
    // "frontend.hr2.svc.cluster.local:5000"), geo.hr2 (no endpoint), alertmanager-operated (headless: ORIGINAL_DST).
    const byTarget = new Map(expected.map((e) => [e.target, e]));
    expect(expected).to.have.length(97);
    expect(describeExpected(byTarget.get("details.default.svc.cluster.local:9080")!)).to.equal("routed to outbound|9080||details.default.svc.cluster.local (172.16.18.235:9080)");
    expect(byTarget.get("details.default.svc.cluster.local:9080")!.routeConfiguration).to.equal("9080");
    expect(describeExpected(byTarget.get("frontend.hr2.svc.cluster.local:5000")!)).to.equal("routed to outbound|5000||frontend.hr2.svc.cluster.local (172.16.188.33:5000)");
    expect(describeExpected(byTarget.get("geo.hr2.svc.cluster.local:8083")!)).to.equal("NO_HEALTHY_ENDPOINT naming outbound|8083||geo.hr2.svc.cluster.local");
    expect(describeExpected(byTarget.get("alertmanager-operated.monitoring.svc.cluster.local:9093")!)).to.equal(
      "UNSUPPORTED_CLUSTER naming outbound|9093||alertmanager-operated.monitoring.svc.cluster.local",
    );
  });

  it("ZeroNacks: the client ACKs every LDS, RDS, CDS, EDS and NDS response and NACKs none", () => {
    const nacks = received
      .filter((r) => r.request.errorDetail !== undefined)
      .map((r) => `${r.request.typeUrl.split(".").pop()} nonce ${r.request.responseNonce}: ${r.request.errorDetail!.message.slice(0, 1000)}`);
    expect(nacks, `${nacks.length} NACKs`).to.deep.equal([]);
    for (const typeUrl of [LDS, RDS, CDS, EDS, NDS]) {
      const acked = received.some((r) => r.request.typeUrl === typeUrl && r.request.responseNonce !== "" && r.request.errorDetail === undefined);
      expect(acked, `an ACK of ${typeUrl}`).to.equal(true);
    }
  });

  it("RoutesAsTheDump: each service's router sends a gRPC call where the dump's route configuration sends it, or fails naming that cluster", () => {
    const wrong = expected
      .filter((e) => !routesAsExpected(e, routers.get(e.target)))
      .map((e) => `${e.target}: expected ${describeExpected(e)}; got ${describeActual(routers.get(e.target))}`);
    expect(wrong, `${wrong.length} of ${expected.length} services route otherwise`).to.deep.equal([]);
  });
});
