import { expect } from "chai";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { rawClusterType } from "../../src/client/resource-types.js";
import { edsCluster } from "../support/resources.js";
import { CDS, Harness, next, pack } from "../support/wire.js";

describe("ADS reconnect and close", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("reconnects after the server restarts on the same port, resubscribing with its versions, and subscribers never error", async () => {
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "v1" }) });
    const client = h.client();
    const seen: string[] = [];
    let failed: unknown;
    const sub = client.watch(rawClusterType, "a").subscribe({ next: (u) => seen.push(u.resource?.altStatName ?? "absent"), error: (e) => (failed = e) });
    await h.nextRequest((r) => r.typeUrl === CDS && r.versionInfo === "1");
    const port = Number(h.address.split(":").pop());

    await h.cp.close();
    const down = await next(client.status$, (s) => s.connection === "reconnecting");
    expect(down.lastError).to.be.a("string");
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "v2" }) });
    const n = h.requestCount();
    await h.cp.listen({ host: "127.0.0.1", port });

    const resubscribe = await h.nextRequest((r) => r.typeUrl === CDS, n);
    expect(resubscribe.request.versionInfo).to.equal("1");
    expect(resubscribe.request.responseNonce).to.equal("");
    expect(resubscribe.request.resourceNames).to.deep.equal(["a"]);
    expect(resubscribe.request.node?.userAgentName).to.equal("rxds");
    await next(client.watch(rawClusterType, "a"), (u) => u.resource?.altStatName === "v2");
    await next(client.status$, (s) => s.connection === "ready");
    sub.unsubscribe();
    expect(failed).to.equal(undefined);
    expect(seen).to.deep.equal(["v1", "v2"]);
  });

  it("keeps the last value while the control plane is down", async () => {
    h.cp.set(CDS, { a: pack(ClusterSchema, { name: "a", altStatName: "v1" }) });
    const client = h.client({ doesNotExistTimeoutMs: 50 });
    const sub = client.watch(rawClusterType, "a").subscribe();
    await next(client.watch(rawClusterType, "a"), (u) => u.resource !== undefined);
    await h.cp.close();
    await next(client.status$, (s) => s.connection === "reconnecting");
    const late = await next(client.watch(rawClusterType, "a"));
    sub.unsubscribe();
    expect(late.resource?.altStatName).to.equal("v1");
  });

  it("completes every watch on close() and leaves nothing that keeps the process alive", async function () {
    this.timeout(15000);
    h.cp.set(CDS, { a: edsCluster("a") });
    const script = fileURLToPath(new URL("../fixtures/close-then-exit.js", import.meta.url));
    const child = spawn(process.execPath, [script, h.address], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(out).to.equal("got a\ncompleted\n");
    expect(code).to.equal(0);
  });

  it("completes a watch subscribed after close() at once", async () => {
    const client = h.client();
    await client.close();
    let completed = false;
    client.watch(rawClusterType, "a").subscribe({ complete: () => (completed = true) });
    expect(completed).to.equal(true);
  });
});
