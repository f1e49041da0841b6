import { expect } from "chai";
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { ClusterSchema, Cluster_DiscoveryType } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { createLogger, LogThrottle, parseLogLevel } from "../../src/logger.js";
import { thrown } from "../support/thrown.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { CDS, Harness, next } from "../support/wire.js";

describe("logging", () => {
  it("RxdsLog: RXDS_LOG names the level; none and off silence it; anything else is refused naming the variable", () => {
    expect(parseLogLevel(undefined)).to.equal("warn");
    expect(parseLogLevel("")).to.equal("warn");
    expect(parseLogLevel("DEBUG")).to.equal("debug");
    expect(parseLogLevel(" info ")).to.equal("info");
    expect(parseLogLevel("off")).to.equal("none");
    expect(parseLogLevel("none")).to.equal("none");
    const error = thrown(() => parseLogLevel("verbose"), "INVALID_CONFIG");
    expect(error.message).to.equal('RXDS_LOG: expected debug, info, warn, error or none, got "verbose"');
  });

  it("Levels: a logger writes its level and above, one line each, with the time and the level", () => {
    const lines: string[] = [];
    const log = createLogger("warn", (line) => lines.push(line));
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z rxds warn: w\n$/);
    expect(lines[1]).to.match(/ rxds error: e\n$/);
    const silent: string[] = [];
    const none = createLogger("none", (line) => silent.push(line));
    none.error("e");
    expect(silent).to.deep.equal([]);
  });

  it("Throttle: a repeated line is written once per window, and the next one says how many were held back", () => {
    let now = 0;
    const throttle = new LogThrottle(60_000, () => now);
    const out: string[] = [];
    for (let i = 0; i < 5; i++) throttle.write("k", "down", (l) => out.push(l));
    throttle.write("other", "other", (l) => out.push(l));
    now = 61_000;
    throttle.write("k", "down", (l) => out.push(l));
    throttle.write("k", "down", (l) => out.push(l));
    expect(out).to.deep.equal(["down", "other", "down (4 more like it in the last 60 s)"]);
  });

  describe("what the client logs", () => {
    let h: Harness;
    beforeEach(async () => (h = await new Harness().start()));
    afterEach(async () => h.stop());

    it("NoPerCallLogs: routing calls logs nothing, at any level", async () => {
      serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
      const xds = h.xds();
      const router = await next(xds.router(`${kitexHost}:8888`), (r) => r.snapshot.clusters.size === 2);
      const before = h.log.lines.length;
      for (let i = 0; i < 100; i++) router.route({ path: i % 2 === 0 ? "/proxyless.GreetService/SayHello" : "/nowhere", headers: {} });
      expect(h.log.lines.slice(before)).to.deep.equal([]);
    });

    it("NackOnce: a NACK re-sent on every reconnect is logged once at warn, with the resource and the reason", async () => {
      const bad = anyPack(ClusterSchema, create(ClusterSchema, { name: "bad", clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS } }));
      h.cp.set(CDS, { bad });
      const xds = h.xds();
      const sub = xds.cluster("bad").subscribe();
      const port = Number(h.address.split(":")[1]);
      for (let restart = 0; restart < 3; restart++) {
        const n = h.requestCount();
        await h.nextRequest((r) => r.typeUrl === CDS && r.errorDetail !== undefined, n);
        await h.cp.close();
        await h.cp.listen({ host: "127.0.0.1", port });
      }
      await next(xds.status$, (s) => s.connection === "ready");
      sub.unsubscribe();
      const nacks = h.log.at("warn").filter((l) => l.startsWith("NACK"));
      expect(nacks).to.deep.equal(['NACK Cluster version 1: resource "bad": cluster "bad": eds_cluster_config: is required for an EDS cluster']);
    });
  });
});
