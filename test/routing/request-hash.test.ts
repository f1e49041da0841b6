// The request hash of a route's hash policies (gRFC A42, as Envoy computes it).
import { create } from "@bufbuild/protobuf";
import { expect } from "chai";
import { RouteAction_HashPolicySchema, type RouteAction_HashPolicy } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { fieldRejecter } from "../../src/resources/field-error.js";
import { defaultRegexLimits } from "../../src/resources/match/safe-regex.js";
import type { RouteRequest } from "../../src/resources/match/route-match.js";
import { buildHashPolicies } from "../../src/resources/route-policies.js";
import { requestHasher } from "../../src/routing/request-hash.js";
import { combineHash, hashTop53, xxHash64, type Hash64 } from "../../src/routing/xx-hash64.js";

type PolicyInit = Parameters<typeof create<typeof RouteAction_HashPolicySchema>>[1];

function policies(...inits: PolicyInit[]) {
  const messages: RouteAction_HashPolicy[] = inits.map((init) => create(RouteAction_HashPolicySchema, init));
  return buildHashPolicies(messages, "route.hash_policy", fieldRejecter("route configuration", "rc"), defaultRegexLimits);
}

function hashOf(text: string): number {
  const out: Hash64 = { hi: 0, lo: 0 };
  xxHash64(text, out);
  return hashTop53(out);
}

function hash(inits: PolicyInit[], request: Partial<RouteRequest>): number | undefined {
  return requestHasher(policies(...inits))!({ path: "/svc/M", headers: {}, ...request });
}

const header = (headerName: string, extra: Partial<{ regexRewrite: { pattern: { regex: string }; substitution: string } }> = {}, terminal = false): PolicyInit => ({
  policySpecifier: { case: "header", value: { headerName, ...extra } },
  terminal,
});

describe("request hash (gRFC A42)", () => {
  it("has no hasher for a route without hash policies", () => {
    expect(requestHasher(policies())).to.equal(undefined);
  });

  it("hashes a header's value with XXH64, several values joined with a comma", () => {
    expect(hash([header("x-user")], { headers: { "x-user": "alice" } })).to.equal(hashOf("alice"));
    expect(hash([header("x-user")], { headers: { "x-user": ["a", "b"] } })).to.equal(hashOf("a,b"));
  });

  it("yields no hash when the header is absent, or is a -bin header", () => {
    expect(hash([header("x-user")], {})).to.equal(undefined);
    expect(hash([header("x-user-bin")], { headers: { "x-user-bin": "AAAA" } })).to.equal(undefined);
  });

  it("hashes the header after its regex_rewrite (every match replaced, \\N for a group)", () => {
    const rewrite = { regexRewrite: { pattern: { regex: "session-([0-9]+)" }, substitution: "s\\1" } };
    expect(hash([header("x-session", rewrite)], { headers: { "x-session": "session-42;session-7" } })).to.equal(hashOf("s42;s7"));
  });

  it("combines the hashes of several policies in order: rotate left by one, XOR", () => {
    const a: Hash64 = { hi: 0, lo: 0 };
    const b: Hash64 = { hi: 0, lo: 0 };
    xxHash64("alice", a);
    xxHash64("eu", b);
    combineHash(a, b);
    expect(hash([header("x-user"), header("x-region")], { headers: { "x-user": "alice", "x-region": "eu" } })).to.equal(hashTop53(a));
    // A policy that yields nothing is skipped.
    expect(hash([header("x-missing"), header("x-user")], { headers: { "x-user": "alice" } })).to.equal(hashOf("alice"));
  });

  it("stops at a terminal policy once a hash exists, and not before", () => {
    const request = { headers: { "x-user": "alice", "x-region": "eu" } };
    expect(hash([header("x-user", {}, true), header("x-region")], request)).to.equal(hashOf("alice"));
    expect(hash([header("x-missing", {}, true), header("x-region")], request)).to.equal(hashOf("eu"));
  });

  it("hashes filter state io.grpc.channel_id to the channel's id itself (uniform over the hash space), and other keys to nothing", () => {
    const channel: PolicyInit = { policySpecifier: { case: "filterState", value: { key: "io.grpc.channel_id" } } };
    for (const channelId of [0, 7, 2 ** 21 + 5, 2 ** 52 + 12345, 2 ** 53 - 1]) expect(hash([channel], { channelId })).to.equal(channelId);
    const channelId = 2 ** 52 + 12345;
    expect(hash([{ policySpecifier: { case: "filterState", value: { key: "other" } } }], { channelId })).to.equal(undefined);
    expect(hash([{ policySpecifier: { case: "filterState", value: { key: "io.grpc.channel_id" } } }], {})).to.equal(undefined);
  });

  it("hashes connection_properties.source_ip to the request's source IP when it has one", () => {
    const policy: PolicyInit = { policySpecifier: { case: "connectionProperties", value: { sourceIp: true } } };
    expect(hash([policy], { sourceIp: "10.1.2.3" })).to.equal(hashOf("10.1.2.3"));
    expect(hash([policy], {})).to.equal(undefined);
  });

  it("hashes a query parameter's first value, and a cookie of the cookie header", () => {
    const query: PolicyInit = { policySpecifier: { case: "queryParameter", value: { name: "user" } } };
    expect(hash([query], { path: "/svc/M?a=1&user=bob&user=carol" })).to.equal(hashOf("bob"));
    expect(hash([query], { path: "/svc/M?username=bob" })).to.equal(undefined);
    const cookie: PolicyInit = { policySpecifier: { case: "cookie", value: { name: "sid" } } };
    expect(hash([cookie], { headers: { cookie: "a=1; sid=xyz; b=2" } })).to.equal(hashOf("xyz"));
    expect(hash([cookie], { headers: { cookie: "a=1" } })).to.equal(undefined);
  });
});
