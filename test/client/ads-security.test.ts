// TLS and a JWT bearer token to the control plane (gRFC A65, A97), as istiod requires on its port 15012: the
// server is verified against the CA file (under a SAN override), the token file is sent and re-read, and each way
// it can go wrong fails with a message that names the cause.
import { expect } from "chai";
import { rm, writeFile } from "node:fs/promises";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { rawClusterType } from "../../src/client/resource-types.js";
import type { XdsServerOptions } from "../../src/client/xds-client-options.js";
import { ControlPlane } from "rxds/server";
import { CertificateDir, jwt, MeshCa, type KeyPair } from "../support/mesh-certificates.js";
import { CDS, Harness, next, pack } from "../support/wire.js";

const ISTIOD = "istiod.istio-system.svc";

describe("TLS and JWT to the control plane (gRFC A65, A97)", function () {
  this.timeout(15000);
  let ca: MeshCa;
  let istiod: KeyPair;
  let dir: CertificateDir;
  let h: Harness;
  let plane: ControlPlane;
  let address: string;
  const tokens: (string | undefined)[] = [];

  before(async () => {
    ca = await MeshCa.create();
    istiod = await ca.issue({ sans: [{ dns: ISTIOD }] });
  });

  beforeEach(async () => {
    dir = await CertificateDir.create();
    await dir.writeMesh(ca);
    h = await new Harness().start();
    tokens.length = 0;
    plane = new ControlPlane({
      authenticate: ({ token }) => {
        tokens.push(token);
        return token === undefined ? "no bearer token" : token.startsWith("bad") ? "token rejected" : undefined;
      },
    });
    plane.set(CDS, { a: pack(ClusterSchema, { name: "a" }) });
    address = await plane.listen({ tls: istiod });
  });

  afterEach(async () => {
    await h.stop();
    await plane.close();
    await dir.remove();
  });

  /** The istiod-like server entry: TLS with the mesh CA under istiod's SAN, and the token file. */
  function secure(overrides: Partial<{ ca: string; serverName: string; token: string }> = {}): XdsServerOptions {
    return {
      uri: address,
      channelCreds: { type: "tls", caCertificateFile: overrides.ca ?? dir.file("root-cert.pem"), serverName: overrides.serverName ?? ISTIOD, refreshIntervalMs: 50 },
      callCreds: [{ type: "jwt_token_file", jwtTokenFile: overrides.token ?? dir.file("istio-token"), clusterId: "Kubernetes" }],
    };
  }

  /** The error a watch of cluster "a" gets when the control plane cannot be reached. */
  async function unreachable(server: XdsServerOptions): Promise<string> {
    const client = h.client({ servers: [server] });
    const update = await next(client.watch(rawClusterType, "a"), (u) => u.error !== undefined);
    expect(update.error?.code).to.equal("CONTROL_PLANE_UNAVAILABLE");
    return update.error!.message;
  }

  it("TlsAndJwt: verifies the server against the CA under its SAN, sends the token and Istio's clusterid header", async () => {
    const token = jwt({ sub: "system:serviceaccount:default:client", exp: Math.floor(Date.now() / 1000) + 3600 });
    await dir.write("istio-token", token);
    const client = h.client({ servers: [secure()] });
    const update = await next(client.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    expect(update.resource?.name).to.equal("a");
    const request = await firstRequest(plane);
    expect(request.headers["authorization"]).to.equal(`Bearer ${token}`);
    expect(request.headers["clusterid"]).to.equal("Kubernetes");
  });

  it("WrongCa: a server certificate from another CA fails, saying it is not signed by the CA of the configured file", async () => {
    await dir.write("istio-token", jwt({ exp: Math.floor(Date.now() / 1000) + 3600 }));
    const other = await MeshCa.create("another mesh");
    const otherCa = await dir.write("other-ca.pem", other.certificate);
    const message = await unreachable(secure({ ca: otherCa }));
    expect(message).to.contain(`xDS server ${address} is unavailable`);
    expect(message).to.contain(`the server's certificate is not signed by the CA certificates of ${otherCa}`);
  });

  it("WrongSan: a server certificate without the expected name fails, naming the name and the certificate's SANs", async () => {
    await dir.write("istio-token", jwt({ exp: Math.floor(Date.now() / 1000) + 3600 }));
    const message = await unreachable(secure({ serverName: "istiod.other-ns.svc" }));
    expect(message).to.contain("Host: istiod.other-ns.svc. is not in the cert's altnames: DNS:istiod.istio-system.svc");
  });

  it("Expired: an expired server certificate fails, saying so", async () => {
    await dir.write("istio-token", jwt({ exp: Math.floor(Date.now() / 1000) + 3600 }));
    const expired = await ca.issue({ sans: [{ dns: ISTIOD }], notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) });
    const stale = new ControlPlane();
    const staleAddress = await stale.listen({ tls: expired });
    try {
      const message = await unreachable({ ...secure(), uri: staleAddress });
      expect(message).to.contain("certificate has expired");
    } finally {
      await stale.close();
    }
  });

  it("MissingToken: no token file, or one without a JWT, fails the stream, naming the file and the cause", async () => {
    const missing = dir.file("no-such-token");
    expect(await unreachable(secure({ token: missing }))).to.contain(`cannot read the JWT token file ${missing}`);
    await dir.write("bad-token", "not-a-jwt");
    expect(await unreachable(secure({ token: dir.file("bad-token") }))).to.contain("no JWT with a numeric exp claim");
  });

  it("RefusedToken: a token the control plane refuses fails with UNAUTHENTICATED and the server's reason", async () => {
    const refusing = new ControlPlane({ authenticate: () => "token audience is not istio-ca" });
    const refusingAddress = await refusing.listen({ tls: istiod });
    try {
      await dir.write("istio-token", jwt({ exp: Math.floor(Date.now() / 1000) + 3600 }));
      const message = await unreachable({ ...secure(), uri: refusingAddress });
      expect(message).to.contain("16 UNAUTHENTICATED: token audience is not istio-ca");
    } finally {
      await refusing.close();
    }
  });

  it("RotatedToken: a token close to expiry is read again for the next stream, which sends the new one", async () => {
    // Within 30 s of its exp a token is not cached (gRFC A97), so each new stream reads the file.
    const first = jwt({ n: 1, exp: Math.floor(Date.now() / 1000) + 20 });
    await dir.write("istio-token", first);
    const client = h.client({ servers: [secure()] });
    const sub = client.watch(rawClusterType, "a").subscribe();
    await next(client.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    const second = jwt({ n: 2, exp: Math.floor(Date.now() / 1000) + 3600 });
    await dir.write("istio-token", second);
    const port = Number(address.split(":")[1]);
    await plane.close();
    await plane.listen({ port, tls: istiod });
    await next(client.status$, (s) => s.connection === "ready");
    await next(plane.requests$, (r) => r.headers["authorization"] === `Bearer ${second}`);
    sub.unsubscribe();
    expect(tokens).to.deep.equal([first, second]);
  });

  it("RotatedCa: CA files are read again once their refresh interval has passed, and the next connection uses them", async () => {
    await dir.write("istio-token", jwt({ exp: Math.floor(Date.now() / 1000) + 3600 }));
    const other = await MeshCa.create("old mesh root");
    await writeFile(dir.file("root-cert.pem"), other.certificate);
    const client = h.client({ servers: [secure()] });
    const sub = client.watch(rawClusterType, "a").subscribe();
    await next(client.watch(rawClusterType, "a"), (u) => u.error?.code === "CONTROL_PLANE_UNAVAILABLE");
    await writeFile(dir.file("root-cert.pem"), ca.certificate);
    const update = await next(client.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    sub.unsubscribe();
    expect(update.resource?.name).to.equal("a");
  });

  it("MissingCaFile: a CA file that cannot be read fails, naming it", async () => {
    await rm(dir.file("root-cert.pem"));
    await dir.write("istio-token", jwt({ exp: Math.floor(Date.now() / 1000) + 3600 }));
    expect(await unreachable(secure())).to.contain(`cannot read the CA certificate file ${dir.file("root-cert.pem")}`);
  });
});

async function firstRequest(plane: ControlPlane) {
  return next(plane.requests$);
}
