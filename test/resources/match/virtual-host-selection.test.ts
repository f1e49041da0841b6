import { expect } from "chai";
import fc from "fast-check";
import {
  createVirtualHostSelector,
  findDuplicateDomain,
  findMalformedDomain,
  stripPort,
} from "../../../src/resources/match/virtual-host-selection.js";

const SEED = 20240611;

function select(hosts: Record<string, string[]>, authority: string): string | undefined {
  return createVirtualHostSelector(Object.entries(hosts).map(([value, domains]) => ({ domains, value })))(authority);
}

describe("createVirtualHostSelector", () => {
  const table: [name: string, hosts: Record<string, string[]>, authority: string, expected: string | undefined][] = [
    ["an exact domain beats every wildcard", { any: ["*"], suf: ["*.foo.com"], pre: ["www.*"], ex: ["www.foo.com"] }, "www.foo.com", "ex"],
    ["a suffix wildcard beats a prefix wildcard", { any: ["*"], pre: ["www.*"], suf: ["*.foo.com"] }, "www.foo.com", "suf"],
    ["a prefix wildcard beats *", { any: ["*"], pre: ["www.*"] }, "www.foo.com", "pre"],
    ["* matches anything else", { any: ["*"], ex: ["a.com"] }, "b.com", "any"],
    ["no match without *", { ex: ["a.com"] }, "b.com", undefined],
    ["the longest suffix wildcard wins", { short: ["*.com"], long: ["*.foo.com"] }, "a.foo.com", "long"],
    ["the longest suffix wildcard wins whatever the order", { long: ["*.foo.com"], short: ["*.com"] }, "a.foo.com", "long"],
    ["the longest prefix wildcard wins", { short: ["foo.*"], long: ["foo.bar.*"] }, "foo.bar.com", "long"],
    ["*-bar.foo.com matches baz-bar.foo.com", { w: ["*-bar.foo.com"] }, "baz-bar.foo.com", "w"],
    ["a suffix wildcard does not match the empty string", { w: ["*-bar.foo.com"] }, "-bar.foo.com", undefined],
    ["a prefix wildcard does not match the empty string", { w: ["foo-*"] }, "foo-", undefined],
    ["matching ignores case (grpc-js-xds is case-sensitive)", { v: ["Echo.Default.SVC"] }, "echo.default.svc", "v"],
    ["the authority's case is ignored too", { v: ["echo.default.svc"] }, "ECHO.Default.svc", "v"],
    ["wildcards ignore case", { v: ["*.FOO.com"] }, "A.foo.COM", "v"],
    ["host:port matches a host:port domain literally", { v: ["echo:8080"] }, "echo:8080", "v"],
    ["host:port falls back to the host without the port", { v: ["echo"] }, "echo:8080", "v"],
    ["a host:port domain beats the bare host domain", { bare: ["echo"], port: ["echo:8080"] }, "echo:8080", "port"],
    ["a host:port domain does not match another port", { port: ["echo:8080"] }, "echo:9090", undefined],
    ["a host:port domain does not match the bare host", { port: ["echo:8080"] }, "echo", undefined],
    ["an exact match on the bare host beats a wildcard on host:port", { pre: ["echo*"], ex: ["echo"] }, "echo:8080", "ex"],
    ["a suffix wildcard matches after the port is stripped", { w: ["*.svc.cluster.local"] }, "echo.default.svc.cluster.local:8080", "w"],
    ["an IPv6 literal with a port falls back to the bracketed address", { v: ["[::1]"] }, "[::1]:50051", "v"],
    ["a bare IPv6 address is not cut at a colon", { v: ["::"] }, "::1", undefined],
    ["the first virtual host listing a domain wins", { first: ["a.com"], second: ["a.com"] }, "a.com", "first"],
    ["the first * wins", { first: ["*"], second: ["*"] }, "x", "first"],
  ];
  for (const [name, hosts, authority, expected] of table) {
    it(`${name}: ${authority} → ${String(expected)}`, () => {
      expect(select(hosts, authority)).to.equal(expected);
    });
  }

  it("returns falsy values of the selected host as they are", () => {
    const selector = createVirtualHostSelector([{ domains: ["a"], value: 0 }, { domains: ["*"], value: 1 }]);
    expect(selector("a")).to.equal(0);
  });

  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
  const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join("."));
  const recase = (s: string, flips: boolean[]): string =>
    [...s].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join("");

  it("property: a domain always matches itself in any letter case, with or without a port", () => {
    fc.assert(
      fc.property(domain, fc.array(fc.boolean(), { minLength: 1 }), fc.option(fc.integer({ min: 1, max: 65535 })), (d, flips, port) => {
        const selector = createVirtualHostSelector([{ domains: ["*"], value: "any" }, { domains: [recase(d, flips)], value: "self" }]);
        const authority = recase(d, flips.map((f) => !f)) + (port === null ? "" : `:${port}`);
        expect(selector(authority)).to.equal("self");
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("property: an exact domain beats any wildcard that also matches", () => {
    fc.assert(
      fc.property(domain, fc.nat(), fc.nat(), fc.boolean(), (d, cutSuffix, cutPrefix, exactFirst) => {
        // Wildcards built from the host itself, so they all match it.
        const sfx = `*${d.slice(1 + (cutSuffix % d.length))}`;
        const pfx = `${d.slice(0, d.length - 1 - (cutPrefix % d.length))}*`;
        const wild = { domains: [sfx, pfx, "*"], value: "wildcard" };
        const exact = { domains: [d], value: "exact" };
        const selector = createVirtualHostSelector(exactFirst ? [exact, wild] : [wild, exact]);
        expect(selector(d)).to.equal("exact");
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("property: a matching suffix wildcard beats any prefix wildcard, and the longer suffix wins", () => {
    fc.assert(
      fc.property(domain, fc.nat(), fc.nat(), fc.nat(), (d, a, b, c) => {
        fc.pre(d.length >= 2);
        const cuts = [1 + (a % (d.length - 1)), 1 + (b % (d.length - 1))];
        const [longCut, shortCut] = cuts[0]! <= cuts[1]! ? cuts : [cuts[1]!, cuts[0]!];
        fc.pre(longCut !== shortCut);
        const selector = createVirtualHostSelector([
          { domains: [`${d.slice(0, 1 + (c % (d.length - 1)))}*`], value: "prefix" },
          { domains: [`*${d.slice(shortCut!)}`], value: "short" },
          { domains: [`*${d.slice(longCut!)}`], value: "long" },
        ]);
        expect(selector(d)).to.equal("long");
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe("stripPort", () => {
  const table: [authority: string, expected: string | undefined][] = [
    ["echo:8080", "echo"],
    ["echo", undefined],
    ["echo:", undefined],
    ["echo:http", undefined],
    [":8080", undefined],
    ["[::1]:443", "[::1]"],
    ["[::1]", undefined],
    ["::1", undefined],
    ["a:1:2", undefined],
  ];
  for (const [authority, expected] of table) {
    it(`strips ${JSON.stringify(authority)} to ${String(expected)}`, () => {
      expect(stripPort(authority)).to.equal(expected);
    });
  }
});

describe("findDuplicateDomain", () => {
  it("returns undefined when every domain is unique", () => {
    expect(findDuplicateDomain([{ domains: ["a.com", "*.a.com"] }, { domains: ["b.com", "*"] }])).to.equal(undefined);
  });
  it("returns a domain listed by two virtual hosts", () => {
    expect(findDuplicateDomain([{ domains: ["a.com"] }, { domains: ["b.com", "a.com"] }])).to.equal("a.com");
  });
  it("returns a domain listed twice by one virtual host", () => {
    expect(findDuplicateDomain([{ domains: ["a.com", "a.com"] }])).to.equal("a.com");
  });
  it("compares domains ignoring case and returns the offending spelling", () => {
    expect(findDuplicateDomain([{ domains: ["A.com"] }, { domains: ["a.COM"] }])).to.equal("a.COM");
  });
  it("treats * in two virtual hosts as a duplicate", () => {
    expect(findDuplicateDomain([{ domains: ["*"] }, { domains: ["*"] }])).to.equal("*");
  });
});

describe("findMalformedDomain", () => {
  const valid = ["a.com", "*", "*.a.com", "*-bar.a.com", "a.*", "a-*"];
  it(`accepts ${valid.join(", ")}`, () => {
    expect(findMalformedDomain(valid)).to.equal(undefined);
  });
  for (const bad of ["", "**", "a*b.com", "*.a.*", "a.*.com"]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      expect(findMalformedDomain(["ok.com", bad])).to.equal(bad);
    });
  }
});
