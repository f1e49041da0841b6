// The regex program size limit over a real ADS stream: a route configuration with oversized regexes is
// NACKed with the field, the size and the limit while calls keep the last good routes; a client whose
// limit is raised accepts a larger legitimate regex and routes by it.
import { expect } from "chai";
import { XdsError } from "rxds";
import { RE2JS } from "re2js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RouteSchema } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import type { RouteDecision } from "../../src/routing/router.js";
import { apiListener, edsCluster, loopbackEndpoints, prefixRoute, routeConfiguration } from "../support/resources.js";
import { CDS, EDS, Harness, LDS, next, RDS } from "../support/wire.js";

const host = "greet.default.svc.cluster.local";
const target = `${host}:8888`;
const routeName = `outbound|8888||${host}`;
const v1 = `outbound|8888|v1|${host}`;
const v2 = `outbound|8888|v2|${host}`;

function regexRoute(regex: string, cluster: string): MessageInitShape<typeof RouteSchema> {
  return { name: regex.slice(0, 20), match: { pathSpecifier: { case: "safeRegex", value: { regex } } }, action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: cluster } } } };
}

function clusterOf(decision: RouteDecision | XdsError): string {
  if (decision instanceof XdsError) throw decision;
  return decision.cluster;
}

describe("regex program size over a real ADS stream", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await new Harness().start();
    h.cp.set(LDS, { [target]: apiListener(target, routeName) });
    h.cp.set(CDS, { [v1]: edsCluster(v1), [v2]: edsCluster(v2) });
    h.cp.set(EDS, { [v1]: loopbackEndpoints(v1, [9001]), [v2]: loopbackEndpoints(v2, [9002]) });
  });
  afterEach(async () => h.stop());

  it("NACKs 2,000 routes of /N.{1000}.{1000}.{1000} naming the field, the size and the limit, and keeps routing by the last good routes", async () => {
    h.cp.set(RDS, { [routeName]: routeConfiguration(routeName, [target], [regexRoute("/greet\\.Greet/Say[A-Z][a-z]*", v1), prefixRoute("", v2)]) });
    const client = h.xds();
    const routers = client.router(target);
    const watching = routers.subscribe(); // keeps the target watched while the test reads single values
    const router = await next(routers, (r) => r.snapshot.clusters.size === 2);
    expect(clusterOf(router.route({ path: "/greet.Greet/SayHello", headers: {} }))).to.equal(v1);

    const hostile = Array.from({ length: 2000 }, (_, i) => regexRoute(`/${i}.{1000}.{1000}.{1000}`, v2));
    const before = h.requestCount();
    h.cp.set(RDS, { [routeName]: routeConfiguration(routeName, [target], hostile) });
    const nack = await h.nextRequest((r) => r.typeUrl === RDS && r.errorDetail !== undefined, before);
    const status = await next(client.status$, (s) => s.resources.some((r) => r.name === routeName && r.state === "NACKED"));

    const reason = `virtual_hosts[0].routes[0].match.safe_regex.regex: regex program size 3004 (counted before compiling) exceeds the limit 100 (maxRegexProgramSize)`;
    expect(nack.request.errorDetail?.message).to.contain(`route configuration "${routeName}": ${reason}`);
    expect(status.resources.find((r) => r.name === routeName)?.reason).to.contain(reason);
    // The Router of the last good route configuration still routes, and no new one was made for the rejected one.
    const latest = await next(routers);
    watching.unsubscribe();
    expect(latest).to.equal(router);
    expect(clusterOf(latest.route({ path: "/greet.Greet/SayHello", headers: {} }))).to.equal(v1);
    expect(clusterOf(latest.route({ path: "/other.Svc/Call", headers: {} }))).to.equal(v2);
  });

  it("accepts a regex over the default limit on a client whose maxRegexProgramSize is raised, and routes by it", async () => {
    // A tenant label in the path: 140 instructions, as re2js counts them.
    const tenant = "/[a-z0-9-]{1,63}\\.Greet/Say.*";
    const size = RE2JS.compile(tenant).programSize();
    expect(size).to.equal(140);
    h.cp.set(RDS, { [routeName]: routeConfiguration(routeName, [target], [regexRoute(tenant, v1), prefixRoute("", v2)]) });

    const strict = h.xds();
    const sub = strict.routeConfiguration(routeName).subscribe();
    const nack = await h.nextRequest((r) => r.typeUrl === RDS && r.errorDetail !== undefined);
    sub.unsubscribe();
    expect(nack.request.errorDetail?.message).to.contain(`regex program size ${size} exceeds the limit 100 (maxRegexProgramSize)`);

    const raised = h.xds({ maxRegexProgramSize: 200 });
    const router = await next(raised.router(target), (r) => r.snapshot.clusters.size === 2);
    expect(clusterOf(router.route({ path: "/acme-eu.Greet/SayHello", headers: {} }))).to.equal(v1);
    expect(clusterOf(router.route({ path: "/Acme.Greet/SayHello", headers: {} }))).to.equal(v2);
  });

  it("throws INVALID_ARGUMENT for a maxRegexProgramSize that is not a positive integer", () => {
    expect(() => h.xds({ maxRegexProgramSize: 0 })).to.throw(XdsError, "maxRegexProgramSize: must be a positive integer, got 0");
  });
});
