// The three composition examples, run as a user runs them (a child process of node) against `rxds serve` (serveMesh
// on loopback, serving examples/mesh.yaml from a temp file that the tests edit).
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { serveMesh, type MeshServer } from "rxds/server";
import { ConfigDir, exampleMesh } from "../fixtures/serve-mesh.js";
import { binomialBounds } from "../integrations/split-bounds.js";

const host = "kitex-server.default.svc.cluster.local";

/** An example running in a child process, its output collected for waits. */
class Example {
  private out = "";
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(name: string, args: string[]) {
    const script = fileURLToPath(new URL(`../../examples/${name}.js`, import.meta.url));
    this.child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const collect = (d: Buffer) => {
      this.out += d.toString();
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.child.stdout!.on("data", collect);
    this.child.stderr!.on("data", collect);
    this.exited = new Promise((resolve) => this.child.on("exit", resolve));
  }

  get output(): string {
    return this.out;
  }

  /** Resolves once the output (from `from` on) matches `pattern`; fails after 10 s with the output so far. */
  async waitFor(pattern: RegExp, from = 0): Promise<string> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const match = this.out.slice(from).match(pattern);
      if (match) return match[0];
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`no ${pattern} in the output:\n${this.out}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends `signal` (if given) and resolves with the exit code. */
  async exit(signal?: NodeJS.Signals): Promise<number | null> {
    if (signal !== undefined && this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

describe("composition examples against rxds serve", () => {
  let config: ConfigDir;
  let mesh: MeshServer;
  const running: Example[] = [];
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
    const example = new Example(name, ["--server", mesh.address, ...args]);
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
    expect(first).to.contain(`  [0] route-based-on-tags → outbound|8888|v1|${host}  timeout 500 ms`);
    expect(first).to.contain(`  [2] default → outbound|8888|v1|${host} 50/100, outbound|8888|v2|${host} 50/100  timeout 500 ms`);
    expect(first).to.contain(`  outbound|8888|v1|${host}  EDS`);
    expect(first).to.match(/ {4}127\.0\.0\.1:8001 {2}HEALTHY {2}weight 1 {2}priority 0/);

    const mark = watch.output.length;
    await config.write(await exampleMesh({ ports: [8001, 8002], weights: [10, 90] }));
    const redrawn = await watch.waitFor(/--- view \d+ ---\n[^]*?default → [^\n]*10\/100[^\n]*90\/100[^\n]*\n/, mark);
    expect(redrawn).to.contain(`  [2] default → outbound|8888|v1|${host} 10/100, outbound|8888|v2|${host} 90/100  timeout 500 ms`);
    expect(await watch.exit("SIGINT"), watch.output).to.equal(0);
  });
});
