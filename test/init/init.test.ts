import { expect } from "chai";
import { hostname } from "node:os";
import { init, XdsError } from "rxds";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { Harness, next } from "../support/wire.js";

describe("init()", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await new Harness().start();
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
  });
  afterEach(async () => h.stop());

  const istioEnv = () => ({ POD_NAMESPACE: "default", POD_NAME: "client-0", INSTANCE_IP: "127.0.0.1", ISTIO_VERSION: "1.24.0" });

  it("builds the process-wide client from Istio's pod environment and resolves a short target in the pod's namespace", async () => {
    const xds = init({ env: istioEnv(), server: h.address });
    try {
      const router = await next(xds.router("kitex-server:8888"), (r) => r.snapshot.clusters.size > 0);
      expect(router.snapshot.target).to.equal(`${kitexHost}:8888`);
      const first = await h.nextRequest((r) => r.node !== undefined);
      expect(first.request.node?.id).to.equal("sidecar~127.0.0.1~client-0.default~default.svc.cluster.local");
      expect(first.request.node?.metadata).to.include({ GENERATOR: "grpc", NAMESPACE: "default", INSTANCE_IPS: "127.0.0.1", ISTIO_VERSION: "1.24.0" });
    } finally {
      await xds.close();
    }
  });

  it("builds it from a gRPC bootstrap in GRPC_XDS_BOOTSTRAP_CONFIG", async () => {
    const bootstrap = {
      xds_servers: [{ server_uri: h.address, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
      node: { id: "sidecar~127.0.0.1~boot.prod~prod.svc.cluster.local", metadata: { GENERATOR: "grpc", NAMESPACE: "prod" } },
    };
    const xds = init({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) } });
    try {
      const router = await next(xds.router(`${kitexHost}:8888`), (r) => r.snapshot.clusters.size > 0);
      expect(router.snapshot.listener?.name).to.equal(`${kitexHost}:8888`);
      expect((await h.nextRequest((r) => r.node !== undefined)).request.node?.id).to.equal(bootstrap.node.id);
    } finally {
      await xds.close();
    }
  });

  it("returns the same client to a second call, throws on different options, and starts afresh after close()", async () => {
    const options = { env: istioEnv(), server: h.address };
    const first = init(options);
    try {
      expect(init({ env: istioEnv(), server: h.address })).to.equal(first);
      expect(() => init({ env: istioEnv(), server: "127.0.0.1:1" })).to.throw(XdsError, /already exists with other options/);
    } finally {
      await first.close();
    }
    const second = init(options);
    expect(second).to.not.equal(first);
    await second.close();
  });

  it("works from explicit options alone, outside a pod: init({ server, namespace }) names the node after the host, at 127.0.0.1", async () => {
    const xds = init({ server: h.address, namespace: "default" });
    try {
      const router = await next(xds.router("kitex-server:8888"), (r) => r.snapshot.clusters.size > 0);
      expect(router.snapshot.target).to.equal(`${kitexHost}:8888`);
      expect(router.route({ path: "/proxyless.GreetService/SayHello", headers: {} })).to.not.be.instanceOf(Error);
      const first = await h.nextRequest((r) => r.node !== undefined);
      expect(first.request.node?.id).to.equal(`sidecar~127.0.0.1~${hostname()}.default~default.svc.cluster.local`);
      expect(first.request.node?.metadata).to.include({ GENERATOR: "grpc", NAMESPACE: "default", INSTANCE_IPS: "127.0.0.1" });
    } finally {
      await xds.close();
    }
  });

  it("takes podName and ip in place of POD_NAME and INSTANCE_IP, over the environment", async () => {
    const xds = init({ env: istioEnv(), server: h.address, namespace: "default", podName: "laptop", ip: "::1" });
    try {
      await next(xds.router("kitex-server:8888"), (r) => r.snapshot.clusters.size > 0);
      const first = await h.nextRequest((r) => r.node !== undefined);
      expect(first.request.node?.id).to.equal("sidecar~::1~laptop.default~default.svc.cluster.local");
      expect(first.request.node?.metadata).to.include({ NAMESPACE: "default", INSTANCE_IPS: "::1" });
    } finally {
      await xds.close();
    }
  });

  it("names every missing pod variable", () => {
    expect(() => init({ env: { POD_NAME: "p" } })).to.throw(XdsError, /POD_NAMESPACE/).and.to.match(/INSTANCE_IP/).and.not.match(/POD_NAME[^S]/);
  });
});
