import { expect } from "chai";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { binomialBounds } from "../integrations/split-bounds.js";

describe("npm run demo:thrift (the Thrift demo)", () => {
  it("routes a sidecar client's Thrift calls by header and method through the EnvoyFilter's ThriftProxy routes, carries THeader key-values, splits the rest; a GENERATOR=grpc client's by the VirtualService; exits 0", async function () {
    this.timeout(30000);
    const script = fileURLToPath(new URL("../../examples/thrift-demo.js", import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, out).to.equal(0);
    expect(out).to.match(/SayHello1\s+stage=canary\s+routes\[0\] → v1\s+v1\s+stage=canary/);
    expect(out).to.match(/SayHello\s+stage=canary\s+routes\[0\] → v1\s+v1\s+stage=canary/);
    expect(out).to.match(/SayHello\s+-\s+routes\[1\] → v2\s+v2\s+-/);
    expect(out).to.match(/SayHello1\s+-\s+routes\[2\] → v1 50 \/ v2 50\s+v[12]\s+-/);
    const [, onV1, onV2] = /100 calls of SayHello1 at 50\/50: v1 (\d+), v2 (\d+)/.exec(out) ?? expect.fail(out);
    expect(Number(onV1) + Number(onV2)).to.equal(100);
    expect(Number(onV1)).to.be.within(...binomialBounds(100, 0.5));
    expect(out).to.match(/document 4 \(EnvoyFilter thrift-proxy\): applied to sidecar-mode clients only: GENERATOR=grpc clients get no EnvoyFilter patch/);
    const proxyless = out.slice(out.indexOf("GENERATOR=grpc client:"));
    expect(proxyless).to.match(/SayHello1\s+stage=canary\s+route-based-on-tags → v1\s+v1/);
    expect(proxyless).to.match(/SayHello\s+-\s+route-based-on-path → v2\s+v2/);
    expect(proxyless).to.match(/SayHello1\s+-\s+traffic-split-route → v1 90 \/ v2 10\s+v[12]/);
  });
});
