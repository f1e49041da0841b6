// rxds serve's input as a cluster has it: Istio fields rxds accepts without serving, the fields a cluster
// adds, the other Istio kinds, Kubernetes objects (`kubectl get … -o yaml`), exportTo, WorkloadEntries, and
// the checks that keep what clients would NACK out of a served config.
import { expect } from "chai";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import type { Cluster } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import { UpstreamTlsContextSchema } from "../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import type { ClusterLoadAssignment } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { RouteConfiguration } from "../../../gen/envoy/config/route/v3/route_pb.js";
import { translateForGrpc } from "../../../src/server/config/grpc-translation.js";
import { parseMeshConfig, parseMeshSources } from "../../../src/server/config/mesh-config.js";
import { clusterTypeUrl, endpointsTypeUrl, listenerTypeUrl, nameTableTypeUrl, routeConfigurationTypeUrl } from "../../../src/server/config/xds-resources.js";
import { translateForSidecar } from "../../../src/server/config/sidecar-translation.js";
import { errorOf, reviewsServiceEntry } from "../../support/mesh-config-text.js";

const reviews = reviewsServiceEntry;

/** A kubectl-style dump: a List of a Service, its EndpointSlice and Pods, with everything a cluster adds. */
const kubectlDump = `apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: greeter
    namespace: shop
    uid: 6f1c0a4e-1111-2222-3333-444455556666
    resourceVersion: "81234"
    creationTimestamp: "2024-05-01T10:00:00Z"
    labels: {app: greeter}
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"v1","kind":"Service"}
    managedFields:
    - manager: kubectl-client-side-apply
      operation: Update
      fieldsV1: {f:spec: {}}
  spec:
    type: ClusterIP
    clusterIP: 10.96.0.20
    clusterIPs: [10.96.0.20]
    selector: {app: greeter}
    ports:
    - {name: grpc-api, port: 7070, targetPort: api, protocol: TCP}
  status: {loadBalancer: {}}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: greeter-abcde
    namespace: shop
    labels: {kubernetes.io/service-name: greeter, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}
    ownerReferences: [{apiVersion: v1, kind: Service, name: greeter, uid: 6f1c0a4e-1111-2222-3333-444455556666}]
  addressType: IPv4
  endpoints:
  - addresses: [127.0.0.1]
    conditions: {ready: true, serving: true, terminating: false}
    targetRef: {kind: Pod, name: greeter-v1-abc, namespace: shop}
  - addresses: [10.1.0.7]
    conditions: {ready: false}
    targetRef: {kind: Pod, name: greeter-v2-def, namespace: shop}
  ports:
  - {name: grpc-api, port: 5001, protocol: TCP}
- apiVersion: v1
  kind: Endpoints
  metadata: {name: greeter, namespace: shop}
  subsets:
  - addresses: [{ip: 10.9.9.9}]
    ports: [{name: grpc-api, port: 5009}]
- apiVersion: v1
  kind: Pod
  metadata:
    name: greeter-v1-abc
    namespace: shop
    labels: {app: greeter, version: v1}
    generation: 1
  spec: {containers: [{name: app, image: greeter:1}]}
  status: {phase: Running, podIP: 127.0.0.1, podIPs: [{ip: 127.0.0.1}]}
`;

