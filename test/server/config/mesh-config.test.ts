import { expect } from "chai";
import { parseMeshConfig } from "../../../src/server/config/mesh-config.js";
import { parseIstioDuration } from "../../../src/server/config/istio-duration.js";
import { errorOf, reviewsServiceEntry } from "../../support/mesh-config-text.js";

const serviceEntry = reviewsServiceEntry;

/** A VirtualService document named reviews around one http entry. */
function virtualService(http: string): string {
  return `${serviceEntry}---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
${http}`;
}

describe("parseMeshConfig", () => {
  it("reads the three Istio kinds and expands short hosts with the resource namespace", () => {
    const config = parseMeshConfig(
      `${serviceEntry}---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews, ratings.other.svc.cluster.local]
  http:
  - route: [{destination: {host: reviews, subset: v1}}]
    timeout: 1m30s
`,
      "mesh.yaml",
    );
    expect(config.serviceEntries[0]?.hosts).to.deep.equal(["reviews.bookinfo.svc.cluster.local"]);
    expect(config.destinationRules[0]?.host).to.equal("reviews.bookinfo.svc.cluster.local");
    // No namespace: "default", as istiod assumes.
    expect(config.virtualServices[0]?.hosts).to.deep.equal(["reviews.default.svc.cluster.local", "ratings.other.svc.cluster.local"]);
    expect(config.virtualServices[0]?.http[0]?.route[0]?.host).to.equal("reviews.default.svc.cluster.local");
    expect(config.virtualServices[0]?.http[0]?.timeout).to.deep.equal({ seconds: 90n, nanos: 0 });
    expect(config.virtualServices[0]?.document).to.equal(3);
  });

  it("keeps a raw @type document as the decoded Envoy message, named by its name", () => {
    const config = parseMeshConfig(
      `"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
name: outbound|9080||reviews.bookinfo.svc.cluster.local
type: EDS
lb_policy: LEAST_REQUEST
connect_timeout: 2s
`,
      "mesh.yaml",
    );
    expect(config.raw).to.have.length(1);
    expect(config.raw[0]?.typeUrl).to.equal("type.googleapis.com/envoy.config.cluster.v3.Cluster");
    expect(config.raw[0]?.name).to.equal("outbound|9080||reviews.bookinfo.svc.cluster.local");
    expect(config.raw[0]?.message.$typeName).to.equal("envoy.config.cluster.v3.Cluster");
  });

  it("skips empty documents but still counts them", () => {
    // The first "---" opens an empty document 1; the ServiceEntry is document 2, the VirtualService 3.
    const message = errorOf(`---\n---\n${virtualService("  - route: [{destination: {host: reviews}, weight: 101}]\n")}`);
    expect(message).to.contain("mesh.yaml: document 3 (VirtualService reviews): spec.http[0].route[0].weight");
  });

  describe("validation errors name the file, the document, the field path and what was expected", () => {
    const cases: { behaviour: string; text: string; message: string }[] = [
      {
        behaviour: "a weight that is not an integer",
        text: virtualService(`  - route:
    - {destination: {host: reviews, subset: v1}, weight: 50}
    - {destination: {host: reviews, subset: v2}, weight: "x"}
`),
        message: 'mesh.yaml: document 2 (VirtualService reviews): spec.http[0].route[1].weight: expected an integer 0..100, got "x"',
      },
      {
        behaviour: "a misspelt field inside a known kind",
        text: virtualService("  - rout: [{destination: {host: reviews}}]\n"),
        message: 'mesh.yaml: document 2 (VirtualService reviews): spec.http[0].rout: unknown field "rout"; Istio defines name, match, route, redirect,',
      },
      {
        behaviour: "a kind Istio's API group does not have",
        text: `apiVersion: networking.istio.io/v1\nkind: Gatway\nmetadata: {name: gw}\nspec: {}\n`,
        message: 'mesh.yaml: document 1: kind: expected a kind of networking.istio.io: VirtualService, DestinationRule, ServiceEntry, WorkloadEntry, EnvoyFilter, Gateway,',
      },
      {
        behaviour: "an Istio apiVersion that does not exist",
        text: `apiVersion: networking.istio.io/v2\nkind: VirtualService\nmetadata: {name: x}\n`,
        message: 'mesh.yaml: document 1: apiVersion: expected networking.istio.io/v1, networking.istio.io/v1beta1, networking.istio.io/v1alpha3, networking.istio.io/v1alpha1, got "networking.istio.io/v2"',
      },
      {
        behaviour: "a timeout that is not a duration",
        text: virtualService("  - route: [{destination: {host: reviews}}]\n    timeout: fast\n"),
        message: 'mesh.yaml: document 2 (VirtualService reviews): spec.http[0].timeout: expected a duration such as "0.5s", "100ms" or "1m", got "fast"',
      },
      {
        behaviour: "a header match with two conditions",
        text: virtualService("  - match: [{headers: {stage: {exact: a, prefix: b}}}]\n    route: [{destination: {host: reviews}}]\n"),
        message: "mesh.yaml: document 2 (VirtualService reviews): spec.http[0].match[0].headers.stage: expected exactly one of exact, prefix, regex, got a mapping",
      },
      {
        behaviour: "a uri regex that is not RE2, as clients would NACK it",
        text: virtualService("  - match: [{uri: {regex: \"/(a\"}}]\n    route: [{destination: {host: reviews}}]\n"),
        message: 'mesh.yaml: document 2 (VirtualService reviews): spec.http[0].match[0].uri.regex: invalid regex "/(a": error parsing regexp: missing closing )',
      },
      {
        behaviour: "a header regex whose program is over the default limit of 100, as clients would NACK it",
        text: virtualService("  - match: [{headers: {tenant: {regex: \"[a-z0-9-]{1,63}\"}}}]\n    route: [{destination: {host: reviews}}]\n"),
        message:
          "mesh.yaml: document 2 (VirtualService reviews): spec.http[0].match[0].headers.tenant.regex: regex program size 127 exceeds the limit 100 (maxRegexProgramSize)",
      },
      {
        behaviour: "a route without destinations",
        text: virtualService("  - name: empty\n"),
        message: "mesh.yaml: document 2 (VirtualService reviews): spec.http[0].route: expected at least one destination, got nothing",
      },
      {
        behaviour: "an unknown load balancer",
        text: `${serviceEntry}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-dr, namespace: bookinfo}
spec:
  host: reviews
  subsets:
  - name: v1
    trafficPolicy: {loadBalancer: {simple: FASTEST}}
`,
        message:
          'mesh.yaml: document 2 (DestinationRule reviews-dr): spec.subsets[0].trafficPolicy.loadBalancer.simple: expected one of UNSPECIFIED, ROUND_ROBIN, LEAST_REQUEST, LEAST_CONN, RANDOM, got "FASTEST"',
      },
      {
        behaviour: "a port number out of range",
        text: serviceEntry.replace("number: 9080", "number: 70000"),
        message: "mesh.yaml: document 1 (ServiceEntry reviews): spec.ports[0].number: expected an integer 1..65535, got 70000",
      },
      {
        behaviour: "an endpoint port naming no service port",
        text: serviceEntry.replace("{address: 10.0.0.1,", "{address: 10.0.0.1, ports: {grpc: 9000},"),
        message: 'mesh.yaml: document 1 (ServiceEntry reviews): spec.endpoints[0].ports.grpc: unknown field "grpc"; expected one of http',
      },
      {
        behaviour: "a host declared by two ServiceEntries",
        text: `${serviceEntry}---\n${serviceEntry.replace("name: reviews,", "name: reviews-2,")}`,
        message: "mesh.yaml: document 2 (ServiceEntry reviews-2): spec.hosts[0]: host reviews.bookinfo.svc.cluster.local is already declared in mesh.yaml: document 1 (ServiceEntry reviews)",
      },
      {
        behaviour: "a raw resource with a field its type does not have",
        text: `"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster\nname: c\nlb_polcy: RANDOM\n`,
        message: "mesh.yaml: document 1: (document): not a valid envoy.config.cluster.v3.Cluster in proto3 JSON",
      },
      {
        behaviour: "a raw resource of a type rxds does not serve",
        text: `"@type": type.googleapis.com/envoy.config.core.v3.Node\nid: x\n`,
        message: 'mesh.yaml: document 1: @type: expected one of type.googleapis.com/envoy.config.listener.v3.Listener',
      },
      {
        behaviour: "broken YAML",
        text: `${serviceEntry}---\nkind: [unclosed\n`,
        message: "mesh.yaml: document 2: invalid YAML:",
      },
    ];
    for (const { behaviour, text, message } of cases) {
      it(`rejects ${behaviour}`, () => {
        expect(errorOf(text)).to.contain(message);
      });
    }

    it("accepts valid regexes, and a header regex \"*\", which Istio reads as presence rather than as a regex", () => {
      const config = parseMeshConfig(virtualService('  - match: [{uri: {regex: "/reviews\\\\..*"}, headers: {stage: {regex: "*"}, tenant: {regex: "[a-z]{1,8}"}}}]\n    route: [{destination: {host: reviews}}]\n'), "mesh.yaml");
      const match = config.virtualServices[0]!.http[0]!.match[0]!;
      expect(match.uri).to.deep.equal({ kind: "regex", value: "/reviews\\..*" });
      expect(match.headers).to.deep.equal([
        { name: "stage", match: { kind: "regex", value: "*" } },
        { name: "tenant", match: { kind: "regex", value: "[a-z]{1,8}" } },
      ]);
    });

    it("ends the message with the line of the offending field", () => {
      const message = errorOf(virtualService("  - route:\n    - {destination: {host: reviews}, weight: -1}\n"));
      // serviceEntry is 7 lines, "---" line 8, the VirtualService starts on line 9; the destination is on line 16.
      expect(message).to.match(/spec\.http\[0\]\.route\[0\]\.weight: expected an integer 0\.\.100, got -1 \(line 16\)$/);
    });
  });
});

describe("parseIstioDuration", () => {
  it("reads protobuf JSON and Go style durations", () => {
    expect(parseIstioDuration("0.5s")).to.deep.equal({ seconds: 0n, nanos: 500_000_000 });
    expect(parseIstioDuration("100ms")).to.deep.equal({ seconds: 0n, nanos: 100_000_000 });
    expect(parseIstioDuration("1h2m3.25s")).to.deep.equal({ seconds: 3723n, nanos: 250_000_000 });
    expect(parseIstioDuration("5")).to.equal(undefined);
    expect(parseIstioDuration("-1s")).to.equal(undefined);
  });
});
