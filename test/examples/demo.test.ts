import { expect } from "chai";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

describe("npm start (the demo)", () => {
  it("routes by header, method and weight, follows a hot-reloaded weight shift, and exits 0 by itself", async function () {
    this.timeout(30000);
    const script = fileURLToPath(new URL("../../examples/demo.js", import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, out).to.equal(0);
    expect(out).to.match(/SayHello1\s+stage=canary\s+route-based-on-tags \(timeout 500 ms\)\s+v1/);
    expect(out).to.match(/SayHello\s+-\s+route-based-on-path \(timeout 500 ms\)\s+v2/);
    expect(out).to.match(/default route, 100 calls at 0\/100: v1 0, v2 100/);
  });
});