describe("rxds serve input: Istio and Kubernetes as a cluster has them", () => {
  it("AcceptedFields: valid Istio fields rxds does not serve are accepted with one warning per document naming each", () => {
    const config = parseMeshConfig(
      `${reviews}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  gateways: [mesh]
  http:
  - match: [{uri: {prefix: /}, method: {exact: GET}}]
    route: [{destination: {host: reviews}, headers: {request: {set: {x-a: b}}}}]
    mirror: {host: reviews}
    corsPolicy: {allowOrigins: [{exact: "*"}]}
    fault: {delay: {exponentialDelay: 1s, percentage: {value: 10}}}
    retries: {attempts: 2, retryRemoteLocalities: true}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    loadBalancer: {simple: ROUND_ROBIN, localityLbSetting: {enabled: true}, warmupDurationSecs: 10s}
`,
      "mesh.yaml",
    );
    expect(config.warnings).to.deep.equal([
      "mesh.yaml: document 2 (VirtualService reviews): accepted but not served: spec.gateways, spec.http[0].match[0].method, spec.http[0].route[0].headers, spec.http[0].mirror, spec.http[0].corsPolicy, spec.http[0].fault.delay.exponentialDelay, spec.http[0].retries.retryRemoteLocalities",
      "mesh.yaml: document 3 (DestinationRule reviews): accepted but not served: spec.trafficPolicy.loadBalancer.warmupDurationSecs",
    ]);
    // The served fields are still served.
    const vs = config.virtualServices[0]!;
    expect(vs.http[0]?.retries?.attempts).to.equal(2);
    expect(vs.http[0]?.match[0]?.uri).to.deep.equal({ kind: "prefix", value: "/" });
    expect(config.destinationRules[0]?.trafficPolicy?.loadBalancer?.simple).to.equal("ROUND_ROBIN");
  });

  it("UnknownIstioField: a field Istio's schema does not define is still an error naming it and its line", () => {
    const message = errorOf(`${reviews}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {simpel: ROUND_ROBIN}}
`);
    expect(message).to.match(/^mesh\.yaml: document 2 \(DestinationRule reviews\): spec\.trafficPolicy\.loadBalancer\.simpel: unknown field "simpel"; Istio defines simple, consistentHash, .* \(line 14\)$/);
  });

  it("ClusterFields: status, managedFields, uid, resourceVersion, generation, creationTimestamp, labels and annotations are ignored silently", () => {
    const config = parseMeshConfig(
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews
  namespace: bookinfo
  uid: 1b2c
  resourceVersion: "77"
  generation: 3
  creationTimestamp: "2024-05-01T10:00:00Z"
  labels: {app: reviews}
  annotations: {note: hi}
  managedFields: [{manager: kubectl, operation: Apply}]
spec:
  hosts: [reviews]
  ports: [{number: 9080, name: http}]
  endpoints: [{address: 10.0.0.1}]
status:
  observedGeneration: 3
  conditions: [{type: Reconciled, status: "True"}]
`,
      "mesh.yaml",
    );
    expect(config.warnings).to.deep.equal([]);
    expect(config.serviceEntries[0]?.hosts).to.deep.equal(["reviews.bookinfo.svc.cluster.local"]);
  });

  it("OtherKinds: each Istio kind rxds does not apply is accepted with one warning saying so; other API groups are ignored with one", () => {
    const kinds = [
      ["networking.istio.io/v1", "Gateway"],
      ["networking.istio.io/v1", "Sidecar"],
      ["networking.istio.io/v1beta1", "ProxyConfig"],
      ["networking.istio.io/v1", "WorkloadGroup"],
      ["security.istio.io/v1", "AuthorizationPolicy"],
      ["security.istio.io/v1", "RequestAuthentication"],
      ["telemetry.istio.io/v1", "Telemetry"],
      ["extensions.istio.io/v1alpha1", "WasmPlugin"],
    ];
    const docs = kinds.map(([apiVersion, kind]) => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: x, namespace: istio-system}\nspec: {}\n`);
    docs.push("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 1}\n");
    const config = parseMeshConfig(docs.join("---\n"), "mesh.yaml");
    expect(config.warnings).to.have.length(kinds.length + 1);
    kinds.forEach(([, kind], i) => expect(config.warnings[i]).to.match(new RegExp(`^mesh\\.yaml: document ${i + 1} \\(${kind} x\\): accepted but not applied: `)));
    expect(config.warnings.at(-1)).to.equal("mesh.yaml: document 9 (Deployment x): ignored: rxds serve reads no apps/v1 Deployment");
  });

  it("KubectlDump: a List of a Service, its EndpointSlice and Pods declares the service as istiod reads it", () => {
    const config = parseMeshConfig(kubectlDump, "dump.yaml");
    expect(config.warnings).to.deep.equal([]);
    const service = config.serviceEntries[0]!;
    expect(service.declaredBy).to.equal("Service");
    expect(service.hosts).to.deep.equal(["greeter.shop.svc.cluster.local"]);
    expect(service.addresses).to.deep.equal(["10.96.0.20"]);
    // The port's protocol from its name (grpc-…); its pods' port from the slice (targetPort is a name).
    expect(service.ports).to.deep.equal([{ number: 7070, name: "grpc-api", protocol: "GRPC" }]);
    // Ready endpoints only, labelled from the Pod their targetRef names; a loopback pod IP is fine; the Endpoints
    // object of a Service that has slices is not read.
    expect(service.endpoints).to.deep.equal([{ address: "127.0.0.1", ports: { "grpc-api": 5001 }, labels: { app: "greeter", version: "v1" } }]);
    const resources = translateForGrpc(config, { clientNamespace: "shop" });
    const assignment = resources.get(endpointsTypeUrl)?.get("outbound|7070||greeter.shop.svc.cluster.local") as ClusterLoadAssignment;
    const socket = assignment.endpoints[0]?.lbEndpoints[0]?.hostIdentifier;
    expect(socket?.case === "endpoint" && socket.value.address?.address.case === "socketAddress" ? socket.value.address.address.value.portSpecifier.value : 0).to.equal(5001);
    // The cluster IP names the service in the sidecar view's name table.
    const table = translateForSidecar(config, { clientNamespace: "shop" }).get(nameTableTypeUrl)?.get("") as unknown as { table: Record<string, { ips: string[] }> };
    expect(table.table["greeter.shop.svc.cluster.local"]?.ips).to.deep.equal(["10.96.0.20"]);
  });

  it("PodIdentity: a pod's serviceAccountName is its endpoint's identity, so an ISTIO_MUTUAL cluster expects its SPIFFE SAN", () => {
    const withIdentity = kubectlDump.replace("spec: {containers: [{name: app, image: greeter:1}]}", "spec: {serviceAccountName: greeter, containers: [{name: app, image: greeter:1}]}");
    const config = parseMeshConfig(
      `${withIdentity}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: greeter, namespace: shop}
spec: {host: greeter, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
`,
      "dump.yaml",
    );
    expect(config.serviceEntries[0]?.endpoints[0]).to.include({ address: "127.0.0.1", serviceAccount: "greeter" });
    const cluster = translateForGrpc(config).get(clusterTypeUrl)!.get("outbound|7070||greeter.shop.svc.cluster.local") as Cluster;
    const tls = anyUnpack(cluster.transportSocket!.configType.value as Any, UpstreamTlsContextSchema)!;
    const validation = tls.commonTlsContext!.validationContextType;
    expect(validation.case).to.equal("combinedValidationContext");
    const sans = validation.case === "combinedValidationContext" ? validation.value.defaultValidationContext!.matchSubjectAltNames : [];
    expect(sans.map((san) => san.matchPattern.value)).to.deep.equal(["spiffe://cluster.local/ns/shop/sa/greeter"]);
  });

  it("EndpointsFallback: without EndpointSlices a Service takes its instances from its Endpoints", () => {
    const text = kubectlDump.slice(0, kubectlDump.indexOf("- apiVersion: discovery.k8s.io/v1")) + kubectlDump.slice(kubectlDump.indexOf("- apiVersion: v1\n  kind: Endpoints"));
    expect(parseMeshConfig(text, "dump.yaml").serviceEntries[0]?.endpoints).to.deep.equal([{ address: "10.9.9.9", ports: { "grpc-api": 5009 }, labels: {} }]);
  });

  it("WorkloadEntries: a ServiceEntry's workloadSelector and a Service's selector take the WorkloadEntries (and Pods) of their namespace, locality included", () => {
    const config = parseMeshConfig(
      `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: shop}
spec: {address: 10.2.0.1, labels: {app: billing, version: v1}, ports: {http: 8081}, serviceAccount: billing, locality: us-east/a/x}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-2, namespace: other}
spec: {address: 10.2.0.2, labels: {app: billing}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: billing, namespace: shop}
spec:
  hosts: [billing.example.com]
  ports: [{number: 80, name: http}]
  resolution: STATIC
  workloadSelector: {labels: {app: billing}}
---
apiVersion: v1
kind: Service
metadata: {name: billing, namespace: shop}
spec:
  selector: {app: billing}
  ports: [{name: http, port: 80}]
`,
      "mesh.yaml",
    );
    expect(config.warnings).to.deep.equal([]);
    const entry = { address: "10.2.0.1", ports: { http: 8081 }, labels: { app: "billing", version: "v1" }, serviceAccount: "billing", locality: "us-east/a/x" };
    expect(config.serviceEntries.map((each) => [each.hosts[0], each.endpoints])).to.deep.equal([
      ["billing.example.com", [entry]],
      ["billing.shop.svc.cluster.local", [entry]],
    ]);
  });

  it("ExportTo: a VirtualService exported to its namespace only routes the clients of that namespace; two such in different namespaces do not conflict", () => {
    const service = reviews.replace("namespace: bookinfo", "namespace: bookinfo").replace("hosts: [reviews]", "hosts: [reviews]\n  exportTo: ['*']");
    const vs = (namespace: string, timeout: string) => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: ${namespace}}
spec:
  hosts: [reviews.bookinfo.svc.cluster.local]
  exportTo: ["."]
  http: [{route: [{destination: {host: reviews.bookinfo.svc.cluster.local}}], timeout: ${timeout}}]
`;
    const config = parseMeshConfig(service + vs("bookinfo", "1s") + vs("shop", "2s"), "mesh.yaml");
    const timeoutSeen = (namespace: string | undefined) => {
      const routes = translateForGrpc(config, namespace === undefined ? {} : { clientNamespace: namespace }).get(routeConfigurationTypeUrl)?.get("outbound|9080||reviews.bookinfo.svc.cluster.local") as RouteConfiguration;
      const action = routes.virtualHosts[0]?.routes[0]?.action;
      return action?.case === "route" ? Number(action.value.timeout?.seconds ?? -1) : -1;
    };
    expect(timeoutSeen("bookinfo")).to.equal(1);
    expect(timeoutSeen("shop")).to.equal(2);
    // Elsewhere (and for a client whose namespace is unknown), the default route: no timeout.
    expect(timeoutSeen("other")).to.equal(0);
    expect(timeoutSeen(undefined)).to.equal(0);
    // Two VirtualServices for the host that one namespace would both see are an error.
    expect(errorOf(service + vs("bookinfo", "1s") + vs("shop", "2s").replace('exportTo: ["."]', "exportTo: [bookinfo]"))).to.include(
      "spec.hosts[0]: a VirtualService for host reviews.bookinfo.svc.cluster.local is already declared in mesh.yaml: document 2 (VirtualService reviews)",
    );
  });

  it("ShortNameListeners: the grpc view serves the api_listener under every name a client of its namespace may dial", () => {
    const config = parseMeshConfig(reviews, "mesh.yaml");
    const names = (namespace?: string) => [...(translateForGrpc(config, namespace === undefined ? {} : { clientNamespace: namespace }).get(listenerTypeUrl)?.keys() ?? [])].sort();
    expect(names("bookinfo")).to.deep.equal([
      "reviews.bookinfo.svc.cluster.local:9080",
      "reviews.bookinfo.svc:9080",
      "reviews.bookinfo:9080",
      "reviews:9080",
    ]);
    expect(names("shop")).to.deep.equal(["reviews.bookinfo.svc.cluster.local:9080", "reviews.bookinfo.svc:9080", "reviews.bookinfo:9080"]);
    const listener = translateForGrpc(config, { clientNamespace: "bookinfo" }).get(listenerTypeUrl)?.get("reviews:9080") as Listener;
    expect(listener.name).to.equal("reviews:9080");
    expect(listener.apiListener).to.not.equal(undefined);
  });

  describe("what clients would NACK is an error at load, with the field and line", () => {
    it("an endpoint address that is not an IP, on a service served over EDS", () => {
      expect(errorOf(reviews.replace("address: 10.0.0.1", "address: 999.1.1.1"))).to.equal(
        'mesh.yaml: document 1 (ServiceEntry reviews): spec.endpoints[0].address: must be an IPv4 or IPv6 address, got "999.1.1.1" (line 7)',
      );
    });

    it("a pod IP that is not an IP", () => {
      expect(errorOf(kubectlDump.replace("podIP: 127.0.0.1, podIPs: [{ip: 127.0.0.1}]", "podIP: 127.0.0.300"))).to.match(
        /^mesh\.yaml: document 1 \(items\[3\]: Pod greeter-v1-abc\): status\.podIP: must be an IPv4 or IPv6 address, got "127\.0\.0\.300" \(line \d+\)$/,
      );
    });

    it("a DNS ServiceEntry with a host name is served as a DNS cluster, not over EDS", () => {
      const config = parseMeshConfig(reviews.replace("endpoints: [{address: 10.0.0.1, labels: {version: v1}}]", "resolution: DNS\n  endpoints: [{address: reviews.example.com}]"), "mesh.yaml");
      expect(translateForGrpc(config).get(endpointsTypeUrl)?.size ?? 0).to.equal(0);
    });
  });

  describe("unreadable input gets a short message naming the file", () => {
    it("a YAML alias bomb", () => {
      let text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
      for (let i = 0, prev = "a"; i < 9; i++, prev = `b${i - 1}`) text += `b${i}: &b${i} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]\n`;
      expect(errorOf(text)).to.equal("mesh.yaml: document 1: invalid YAML: Excessive alias count indicates a resource exhaustion attack");
    });

    it("binary garbage", () => {
      const garbage = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 37) % 256)).toString("latin1");
      const message = errorOf(garbage);
      expect(message).to.match(/^mesh\.yaml: not YAML text: binary data at line \d+ \(character \d+\)$/);
    });
  });

  it("Sources: several sources are read as one config, each named in its messages", () => {
    const config = parseMeshSources([
      { file: "a.yaml", text: reviews },
      { file: "b.yaml", text: reviews.replace("name: reviews,", "name: reviews-2,").replace("[reviews]", "[ratings]") },
    ]);
    expect(config.serviceEntries.map((entry) => entry.place)).to.deep.equal(["a.yaml: document 1 (ServiceEntry reviews)", "b.yaml: document 1 (ServiceEntry reviews-2)"]);
    expect(() => parseMeshSources([{ file: "a.yaml", text: reviews }, { file: "b.yaml", text: reviews.replace("name: reviews,", "name: reviews-2,") }])).to.throw(
      "b.yaml: document 1 (ServiceEntry reviews-2): spec.hosts[0]: host reviews.bookinfo.svc.cluster.local is already declared in a.yaml: document 1 (ServiceEntry reviews)",
    );
  });
});
