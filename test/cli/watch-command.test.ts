// `rxds watch` run as a user runs it, against a control plane serving the kitex mesh: piped (one view per change) and
// on a pseudo-terminal (`script` gives it one; the screen is cleared and redrawn).
import { expect } from "chai";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { RunningProcess } from "../support/running-process.js";
import { CDS, Harness, pack } from "../support/wire.js";

const cli = new URL("../../src/cli/main.js", import.meta.url);
const v1 = `outbound|8888|v1|${kitexHost}`;

describe("rxds watch (the command)", function () {
  this.timeout(30000);
  let h: Harness;
  let watch: RunningProcess | undefined;
  beforeEach(async () => {
    h = await new Harness().start();
    serveMesh(h.cp, kitexMesh(9001, 9002, [30, 70]), "grpc");
  });
  afterEach(async () => {
    await watch?.exit("SIGKILL");
    watch = undefined;
    await h.stop();
  });

  it("WatchPiped: a view per change, with routes, cluster policies, endpoints and the NACKs; SIGINT exits 0", async () => {
    watch = RunningProcess.node(cli, ["watch", "kitex-server:8888", "--server", h.address]);
    const first = await watch.waitFor(/--- view \d+ ---\n[^]*?127\.0\.0\.1:9002[^\n]*\n/);
    expect(first).to.contain(`target ${kitexHost}:8888  (xDS ${h.address} ready)`);
    expect(first).to.contain(`  listener ${kitexHost}:8888\n  route configuration outbound|8888||${kitexHost}\n`);
    expect(first).to.contain(`  [0] route-based-on-tags: prefix "/", header stage exact "canary" → ${v1}  timeout 500 ms`);
    expect(first).to.contain(`  [2] default: prefix "/" → ${v1} 30/100, outbound|8888|v2|${kitexHost} 70/100\n`);
    expect(first).to.contain(`  ${v1}  EDS ${v1}  ROUND_ROBIN  max_requests 1024\n`);
    expect(first).to.match(/ {4}ENDPOINT {8}HEALTH {3}WEIGHT {2}PRIORITY {2}LOCALITY {2}EJECTED\n {4}127\.0\.0\.1:9001 {2}HEALTHY {2}1 {7}0 {9}- {9}-\n/);
    expect(first).to.not.contain("NACKs");

    const mark = watch.output.length;
    h.cp.set(CDS, { [v1]: pack(ClusterSchema, { name: v1, connectTimeout: { seconds: -1n } }) });
    const nacked = await watch.waitFor(/--- view \d+ ---\n[^]*?NACKs and errors\n[^\n]*\n/, mark);
    expect(nacked).to.match(new RegExp(`\\n {2}Cluster ${v1.replace(/[.|]/g, "\\$&")}: version \\d+ rejected \\(serving version \\d+\\): cluster "[^"]+": connect_timeout`));
    // The last good version keeps serving: the cluster is still listed with its endpoint.
    expect(nacked).to.contain(`  ${v1}  EDS ${v1}`);
    expect(await watch.exit("SIGINT"), watch.output).to.equal(0);
  });

  it("WatchTerminal: on a pseudo-terminal the screen is cleared and the view redrawn", async () => {
    const command = [process.execPath, cli.pathname, "watch", "kitex-server:8888", "--server", h.address].join(" ");
    watch = new RunningProcess("script", ["-qfec", command, "/dev/null"]);
    const screen = await watch.waitFor(/\x1b\[2J\x1b\[H[^]*?\(Ctrl-C to stop\)/);
    expect(screen).to.contain(`target ${kitexHost}:8888`);
    expect(screen).to.not.contain("--- view");
  });

  it("WatchUsage: a malformed target or a missing --server is a usage error (exit 2)", async () => {
    const noServer = RunningProcess.node(cli, ["watch", "kitex-server:8888"]);
    expect(await noServer.exit()).to.equal(2);
    expect(noServer.output).to.contain("rxds: watch: --server <host:port> is required");
    const badTarget = RunningProcess.node(cli, ["watch", "kitex-server:99999", "--server", h.address]);
    expect(await badTarget.exit()).to.equal(2);
    expect(badTarget.output).to.match(/^rxds: .*99999/);
  });
});
