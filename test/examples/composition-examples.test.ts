// The three composition examples, run as a user runs them (a child process of node) against `rxds serve` (serveMesh
// on loopback, serving examples/mesh.yaml from a temp file that the tests edit).
import { expect } from "chai";
import { serveMesh, type MeshServer } from "rxds/server";
import { ConfigDir, exampleMesh } from "../fixtures/serve-mesh.js";
import { binomialBounds } from "../integrations/split-bounds.js";
import { RunningProcess } from "../support/running-process.js";

const host = "kitex-server.default.svc.cluster.local";

describe("composition examples against rxds serve", () => {
  let config: ConfigDir;
  let mesh: MeshServer;
  const running: RunningProcess[] = [];
  beforeEach(async () => {
    config = await ConfigDir.create(await exampleMesh({ ports: [8001, 8002] }));
    mesh = await serveMesh({ config: config.file, port: 0, log: () => undefined, debounceMs: 5 });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((example) => example.exit("SIGKILL")));
    await mesh.close();
    await config.remove();
  });
  const start = (name: string, ...args: string[]) => {
    const example = RunningProcess.node(new URL(`../../examples/${name}.js`, import.meta.url), ["--server", mesh.address, ...args]);
    running.push(example);
    return example;
  };

  it("connection-pool: a client per endpoint, added and removed live as the config file changes; Ctrl-C closes them all", async function () {
    this.timeout(30000);
    const pool = start("connection-pool");
    await pool.waitFor(/pool: 2 clients \(127\.0\.0\.1:800[12], 127\.0\.0\.1:800[12]\)/);
    expect(pool.output).to.contain(`+ 127.0.0.1:8001  outbound|8888|v1|${host}  weight 1  HEALTHY`);
    expect(pool.output).to.contain(`+ 127.0.0.1:8002  outbound|8888|v2|${host}  weight 1  HEALTHY`);

    const mark = pool.output.length;
    await config.write(await exampleMesh({ ports: [8001, 8003] }));
    await pool.waitFor(/pool: 2 clients \(127\.0\.0\.1:8001, 127\.0\.0\.1:8003\)/, mark);
    const after = pool.output.slice(mark);
    expect(after).to.contain("- 127.0.0.1:8002");
    expect(after).to.contain(`+ 127.0.0.1:8003  outbound|8888|v2|${host}  weight 1  HEALTHY`);
    expect(after).to.not.contain("127.0.0.1:8001  ");

    const end = pool.output.length;
    expect(await pool.exit("SIGINT"), pool.output).to.equal(0);
    const closing = pool.output.slice(end).trim().split("\n");
    expect(closing.slice(0, 2).sort()).to.deep.equal(["- 127.0.0.1:8001", "- 127.0.0.1:8003"]);
    expect(closing.at(-1)).to.equal("closed");
  });

  it("job-router: jobs from an async generator follow the canary header to v1 and split 50/50 otherwise, within binomial bounds", async function () {
    this.timeout(30000);
    const router = start("job-router", "--jobs", "1000");
    expect(await router.exit(), router.output).to.equal(0);
    expect(router.output).to.match(/^job 1 \(other\): route default → v[12] 127\.0\.0\.1:800[12]$/m);
    expect(router.output).to.match(/^job 5 \(canary\): route route-based-on-tags → v1 127\.0\.0\.1:8001$/m);
    expect(router.output).to.match(/^canary jobs \(200\): v1 200 \(100%\)$/m);
    const other = router.output.match(/^other jobs \(800\): v1 (\d+) \(\d+%\), v2 (\d+) \(\d+%\)$/m);
    expect(other, router.output).to.not.equal(null);
    const [lo, hi] = binomialBounds(800, 0.5);
    expect(Number(other![1])).to.be.within(lo, hi);
    expect(Number(other![1]) + Number(other![2])).to.equal(800);
  });

  it("watch: the target's routes, clusters and endpoints, drawn again when the config file changes", async function () {
    this.timeout(30000);
    const watch = start("watch");
    await watch.waitFor(/--- view 1 ---/);
    const first = await watch.waitFor(/--- view 1 ---\n[^]*?127\.0\.0\.1:8002[^\n]*\n/);
    expect(first).to.contain(`target ${host}:8888`);
    expect(first).to.contain(`  [0] route-based-on-tags: prefix "/", header stage exact "canary" → outbound|8888|v1|${host}  timeout 500 ms`);
    expect(first).to.contain(`  [2] default: prefix "/" → outbound|8888|v1|${host} 50/100, outbound|8888|v2|${host} 50/100  timeout 500 ms`);
    expect(first).to.contain(`  outbound|8888|v1|${host}  EDS outbound|8888|v1|${host}  ROUND_ROBIN  max_requests 1024`);
    expect(first).to.match(/\n {4}ENDPOINT {8}HEALTH {3}WEIGHT {2}PRIORITY {2}LOCALITY {2}EJECTED\n {4}127\.0\.0\.1:8001 {2}HEALTHY {2}1 {7}0 {9}- {9}-\n/);

    const mark = watch.output.length;
    await config.write(await exampleMesh({ ports: [8001, 8002], weights: [10, 90] }));
    const redrawn = await watch.waitFor(/--- view \d+ ---\n[^]*?default: prefix "\/" → [^\n]*10\/100[^\n]*90\/100[^\n]*\n/, mark);
    expect(redrawn).to.contain(`  [2] default: prefix "/" → outbound|8888|v1|${host} 10/100, outbound|8888|v2|${host} 90/100  timeout 500 ms`);
    expect(await watch.exit("SIGINT"), watch.output).to.equal(0);
  });
});
