import { expect } from "chai";
import { parseTarget } from "../../src/routing/target.js";

describe("parseTarget", () => {
  const ns = { namespace: "default" };
  const table: [string, string][] = [
    ["kitex-server.default.svc.cluster.local:8888", "kitex-server.default.svc.cluster.local:8888"],
    ["kitex-server:8888", "kitex-server.default.svc.cluster.local:8888"],
    ["kitex-server.prod:8888", "kitex-server.prod.svc.cluster.local:8888"],
    ["kitex-server.prod.svc:8888", "kitex-server.prod.svc.cluster.local:8888"],
    ["Kitex-Server.Default.SVC.cluster.local.:8888", "kitex-server.default.svc.cluster.local:8888"],
    ["xds:///kitex-server:8888", "kitex-server.default.svc.cluster.local:8888"],
    ["api.example.com:443", "api.example.com:443"],
    ["kitex-server", "kitex-server.default.svc.cluster.local:80"],
    ["10.0.0.1:9000", "10.0.0.1:9000"],
    ["[::1]:9000", "[::1]:9000"],
  ];
  for (const [target, authority] of table) {
    it(`expands ${target} to ${authority}`, () => {
      expect(parseTarget(target, ns).authority).to.equal(authority);
    });
  }

  it("uses the configured cluster domain", () => {
    expect(parseTarget("echo:7070", { namespace: "ns", domain: "corp.local" }).host).to.equal("echo.ns.svc.corp.local");
  });

  for (const [bad, reason] of [
    ["echo:http", /port "http" is not a number in 1..65535/],
    ["echo:0", /port "0"/],
    [":8080", /expected host:port/],
    ["::1:8080", /IPv6 address must be in brackets/],
    ["[::1", /unclosed "\["/],
  ] as const) {
    it(`rejects ${JSON.stringify(bad)} naming the problem`, () => {
      expect(() => parseTarget(bad, ns)).to.throw(reason);
    });
  }
});
