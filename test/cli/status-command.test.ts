// `rxds status` run as a user runs it (the command in a child process) against two processes serving CSDS: this one,
// with an XdsClient and addCsdsService, and a grpc-js-xds process with grpc-js's admin services, both clients of the
// same control plane. The tables and the JSON dumps are read field by field.
import { ClusterSchema, Cluster_DiscoveryType } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { addCsdsService } from "rxds/grpc";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { RunningProcess } from "../support/running-process.js";
import { CDS, EDS, Harness, LDS, pack, RDS } from "../support/wire.js";

const cli = new URL("../../src/cli/main.js", import.meta.url).pathname;
const target = `${kitexHost}:8888`;
const v1 = `outbound|8888|v1|${kitexHost}`;
const v2 = `outbound|8888|v2|${kitexHost}`;
const watched = [`${LDS} ${target}`, `${RDS} outbound|8888||${kitexHost}`, `${CDS} ${v1}`, `${CDS} ${v2}`, `${EDS} ${v1}`, `${EDS} ${v2}`].sort();

/** `rxds status <args>`: its exit code, stdout and stderr. */
async function status(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, "status", ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

interface ResourceJson {
  typeUrl: string;
  name: string;
  versionInfo?: string;
  clientStatus: string;
  xdsConfig?: { "@type": string; name?: string; clusterName?: string };
  errorState?: { details: string; versionInfo?: string };
}

/** The resources of the first client of `rxds status --json`, once `ready` holds for them (polled: the clients are live). */
async function dumpOf(address: string, ready: (resources: ResourceJson[]) => boolean): Promise<ResourceJson[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { code, stdout, stderr } = await status(address, "--json");
    expect(code, stderr).to.equal(0);
    const resources = (JSON.parse(stdout).config[0]?.genericXdsConfigs ?? []) as ResourceJson[];
    if (ready(resources)) return resources.sort((a, b) => `${a.typeUrl} ${a.name}`.localeCompare(`${b.typeUrl} ${b.name}`));
    if (Date.now() > deadline) expect.fail(`not ready within 15 s: ${stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const allAcked = (resources: ResourceJson[]) => resources.length === watched.length && resources.every((r) => r.clientStatus === "ACKED");


describe("rxds status (the command)", function () {
  this.timeout(30000);
  let h: Harness;
  let server: Server;
  let rxdsAddress: string;
  let peer: RunningProcess;
  let peerAddress: string;

  beforeEach(async () => {
    h = await new Harness().start();
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const xds = h.xds();
    xds.router(target).subscribe();
    server = new Server();
    addCsdsService(server, xds);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    rxdsAddress = `127.0.0.1:${port}`;
    const bootstrap = {
      xds_servers: [{ server_uri: h.address, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
      node: { id: "sidecar~127.0.0.1~peer.default~default.svc.cluster.local", locality: {}, metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
    };
    peer = RunningProcess.node(new URL("../fixtures/grpc-js-xds-csds.js", import.meta.url), [target], { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) });
    peerAddress = `127.0.0.1:${(await peer.waitFor(/csds \d+/)).slice(5)}`;
  });

  afterEach(async () => {
    await peer.exit("SIGTERM");
    server.forceShutdown();
    await h.stop();
  });

  it("StatusTable: one table per client, a row per resource with its status, version and update time", async () => {
    await dumpOf(rxdsAddress, allAcked);
    const { code, stdout } = await status(rxdsAddress);
    expect(code).to.equal(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).to.match(/^client sidecar~127\.0\.0\.1~test\.default~default\.svc\.cluster\.local \(rxds \d+\.\d+\.\d+\)$/);
    expect(lines[1]).to.match(/^ {2}TYPE {19}NAME +STATUS {2}VERSION {2}UPDATED$/);
    expect(lines.slice(2)).to.have.length(6);
    const listener = lines.find((line) => line.startsWith("  Listener "))!;
    expect(listener).to.match(new RegExp(`^ {2}Listener {15}${target.replace(/\./g, "\\.")} +ACKED {3}\\d+ +\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`));
    expect(lines.filter((line) => line.startsWith("  ClusterLoadAssignment "))).to.have.length(2);
  });

  it("StatusNack: a NACKed cluster keeps its version, with the rejected version, when and why on the line under it", async () => {
    const before = await dumpOf(rxdsAddress, allAcked);
    h.cp.set(CDS, { [v1]: pack(ClusterSchema, { name: v1, connectTimeout: { seconds: -1n } }) });
    const after = await dumpOf(rxdsAddress, (resources) => resources.some((r) => r.name === v1 && r.clientStatus === "NACKED"));
    const nacked = after.find((r) => r.typeUrl === CDS && r.name === v1)!;
    expect(nacked.versionInfo).to.equal(before.find((r) => r.typeUrl === CDS && r.name === v1)!.versionInfo);
    const { stdout } = await status(rxdsAddress);
    const lines = stdout.split("\n");
    const row = lines.findIndex((line) => line.startsWith(`  Cluster `) && line.includes(`${v1} `));
    expect(lines[row]).to.match(new RegExp(` NACKED +${nacked.versionInfo} `));
    expect(lines[row + 1]).to.match(new RegExp(`^ {4}NACKed version ${nacked.errorState!.versionInfo} at \\d{4}-[\\d:.T-]+Z: cluster "${v1.replace(/[.|]/g, "\\$&")}": connect_timeout`));
  });

  it("StatusJson: --json is the raw dump as proto3 JSON, each resource decoded with its @type", async () => {
    const resources = await dumpOf(rxdsAddress, allAcked);
    expect(resources.map((r) => `${r.typeUrl} ${r.name}`)).to.deep.equal(watched);
    const listener = resources.find((r) => r.typeUrl === LDS)!;
    expect(listener.xdsConfig).to.deep.include({ "@type": LDS, name: target });
    expect(resources.find((r) => r.typeUrl === EDS)!.xdsConfig!.clusterName).to.match(/^outbound\|8888\|v[12]\|/);
  });

  it("StatusPeer: grpc-js-xds's CSDS reads the same as rxds's, field by field, NACK included", async () => {
    const ours = await dumpOf(rxdsAddress, allAcked);
    const theirs = await dumpOf(peerAddress, allAcked);
    // grpc-js-xds reports type_url as the bare message name (envoy.config.listener.v3.Listener), grpc-go and rxds as
    // the full type URL; the table shows both as the message's short name.
    const bare = (typeUrl: string) => typeUrl.replace(/^type\.googleapis\.com\//, "");
    const fields = (r: ResourceJson) => ({ type: bare(r.typeUrl), name: r.name, versionInfo: r.versionInfo, clientStatus: r.clientStatus, xdsConfig: r.xdsConfig });
    const sorted = (dump: ResourceJson[]) => dump.map(fields).sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
    expect(JSON.stringify(sorted(theirs), null, 1)).to.equal(JSON.stringify(sorted(ours), null, 1));
    const table = (await status(peerAddress)).stdout;
    expect(table).to.match(/^client sidecar~127\.0\.0\.1~peer\.default~default\.svc\.cluster\.local \(gRPC Node Pure JS [\d.]+\)\n/);
    expect(table).to.match(new RegExp(`\\n {2}Listener +${target.replace(/\./g, "\\.")} +ACKED +\\d+ `));

    // A cluster both reject: EDS from a config source other than ADS.
    h.cp.set(CDS, { [v1]: pack(ClusterSchema, { name: v1, clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { edsConfig: { configSourceSpecifier: { case: "path", value: "/eds" } } } }) });
    const nacked = (resources: ResourceJson[]) => resources.some((r) => bare(r.typeUrl) === bare(CDS) && r.name === v1 && r.clientStatus === "NACKED");
    const [oursNacked, theirsNacked] = await Promise.all([dumpOf(rxdsAddress, nacked), dumpOf(peerAddress, nacked)]);
    for (const dump of [oursNacked, theirsNacked]) {
      const cluster = dump.find((r) => bare(r.typeUrl) === bare(CDS) && r.name === v1)!;
      expect(cluster.errorState?.details, JSON.stringify(cluster)).to.be.a("string").and.not.equal("");
      expect(cluster.errorState?.versionInfo).to.not.equal(cluster.versionInfo);
    }
    // rxds keeps the held version's bytes beside a NACK, as grpc-go does; grpc-js-xds leaves them out.
    expect(oursNacked.find((r) => r.typeUrl === CDS && r.name === v1)!.xdsConfig).to.deep.include({ name: v1 });
    expect(theirsNacked.find((r) => bare(r.typeUrl) === bare(CDS) && r.name === v1)!.xdsConfig).to.equal(undefined);
    const peerLines = (await status(peerAddress)).stdout.split("\n");
    const row = peerLines.findIndex((line) => line.startsWith("  Cluster ") && line.includes(`${v1} `));
    expect(peerLines[row]).to.match(/ NACKED /);
    expect(peerLines[row + 1]).to.match(/^ {4}NACKed version \d+ at [\d:.TZ-]+: \S/);
  });

  it("StatusUnreachable: a process that does not answer fails with exit status 1 naming the address; a bad address is a usage error", async () => {
    const down = await status("127.0.0.1:1", "--timeout", "2000");
    expect(down.code).to.equal(1);
    expect(down.stderr).to.match(/^rxds: cannot read CSDS from 127\.0\.0\.1:1: 14 UNAVAILABLE/);
    const bad = await status("nowhere");
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('rxds: status: expected host:port, got "nowhere"');
  });
});
