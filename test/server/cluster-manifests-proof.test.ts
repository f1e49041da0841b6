// The cross-check of issue 15: a kubectl-style dump (Services, EndpointSlices, Pods, a VirtualService with
// fields rxds accepts but does not serve, a DestinationRule) mounted the way Kubernetes mounts a ConfigMap, served
// by `serveMesh`, and called through both @grpc/grpc-js-xds and rxds's own client with short targets from the
// client's namespace and from another one; then the ConfigMap's atomic `..data` swap changes the split.
import { Client, credentials } from "@grpc/grpc-js";
import { register } from "@grpc/grpc-js-xds";
import { expect } from "chai";
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XdsClient } from "rxds";
import { xdsClientOptions } from "rxds/grpc";
import { serveMesh, type MeshServer } from "rxds/server";
import { GreetServiceClient } from "../../examples/greet-service.js";
import { call, GreetBackend, MemoryLog, tally } from "../fixtures/serve-mesh.js";

/** What `kubectl get svc,endpointslices,pods,virtualservices,destinationrules -A -o yaml` prints for the mesh, trimmed. */
function kubectlDump(ports: { v1: number; v2: number; other: number }, weights: readonly [number, number]): string {
  const slice = (service: string, namespace: string, suffix: string, pod: string, port: number) => `- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: ${service}-${suffix}
    namespace: ${namespace}
    labels: {kubernetes.io/service-name: ${service}, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}
    resourceVersion: "4711"
    uid: 0c5e2a7e-${suffix}
    generation: 2
  addressType: IPv4
  endpoints:
  - addresses: [127.0.0.1]
    conditions: {ready: true, serving: true, terminating: false}
    nodeName: kind-worker
    targetRef: {kind: Pod, name: ${pod}, namespace: ${namespace}, uid: 7d1f-${pod}}
  ports:
  - {name: grpc, port: ${port}, protocol: TCP}
`;
  const pod = (name: string, namespace: string, labels: string) => `- apiVersion: v1
  kind: Pod
  metadata:
    name: ${name}
    namespace: ${namespace}
    labels: {${labels}}
    creationTimestamp: "2024-05-01T10:00:00Z"
    managedFields: [{manager: kube-controller-manager, operation: Update, apiVersion: v1}]
  spec: {containers: [{name: app, image: "greeter:1", ports: [{name: grpc, containerPort: 8080}]}]}
  status: {phase: Running, podIP: 127.0.0.1, podIPs: [{ip: 127.0.0.1}], hostIP: 172.18.0.2}
`;
  const service = (name: string, namespace: string, ip: string, port: number) => `- apiVersion: v1
  kind: Service
  metadata:
    name: ${name}
    namespace: ${namespace}
    uid: 51c0-${name}
    resourceVersion: "1200"
    annotations: {kubectl.kubernetes.io/last-applied-configuration: '{"kind":"Service"}'}
  spec:
    type: ClusterIP
    clusterIP: ${ip}
    clusterIPs: [${ip}]
    selector: {app: ${name}}
    ports: [{name: grpc, port: ${port}, targetPort: grpc, protocol: TCP}]
  status: {loadBalancer: {}}
`;
  return `apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
${service("kitex-server", "default", "10.96.0.10", 8888)}${service("greeter", "other", "10.96.0.20", 7070)}${slice("kitex-server", "default", "a1", "kitex-v1", ports.v1)}${slice("kitex-server", "default", "b2", "kitex-v2", ports.v2)}${slice("greeter", "other", "c3", "greeter-0", ports.other)}${pod("kitex-v1", "default", "app: kitex-server, version: v1")}${pod("kitex-v2", "default", "app: kitex-server, version: v2")}${pod("greeter-0", "other", "app: greeter")}- apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata: {name: kitex-server, namespace: default, generation: 1}
  spec:
    host: kitex-server
    trafficPolicy: {proxyProtocol: {version: V1}}
    subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
- apiVersion: networking.istio.io/v1
  kind: VirtualService
  metadata: {name: kitex-server, namespace: default, generation: 3}
  spec:
    hosts: [kitex-server]
    http:
    - match: [{headers: {stage: {exact: canary}}}]
      route: [{destination: {host: kitex-server, subset: v1}}]
      corsPolicy: {allowOrigins: [{exact: "https://example.com"}]}
      mirror: {host: kitex-server, subset: v2}
    - route:
      - {destination: {host: kitex-server, subset: v1}, weight: ${weights[0]}}
      - {destination: {host: kitex-server, subset: v2}, weight: ${weights[1]}}
  status: {observedGeneration: 3}
`;
}

/** A directory laid out as Kubernetes mounts a ConfigMap: `..<version>/` holds the files, `..data` links to it, names link through `..data`. */
class ConfigMapMount {
  private version = 0;

  private constructor(readonly dir: string) {}

  static async create(files: Record<string, string>): Promise<ConfigMapMount> {
    const mount = new ConfigMapMount(await mkdtemp(join(tmpdir(), "rxds-configmap-")));
    await mount.swap(files);
    for (const name of Object.keys(files)) await symlink(join("..data", name), join(mount.dir, name));
    return mount;
  }

