// A child process (an example, the rxds command) whose output tests wait on.
import { spawn, type ChildProcess } from "node:child_process";

/** A running child process, its stdout and stderr collected together for waits. */
export class RunningProcess {
  private out = "";
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(command, [...args], { stdio: ["ignore", "pipe", "pipe"], env });
    const collect = (d: Buffer) => {
      this.out += d.toString();
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.child.stdout!.on("data", collect);
    this.child.stderr!.on("data", collect);
    this.exited = new Promise((resolve) => this.child.on("exit", resolve));
  }

  /** Runs a compiled script of this repository (a path relative to dist/) with node. */
  static node(script: URL, args: readonly string[], env?: NodeJS.ProcessEnv): RunningProcess {
    return new RunningProcess(process.execPath, [script.pathname, ...args], env);
  }

  get output(): string {
    return this.out;
  }

  /** Resolves once the output (from `from` on) matches `pattern`; fails after `ms` (default 10 s) with the output so far. */
  async waitFor(pattern: RegExp, from = 0, ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
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