  /** Writes a new version and swaps `..data` to it atomically, as the kubelet does; the old version is removed. */
  async swap(files: Record<string, string>): Promise<void> {
    const old = `..v${this.version}`;
    const next = `..v${++this.version}`;
    await mkdir(join(this.dir, next));
    for (const [name, text] of Object.entries(files)) await writeFile(join(this.dir, next, name), text);
    await symlink(next, join(this.dir, "..data_tmp"));
    await rename(join(this.dir, "..data_tmp"), join(this.dir, "..data"));
    if (this.version > 1) await rm(join(this.dir, old), { recursive: true, force: true });
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}

/** The node of a client in namespace default, as both clients announce it. */
const node = { id: "sidecar~127.0.0.1~proof.default~default.svc.cluster.local", locality: {}, metadata: { GENERATOR: "grpc", NAMESPACE: "default" } };

describe("a kubectl dump in a ConfigMap, served by rxds serve, called by grpc-js-xds and by rxds", function () {
  this.timeout(20000);
  let v1: GreetBackend;
  let v2: GreetBackend;
  let other: GreetBackend;
  let mount: ConfigMapMount;
  let server: MeshServer;
  let xds: XdsClient;
  const peers: Client[] = [];
  const ours: Client[] = [];
  const log = new MemoryLog();

  /** A grpc-js-xds client of `target` with its own bootstrap (the process-wide one may belong to another test). */
  function peerClient(target: string): Client {
    const bootstrap = { xds_servers: [{ server_uri: server.address, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }], node };
    const client = new Client(`xds:///${target}`, credentials.createInsecure(), { "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config": JSON.stringify(bootstrap) });
    peers.push(client);
    return client;
  }

  function ourClient(target: string): Client {
    const client = new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds));
    ours.push(client);
    return client;
  }

  before(async () => {
    [v1, v2, other] = await Promise.all([GreetBackend.start("v1"), GreetBackend.start("v2"), GreetBackend.start("other")]);
    mount = await ConfigMapMount.create({ "mesh.yaml": kubectlDump({ v1: v1.port, v2: v2.port, other: other.port }, [100, 0]) });
    server = await serveMesh({ config: mount.dir, port: 0, log: log.log });
    register();
    xds = new XdsClient({ servers: [{ uri: server.address }], node });
  });

  after(async () => {
    for (const client of [...peers, ...ours]) client.close();
    await xds?.close();
    // Let grpc-js-xds end its ADS streams (their last watch goes with the channels) before the server goes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await server?.close();
    v1?.stop();
    v2?.stop();
    other?.stop();
    await mount?.remove();
  });

  it("AcceptedFields: the VirtualService's corsPolicy and mirror and the DestinationRule's proxyProtocol are accepted with one warning each document", () => {
    const warnings = log.lines.filter((line) => line.startsWith("warning: "));
    expect(warnings).to.deep.equal([
      `warning: ${join(mount.dir, "mesh.yaml")}: document 1 (items[8]: DestinationRule kitex-server): accepted but not served: spec.trafficPolicy.proxyProtocol`,
      `warning: ${join(mount.dir, "mesh.yaml")}: document 1 (items[9]: VirtualService kitex-server): accepted but not served: spec.http[0].corsPolicy, spec.http[0].mirror`,
    ]);
    expect(log.lines.find((line) => line.startsWith("serving "))).to.include("(0 ServiceEntry, 2 Service, 1 DestinationRule, 1 VirtualService, 0 raw)");
  });

  for (const [who, make] of [
    ["grpc-js-xds", (target: string) => peerClient(target)],
    ["rxds", (target: string) => ourClient(target)],
  ] as const) {
    it(`ShortTargets (${who}): kitex-server:8888 from its own namespace routes by the dump's VirtualService to the pods its slices name`, async () => {
      const client = make("kitex-server:8888");
      expect(await tally(client, "SayHello", 10, { stage: "canary" })).to.deep.equal(new Map([["v1", 10]]));
      expect(await tally(client, "SayHello", 10)).to.deep.equal(new Map([["v1", 10]]));
    });

    it(`ShortTargets (${who}): greeter.other:7070 reaches the service of namespace other`, async () => {
      expect(await tally(make("greeter.other:7070"), "SayHello", 5)).to.deep.equal(new Map([["other", 5]]));
    });
  }

  it("ConfigMapSwap: an atomic ..data swap to a 0/100 split reaches both clients", async () => {
    const lines = log.lines.length;
    await mount.swap({ "mesh.yaml": kubectlDump({ v1: v1.port, v2: v2.port, other: other.port }, [0, 100]) });
    // Both clients are in the one view grpc/default~127.0.0.1 (views are built for their first client).
    expect(await log.line("reloaded ", lines)).to.include("RDS outbound|8888||kitex-server.default.svc.cluster.local (grpc/default~127.0.0.1)");
    for (const client of [peers[0]!, ours[0]!]) {
      const deadline = Date.now() + 3000;
      for (let streak = 0; streak < 10; ) {
        if (Date.now() > deadline) expect.fail("the client did not follow the swap within 3 s");
        streak = (await call(client, "SayHello")) === "v2" ? streak + 1 : 0;
      }
      expect(await tally(client, "SayHello", 20)).to.deep.equal(new Map([["v2", 20]]));
      // The header route is unchanged.
      expect(await tally(client, "SayHello", 5, { stage: "canary" })).to.deep.equal(new Map([["v1", 5]]));
    }
  });
});
